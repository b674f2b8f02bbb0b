"""The JSON API under /api/v1: the same queries and filters as the pages, token authentication.

A request carries `Authorization: Bearer <token>`. Tokens are issued on the admin user page (by
an admin) or on the "API token" page (each user for their own account), shown once; only their
SHA-256 is stored (User.api_token_hash). No token or an unknown one: 401; an inactive user: 403;
a user who must still change a one-time password: 403 (a password reset also revokes the token);
a role not allowed: 403. The session cookie is never used here, so the blueprint is exempt from
CSRF (nothing a browser sends on its own authenticates a request).

Writes are few and each is the same step as on the web, with the same role rule: revoking or
extending a finding's waiver (the security officer's alone), with a reason for the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any

from flask import Blueprint, abort, g, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from collectors.queries import recent_scan_runs
from compliance.findings import FindingFilter, WaiverError, extend_waiver, list_findings, revoke_waiver
from compliance.state import state_shares
from inventory.choices import FindingStatus, Role
from inventory.models import Finding, Site, User
from inventory.repository import COMPLIANCE_STATES, SORTABLE, DeviceFilter, compliance_of, list_sites
from inventory.tokens import TOKEN_PREFIX, new_token, token_hash  # noqa: F401 (new_token, TOKEN_PREFIX: re-exported)
from web import queries
from web.access import ACCESS_ATTR, ADMIN, EVERYONE, EXPORTERS, SECURITY_OFFICER, may_export, public
from web.database import commit, get_session
from web.devices import filtered_compliance, list_devices_page
from web.findings import _filter as finding_filter
from web.paging import PER_PAGE_CHOICES, int_arg

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_PER_PAGE = 500  # for roles with the export permission (web.access.EXPORTERS, admin)
READ_PER_PAGE = max(PER_PAGE_CHOICES)  # for the others: no more than the web list shows at once


@bp.record_once
def _exempt_from_csrf(state) -> None:
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)


# ------------------------------------------------------------------------------ tokens


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _problem(status: int, message: str, **headers: str):
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response.headers[name] = value
    return response


def token_required(*roles: str, admin: bool = True) -> Callable[[Callable], Callable]:
    """A valid bearer token of an active user holding one of `roles` (admin admitted too unless
    `admin=False`, as web.access.role_required)."""
    allowed = frozenset(Role(r).value for r in roles) | ({Role.ADMIN.value} if admin else frozenset())

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            token = _bearer()
            challenge = {"WWW-Authenticate": 'Bearer realm="kiemke"'}
            if token is None:
                return _problem(401, "authentication required: Authorization: Bearer <token>", **challenge)
            digest = token_hash(token)
            user = get_session().execute(select(User).where(User.api_token_hash == digest)).scalar_one_or_none()
            if user is None:
                return _problem(401, "invalid token", **{"WWW-Authenticate": 'Bearer realm="kiemke", error="invalid_token"'})
            if not user.active:
                return _problem(403, "account deactivated")
            if user.must_change_password:
                return _problem(403, "password change required: sign in on the web and set a new password first")
            if user.role not in allowed:
                return _problem(403, "role not allowed")
            g.api_user = user
            return view(*args, **kwargs)

        setattr(wrapped, ACCESS_ATTR, ("token", allowed))
        return wrapped

    return decorator


# ------------------------------------------------------------------------------ helpers


def plain(value: Any) -> Any:
    """JSON-safe values: ISO dates and times, bytes never (they are not sent)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if not isinstance(v, (bytes, bytearray))}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _paging() -> tuple[int, int]:
    """page and per_page; above READ_PER_PAGE only for a role that may export (else 403)."""
    per_page = int_arg(request.args, "per_page", 50, 1)
    if per_page > READ_PER_PAGE and not may_export(g.api_user.role):
        abort(403, f"per_page above {READ_PER_PAGE} needs the export permission ({', '.join((*EXPORTERS, ADMIN))}); ask for more pages instead")
    return int_arg(request.args, "page", 1), min(per_page, MAX_PER_PAGE)


