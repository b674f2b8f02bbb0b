"""The OpenAPI 3.0 description of /api/v1 (written by hand; a test keeps it in step with the routes)."""

from __future__ import annotations

from typing import Any

from inventory.choices import DeviceClass, DeviceSource, DeviceStatus, FindingStatus, Severity, ZoneKind, values
from inventory.repository import COMPLIANCE_STATES, REPORTING_SOURCES, SORTABLE
from web.access import ADMIN, EXPORTERS
from web.paging import PER_PAGE_CHOICES

VERSION = "1.0.0"


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _string(*, enum=None, **extra) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", **extra}
    if enum is not None:
        out["enum"] = list(enum)
    return out


NULLABLE_STRING = {"type": "string", "nullable": True}
NULLABLE_DATE = {"type": "string", "format": "date", "nullable": True}
NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}
TRISTATE = {"type": "string", "enum": ["1", "0"]}

PAGING = [
    _query("page", "Page number (from 1).", {"type": "integer", "minimum": 1, "default": 1}),
    _query(
        "per_page",
        f"Items per page. Every role may ask for up to {max(PER_PAGE_CHOICES)} (the web list's largest page); up to 500 needs the export"
        f" permission ({', '.join((*EXPORTERS, ADMIN))}): for other roles a larger per_page is refused with 403.",
        {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
    ),
]

DEVICE_FILTERS = [
    _query("site", "Site code.", _string()),
    _query("zone", "Network zone.", _string(enum=values(ZoneKind))),
    _query("device_class", "Device class.", _string(enum=values(DeviceClass))),
    _query("vendor", "Vendor (case-insensitive).", _string()),
    _query("status", "Device status.", _string(enum=values(DeviceStatus))),
    _query("source", "How the device entered the inventory.", _string(enum=values(DeviceSource))),
    _query("origin", "Country of origin (ISO 3166 alpha-2).", _string(pattern="^[A-Za-z]{2}$")),
    _query("q", "Free text over hostname, IP, serial, model and assigned user.", _string()),
    _query(
        "compliance",
        "State as of the last evaluation: compliant (every applicable rule evaluated on fresh data and passed), non_compliant"
        " (an applicable rule failed) or unknown (not collected, stale, never reached, no parser, never evaluated). Disposed"
        " devices are in no state. Any other value: 400.",
        _string(enum=COMPLIANCE_STATES),
    ),
    _query("compliant", "1: no open finding; 0: at least one open finding (a device never evaluated has none either: see compliance).", TRISTATE),
    _query(
        "end_of_life",
        "1: broken, past its class's service life (purchase date) or OS past end of support; 0: none of these.",
        TRISTATE,
    ),
    _query(
        "reported_by",
        "Devices with at least one collected fact from this source: agent (GLPI / FusionInventory agents), snmp, ssh, nmap"
        " (polls) or import (the device file's TPM / Secure Boot / encryption columns). Any other value: 400.",
        _string(enum=list(REPORTING_SOURCES)),
    ),
    _query("sort", "Sort key.", _string(enum=list(SORTABLE), default="id")),
    _query("desc", "1: descending.", TRISTATE),
]

FINDING_FILTERS = [
    _query("rule", "Rule id, e.g. net.telnet_off.", _string()),
    _query("severity", "Severity.", _string(enum=values(Severity))),
    _query("site", "Site code.", _string()),
    _query("status", "Finding status; `all` for every status.", _string(enum=[*values(FindingStatus), "all"], default="open")),
]


def _page_of(ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "total", "page", "per_page", "pages"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": ref}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "pages": {"type": "integer"},
        },
    }


def _list_of(ref: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "total"], "properties": {"items": {"type": "array", "items": {"$ref": ref}}, "total": {"type": "integer"}}}


def _ok(ref: str, description: str) -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": {"$ref": "#/components/responses/Forbidden"},
    }


