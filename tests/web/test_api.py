"""The JSON API: bearer tokens (hashed at rest), roles, the pages' filters, the OpenAPI document."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlmodel import Session, select

from inventory.choices import Role
from inventory.models import AuditLog, User
from tests.web.access_api import TOKEN_ROUTES
from tests.web.conftest import HOSTILE, csrf_token
from web.api import token_hash

pytestmark = pytest.mark.db

EVERYONE = sorted(r.value for r in Role)
_SECRET = re.compile(r'<code class="secret" id="secret">([^<]+)</code>')


def issue_own_token(client) -> str:
    token = csrf_token(client, "/admin/token")
    response = client.post("/admin/token", data={"csrf_token": token})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    match = _SECRET.search(response.get_data(as_text=True))
    assert match
    return match.group(1)


@pytest.fixture
def tokens(login_as, seed) -> dict[str, str]:
    return {role: issue_own_token(login_as(role)) for role in EVERYONE}


def get(app, path, token=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get(path, headers=headers, **kwargs)


def _path(template, seed):
    return template.format(device=seed.device_id)


def test_token_is_stored_hashed_and_shown_once(app, login_as, seed, engine):
    client = login_as("viewer")
    page = client.get("/admin/token").get_data(as_text=True)
    assert "Bạn chưa có mã API." in page
    token = issue_own_token(client)
    assert token.startswith("kk_") and len(token) > 40
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == seed.users["viewer"])).one()
        assert user.api_token_hash == hashlib.sha256(token.encode()).hexdigest() == token_hash(token)
        assert token not in str([e.model_dump() for e in session.exec(select(AuditLog)).all()])
        assert session.exec(select(AuditLog).where(AuditLog.action == "api_token_issue")).first() is not None
    page = client.get("/admin/token").get_data(as_text=True)
    assert token not in page and "Tạo lại mã" in page
    assert get(app, "/api/v1/sites", token).status_code == 200
    # A new token replaces the old one.
    second = issue_own_token(client)
    assert get(app, "/api/v1/sites", token).status_code == 401
    assert get(app, "/api/v1/sites", second).status_code == 200
    # Revoked: refused.
    client.post("/admin/token/revoke", data={"csrf_token": csrf_token(client, "/admin/token")})
    assert get(app, "/api/v1/sites", second).status_code == 401


@pytest.mark.parametrize("endpoint", sorted(TOKEN_ROUTES))
def test_every_route_needs_a_valid_token(app, seed, tokens, endpoint):
    path = _path(TOKEN_ROUTES[endpoint], seed)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dTpw"}, {"Authorization": "Bearer "}):
        response = app.test_client().get(path, headers=headers)
        assert response.status_code == 401, (endpoint, headers)
        assert response.is_json and response.json["error"]["status"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for role, token in tokens.items():
        assert get(app, path, token).status_code == 200, (endpoint, role)


def test_the_session_cookie_is_not_a_token(login_as, seed):
    client = login_as("admin")
    assert client.get("/api/v1/devices").status_code == 401


def test_inactive_user_gets_403(app, seed, tokens, engine):
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == seed.users["planner"])).one()
        user.active = False
        session.commit()
    response = get(app, "/api/v1/devices", tokens["planner"])
    assert response.status_code == 403 and response.json["error"]["message"] == "account deactivated"


def test_devices_same_filters_as_the_page(app, seed, tokens):
    token = tokens["viewer"]
    body = get(app, "/api/v1/devices", token).json
    assert body["total"] == 2 and body["page"] == 1 and body["per_page"] == 50 and body["pages"] == 1
    by_class = get(app, "/api/v1/devices?device_class=access_switch", token).json
    assert [d["hostname"] for d in by_class["items"]] == ["sw1"]
    assert by_class["items"][0]["site_code"] == "S1" and by_class["items"][0]["zone"] == "party_wan"
    assert get(app, "/api/v1/devices?q=sn-hostile", token).json["items"][0]["serial"] == "SN-HOSTILE"
    assert get(app, "/api/v1/devices?compliant=1", token).json["total"] == 0
    assert get(app, "/api/v1/devices?compliant=0", token).json["total"] == 2
    ordered = get(app, "/api/v1/devices?sort=hostname&desc=1&per_page=1&page=2", token).json
    assert ordered["total"] == 2 and ordered["pages"] == 2 and len(ordered["items"]) == 1
    # Hostile text comes back as data (JSON), never interpreted; no secret columns.
    hostile = get(app, f"/api/v1/devices/{seed.hostile_device_id}", token)
    assert hostile.json["hostname"] == HOSTILE and hostile.mimetype == "application/json"
    assert get(app, "/api/v1/devices?sort=password_hash", token).status_code == 400


def test_device_detail(app, seed, tokens):
    body = get(app, f"/api/v1/devices/{seed.device_id}", tokens["viewer"]).json
    assert body["hostname"] == "sw1" and body["site_code"] == "S1"
    assert {f["rule_id"] for f in body["findings"]} == {"net.telnet_off", "net.snmp_no_rw_community"}
    assert body["interfaces"][0]["name"] == "Gi1/0/1"
    assert isinstance(body["last_seen"], str) and "T" in body["last_seen"]  # ISO 8601
    missing = get(app, "/api/v1/devices/999999", tokens["viewer"])
    assert missing.status_code == 404 and missing.is_json


def test_sites_findings_scans(app, seed, tokens, engine):
    token = tokens["technician"]
    sites = get(app, "/api/v1/sites", token).json
    assert [s["code"] for s in sites["items"]] == ["S1", "S2"] and sites["total"] == 2
    findings = get(app, "/api/v1/findings", token).json
    assert findings["total"] == 3 and findings["items"][0]["severity"] == "critical"
    assert get(app, "/api/v1/findings?severity=high", token).json["total"] == 1
    assert get(app, "/api/v1/findings?rule=net.telnet_off&site=S1", token).json["total"] == 1
    assert get(app, "/api/v1/findings?status=resolved", token).json["total"] == 0
    assert get(app, "/api/v1/findings?status=all&per_page=2", token).json["pages"] == 2
    scans = get(app, "/api/v1/scans", token).json
    assert scans["total"] == 1 and scans["items"][0]["kind"] == "poll" and scans["items"][0]["site"] == "S1"
    assert get(app, "/api/v1/scans?site=S2", token).json["total"] == 0


def test_api_is_exempt_from_csrf_but_read_only(app, seed, tokens):
    response = app.test_client().post("/api/v1/devices", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert response.status_code == 405  # not a CSRF error: there is simply no write endpoint


def test_admin_issues_a_token_for_a_user(app, login_as, seed, engine):
    admin = login_as("admin")
    with Session(engine) as session:
        planner = session.exec(select(User).where(User.username == seed.users["planner"])).one()
    response = admin.post(f"/admin/users/{planner.id}/token", data={"csrf_token": csrf_token(admin, "/admin/users")})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    token = _SECRET.search(response.get_data(as_text=True)).group(1)
    assert get(app, "/api/v1/devices", token).status_code == 200
    assert "có" in admin.get("/admin/users").get_data(as_text=True)
    admin.post(f"/admin/users/{planner.id}/token/revoke", data={"csrf_token": csrf_token(admin, "/admin/users"), "confirm": "1"})  # past the confirmation
    assert get(app, "/api/v1/devices", token).status_code == 401


# ------------------------------------------------------------------------------ OpenAPI


def test_openapi_document(app, seed):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.0.") and spec["info"]["title"] and spec["info"]["version"]
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer", "description": "A kiemke API token."}
    # Every API route is described, and nothing else.
    routes = {re.sub(r"<(?:int:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix("/api/v1")) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert routes == set(spec["paths"])
    # The device filters are the DeviceFilter fields, plus sort and paging.
    from dataclasses import fields

    from inventory.repository import DeviceFilter

    params = {p["name"] for p in spec["paths"]["/devices"]["get"]["parameters"]}
    assert {f.name for f in fields(DeviceFilter)} | {"sort", "desc", "page", "per_page"} == params
    _structurally_valid(spec)


def _structurally_valid(spec: dict) -> None:
    """What openapi-spec-validator would check first: operations, parameters, responses, $refs."""
    schemas = spec["components"]["schemas"]
    responses = spec["components"]["responses"]

    def resolve(ref: str) -> None:
        assert ref.startswith("#/components/"), ref
        _, _, kind, name = ref.split("/")
        assert name in spec["components"][kind], ref

    def walk(node) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(node["$ref"])
            if "type" in node and isinstance(node["type"], str):
                assert node["type"] in {"object", "array", "string", "integer", "number", "boolean"}, node
                if node["type"] == "array":
                    assert "items" in node, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    operation_ids = set()
    for path, item in spec["paths"].items():
        assert path.startswith("/")
        templated = set(re.findall(r"{([a-z_]+)}", path))
        for method, op in item.items():
            assert method in {"get", "post", "put", "patch", "delete"}
            assert op["operationId"] not in operation_ids
            operation_ids.add(op["operationId"])
            assert op["responses"] and all(code.isdigit() for code in op["responses"])
            for response in op["responses"].values():
                assert "$ref" in response or "description" in response
            path_params = set()
            for p in op.get("parameters", []):
                assert p["in"] in {"query", "path", "header", "cookie"} and p["name"] and "schema" in p
                if p["in"] == "path":
                    assert p["required"] is True
                    path_params.add(p["name"])
            assert path_params == templated, path
    walk(spec["paths"])
    walk(schemas)
    walk(responses)
    assert responses and schemas
    try:
        from openapi_spec_validator import validate
    except ImportError:
        return
    validate(spec)