def _page(items: list, total: int, page: int, per_page: int, **extra: Any):
    return jsonify({"items": plain(items), "total": total, "page": page, "per_page": per_page, "pages": max(1, -(-total // per_page)), **extra})


def compliance_summary(counts: dict[str, int]) -> dict[str, Any]:
    """The three counts and their percentages together (one decimal; null with no device)."""
    total = sum(counts.get(state, 0) for state in COMPLIANCE_STATES)
    return {
        "counts": {state: counts.get(state, 0) for state in COMPLIANCE_STATES},
        "percent": {state: (round(100 * counts.get(state, 0) / total, 1) if total else None) for state in COMPLIANCE_STATES},
    }


def _args() -> dict[str, str]:
    return {k: v.strip() for k, v in request.args.items() if isinstance(v, str)}


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return _problem(exc.code or 500, exc.description or exc.name)


# ------------------------------------------------------------------------------ endpoints


@bp.route("/devices")
@token_required(*EVERYONE)
def devices():
    try:
        flt = DeviceFilter.from_mapping(_args())
    except ValueError as exc:
        return _problem(400, str(exc))
    sort = request.args.get("sort", "id")
    if sort not in SORTABLE:
        return _problem(400, f"sort must be one of: {', '.join(SORTABLE)}")
    page, per_page = _paging()
    rows, total = list_devices_page(flt, sort=sort, descending=request.args.get("desc") in ("1", "true"), page=page, per_page=per_page)
    return _page(rows, total, page, per_page, compliance=compliance_summary(filtered_compliance(flt)))


@bp.route("/devices/<int:device_id>")
@token_required(*EVERYONE)
def device(device_id: int):
    db = get_session()
    found = queries.device_detail(db, device_id)
    if found is None:
        abort(404, "no such device")
    findings, _ = list_findings(db, FindingFilter(device_id=device_id), per_page=None)
    found["interfaces"] = queries.device_interfaces(db, device_id)
    found["findings"] = findings
    found["compliance"] = None if found["status"] == "disposed" else compliance_of(db, [device_id])[device_id]
    return jsonify(plain(found))


@bp.route("/sites")
@token_required(*EVERYONE)
def sites():
    db = get_session()
    rows = list_sites(db)
    ids = dict(db.execute(select(Site.code, Site.id)).all())
    shares = state_shares(db, list(ids.values()))
    for row in rows:
        row["compliance"] = compliance_summary(shares[ids[row["code"]]])
    return jsonify({"items": plain(rows), "total": len(rows)})


@bp.route("/findings")
@token_required(*EVERYONE)
def findings():
    flt = finding_filter(request.args)
    page, per_page = _paging()
    rows, total = list_findings(get_session(), flt, page=page, per_page=per_page)
    return _page(rows, total, page, per_page)


# ------------------------------------------------------------------------------ waivers
# The web's revoke and extend (web/findings.py) without its confirmation step: a client that posts
# has decided. The checks and the audit entry are compliance.findings'; a reason is required here.


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "send a JSON object (Content-Type: application/json)")
    return body


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        abort(400, "reason is required: why the waiver changes (kept in the audit log)")
    return reason


def _waived_or_error(finding_id: int) -> None:
    finding = get_session().get(Finding, finding_id)
    if finding is None:
        abort(404, "no such finding")
    if finding.status != FindingStatus.WAIVED.value:
        abort(409, f"finding {finding_id} is not waived (status: {finding.status})")


def _waiver_changed(finding: Finding):
    commit()
    return jsonify(plain({k: getattr(finding, k) for k in ("id", "status", "waiver_reason", "waiver_expires", "waived_by")}))


@bp.route("/findings/<int:finding_id>/waiver/revoke", methods=["POST"])
@token_required(SECURITY_OFFICER, admin=False)
def revoke_finding_waiver(finding_id: int):
    reason = _reason(_json_body())
    _waived_or_error(finding_id)
    try:
        finding = revoke_waiver(get_session(), finding_id, user=g.api_user, reason=reason)
    except WaiverError as exc:
        get_session().rollback()
        return _problem(400, str(exc))
    return _waiver_changed(finding)


@bp.route("/findings/<int:finding_id>/waiver/extend", methods=["POST"])
@token_required(SECURITY_OFFICER, admin=False)
def extend_finding_waiver(finding_id: int):
    body = _json_body()
    reason = _reason(body)
    try:
        until = date.fromisoformat(body.get("until") or "")
    except (TypeError, ValueError):
        abort(400, "until is required: the new expiry as YYYY-MM-DD")
    _waived_or_error(finding_id)
    try:
        finding = extend_waiver(get_session(), finding_id, expires=until, user=g.api_user, reason=reason)
    except WaiverError as exc:
        get_session().rollback()
        return _problem(400, str(exc))
    return _waiver_changed(finding)


@bp.route("/scans")
@token_required(*EVERYONE)
def scans():
    limit = int_arg(request.args, "limit", 20, 1, 200)
    rows = recent_scan_runs(get_session(), limit=limit, site=request.args.get("site") or None)
    return jsonify({"items": plain(rows), "total": len(rows)})


@bp.route("/openapi.json")
@public
def openapi():
    from web.openapi import spec

    return jsonify(spec())