COUNTS = {"type": "object", "required": list(COMPLIANCE_STATES), "properties": {state: {"type": "integer"} for state in COMPLIANCE_STATES}}
PERCENTS = {"type": "object", "required": list(COMPLIANCE_STATES), "properties": {state: {"type": "number", "nullable": True} for state in COMPLIANCE_STATES}}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["status", "message"], "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}}},
    },
    "Device": {
        "type": "object",
        "required": ["id", "device_class", "site_code", "status", "source", "macs"],
        "properties": {
            "id": {"type": "integer"},
            "device_class": _string(enum=values(DeviceClass)),
            "site_id": {"type": "integer"},
            "site_code": {"type": "string"},
            "zone_id": {"type": "integer", "nullable": True},
            "zone": {"type": "string", "enum": values(ZoneKind), "nullable": True},
            "hostname": NULLABLE_STRING,
            "mgmt_ip": NULLABLE_STRING,
            "vendor": NULLABLE_STRING,
            "model": NULLABLE_STRING,
            "serial": NULLABLE_STRING,
            "os_name": NULLABLE_STRING,
            "os_version": NULLABLE_STRING,
            "country_of_origin": NULLABLE_STRING,
            "purchase_date": NULLABLE_DATE,
            "status": _string(enum=values(DeviceStatus)),
            "assigned_user": NULLABLE_STRING,
            "source": _string(enum=values(DeviceSource)),
            "platform": NULLABLE_STRING,
            "reachable": {"type": "boolean", "nullable": True},
            "first_seen": NULLABLE_TIME,
            "last_seen": NULLABLE_TIME,
            "last_polled": NULLABLE_TIME,
            "notes": {"type": "string"},
            "macs": {"type": "array", "items": {"type": "string"}},
            "compliance": {"allOf": [{"$ref": "#/components/schemas/DeviceCompliance"}], "nullable": True, "description": "Null for a disposed device."},
        },
    },
    "DeviceCompliance": {
        "type": "object",
        "required": ["state", "reasons", "evaluated_at", "data_as_of"],
        "properties": {
            "state": _string(enum=COMPLIANCE_STATES),
            "reasons": {"type": "array", "items": {"type": "string"}, "description": "Why it failed or is not known (English); 'never evaluated' when it has not been."},
            "evaluated_at": NULLABLE_TIME,
            "data_as_of": {**NULLABLE_TIME, "description": "When the data it was evaluated on was last collected."},
        },
    },
    "ComplianceSummary": {
        "type": "object",
        "required": ["counts", "percent"],
        "description": "The three states together, over devices not disposed; a device never evaluated counts as unknown.",
        "properties": {"counts": COUNTS, "percent": {**PERCENTS, "description": "One decimal; null when there is no device."}},
    },
    "Interface": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "if_index": {"type": "integer"},
            "name": NULLABLE_STRING,
            "description": NULLABLE_STRING,
            "oper_up": {"type": "boolean", "nullable": True},
            "admin_up": {"type": "boolean", "nullable": True},
            "speed_mbps": {"type": "integer", "nullable": True},
        },
    },
    "DeviceDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/Device"},
            {
                "type": "object",
                "properties": {
                    "site_name": {"type": "string"},
                    "interfaces": {"type": "array", "items": {"$ref": "#/components/schemas/Interface"}},
                    "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
                },
            },
        ]
    },
    "Site": {
        "type": "object",
        "required": ["code", "name", "kind", "devices"],
        "properties": {
            "code": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": ["provincial_agency", "commune", "ward"]},
            "party_wan_subnets": {"type": "array", "items": {"type": "string"}},
            "internet_subnets": {"type": "array", "items": {"type": "string"}},
            "poll_interval_minutes": {"type": "integer"},
            "devices": {"type": "integer"},
            "compliance": {"$ref": "#/components/schemas/ComplianceSummary"},
        },
    },
    "Finding": {
        "type": "object",
        "required": ["id", "rule_id", "severity", "status"],
        "properties": {
            "id": {"type": "integer"},
            "rule_id": {"type": "string"},
            "subject_key": {"type": "string"},
            "device_id": {"type": "integer", "nullable": True},
            "site_id": {"type": "integer", "nullable": True},
            "site_code": NULLABLE_STRING,
            "hostname": NULLABLE_STRING,
            "severity": _string(enum=values(Severity)),
            "expected": {"type": "string"},
            "actual": {"type": "string"},
            "evidence": {"type": "string"},
            "status": _string(enum=values(FindingStatus)),
            "first_seen": {"type": "string", "format": "date-time"},
            "last_seen": {"type": "string", "format": "date-time"},
            "resolved_at": NULLABLE_TIME,
            "waiver_reason": NULLABLE_STRING,
            "waiver_expires": NULLABLE_DATE,
            "waived_by": NULLABLE_STRING,
        },
    },
    "ScanRun": {
        "type": "object",
        "required": ["id", "kind", "status", "started_at"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string"},
            "site": NULLABLE_STRING,
            "started_at": {"type": "string", "format": "date-time"},
            "finished_at": NULLABLE_TIME,
            "seconds": {"type": "number", "nullable": True},
            "status": {"type": "string"},
            "triggered_by": NULLABLE_STRING,
            "params": {"type": "object", "nullable": True, "additionalProperties": True},
            "summary": {"type": "object", "nullable": True, "additionalProperties": True},
            "error": NULLABLE_STRING,
        },
    },
}
SCHEMAS["DevicePage"] = _page_of("#/components/schemas/Device")
SCHEMAS["DevicePage"]["properties"]["compliance"] = {"$ref": "#/components/schemas/ComplianceSummary"}
SCHEMAS["FindingPage"] = _page_of("#/components/schemas/Finding")
SCHEMAS["SiteList"] = _list_of("#/components/schemas/Site")
SCHEMAS["ScanRunList"] = _list_of("#/components/schemas/ScanRun")


def _waiver_change(operation_id: str, summary: str, body: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
    """A POST that changes one finding's waiver (the security officer's alone, as on the web)."""
    responses = _ok("#/components/schemas/FindingWaiver", "The finding's waiver as it is now.")
    responses["400"] = {"description": "No JSON object, no reason, a bad date, or a date the waiver cannot move to.", "content": error}
    responses["403"] = {"description": "Not a security officer (not even an admin may change waivers), or a deactivated account.", "content": error}
    responses["404"] = {"description": "No such finding.", "content": error}
    responses["409"] = {"description": "The finding is not waived.", "content": error}
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": [{"name": "finding_id", "in": "path", "required": True, "description": "The finding's id.", "schema": {"type": "integer"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": responses,
        }
    }


REVOKE_BODY = {
    "type": "object",
    "required": ["reason"],
    "properties": {"reason": {"type": "string", "maxLength": 500, "description": "Why the waiver ends now (kept in the audit log)."}},
}
EXTEND_BODY = {
    "type": "object",
    "required": ["until", "reason"],
    "properties": {
        "until": {"type": "string", "format": "date", "description": "The new expiry: in the future and after the current one."},
        "reason": {"type": "string", "maxLength": 500, "description": "Why the waiver is extended (kept in the audit log)."},
    },
}
SCHEMAS["FindingWaiver"] = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {
        "id": {"type": "integer"},
        "status": _string(enum=values(FindingStatus)),
        "waiver_reason": NULLABLE_STRING,
        "waiver_expires": NULLABLE_DATE,
        "waived_by": NULLABLE_STRING,
    },
}


def spec() -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    device_responses = _ok("#/components/schemas/DeviceDetail", "The device with its interfaces and findings.")
    device_responses["404"] = {"description": "No such device.", "content": error}
    devices_responses = _ok("#/components/schemas/DevicePage", "One page of devices.")
    devices_responses["400"] = {"description": "Unknown sort key or compliance state.", "content": error}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "kiemke API",
            "version": VERSION,
            "description": (
                "JSON over the kiemke inventory, with the same filters as the web pages; read-only but for "
                "revoking and extending a finding's waiver (security officers only, with a reason). "
                "Authenticate with `Authorization: Bearer <token>`; a token is issued once on the "
                "admin user page or on the user's own API token page (/admin/token)."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/devices": {
                "get": {
                    "operationId": "listDevices",
                    "summary": "Devices, filtered, sorted and paginated",
                    "parameters": DEVICE_FILTERS + PAGING,
                    "responses": devices_responses,
                }
            },
            "/devices/{device_id}": {
                "get": {
                    "operationId": "getDevice",
                    "summary": "One device",
                    "parameters": [{"name": "device_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": device_responses,
                }
            },
            "/sites": {
                "get": {
                    "operationId": "listSites",
                    "summary": "Sites with zone subnets, device counts and compliance shares",
                    "responses": _ok("#/components/schemas/SiteList", "Every site."),
                }
            },
            "/findings": {
                "get": {
                    "operationId": "listFindings",
                    "summary": "Findings, filtered and paginated (open ones by default)",
                    "parameters": FINDING_FILTERS + PAGING,
                    "responses": _ok("#/components/schemas/FindingPage", "One page of findings, most severe first."),
                }
            },
            "/findings/{finding_id}/waiver/revoke": _waiver_change("revokeFindingWaiver", "End a finding's waiver now: the finding is open again", REVOKE_BODY, error),
            "/findings/{finding_id}/waiver/extend": _waiver_change("extendFindingWaiver", "Move a finding's waiver expiry later", EXTEND_BODY, error),
            "/scans": {
                "get": {
                    "operationId": "listScans",
                    "summary": "Latest scan runs, newest first",
                    "parameters": [
                        _query("site", "Site code.", _string()),
                        _query("limit", "How many runs.", {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}),
                    ],
                    "responses": _ok("#/components/schemas/ScanRunList", "The latest scan runs."),
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI document.", "content": {"application/json": {"schema": {"type": "object"}}}}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "A kiemke API token."}},
            "responses": {
                "Unauthorized": {"description": "No token, or an unknown one.", "content": error},
                "Forbidden": {"description": "Deactivated account or role not allowed.", "content": error},
            },
            "schemas": SCHEMAS,
        },
    }
