"""The API's waiver changes: revoke and extend one finding's waiver by bearer token, the security
officer's alone (403 for every other role, admin included), a reason required, audit-logged with
it; refusals write nothing; no CSRF token needed (nothing a browser sends authenticates)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from inventory.models import AuditLog, Finding
from tests.web.access_api_waivers import TOKEN_POST_ROUTES
from tests.web.test_api import EVERYONE, issue_own_token

pytestmark = pytest.mark.db


@pytest.fixture
def tokens(login_as, seed) -> dict[str, str]:
    return {role: issue_own_token(login_as(role)) for role in EVERYONE}


@pytest.fixture
def waived(engine, seed) -> int:
    with Session(engine) as session:
        finding = session.get(Finding, seed.finding_ids[2])
        finding.status, finding.waiver_reason, finding.waiver_expires, finding.waived_by = "waived", "chờ mua", date(2099, 1, 31), seed.users["security_officer"]
        session.commit()
    return seed.finding_ids[2]


def post(app, path: str, token: str | None, body=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().post(path, headers=headers, json=body, **kwargs)


def state(engine, finding_id: int) -> tuple:
    with Session(engine) as session:
        f = session.get(Finding, finding_id)
        return f.status, f.waiver_reason, f.waiver_expires


def entries(engine) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action.in_(["revoke_waiver", "extend_waiver"])).order_by(AuditLog.id)))


UNCHANGED = ("waived", "chờ mua", date(2099, 1, 31))


def test_extend_then_revoke(app, engine, seed, tokens, waived):
    officer = tokens["security_officer"]
    response = post(app, f"/api/v1/findings/{waived}/waiver/extend", officer, {"until": "2099-06-30", "reason": "giao hàng chậm"})
    assert response.status_code == 200, response.json
    assert response.json == {"id": waived, "status": "waived", "waiver_reason": "chờ mua", "waiver_expires": "2099-06-30", "waived_by": seed.users["security_officer"]}
    response = post(app, f"/api/v1/findings/{waived}/waiver/revoke", officer, {"reason": "đã thay thiết bị"})
    assert response.status_code == 200 and response.json["status"] == "open" and response.json["waiver_expires"] is None
    assert state(engine, waived) == ("open", None, None)
    extend, revoke = entries(engine)
    assert (extend.action, extend.actor, extend.entity, extend.entity_id) == ("extend_waiver", seed.users["security_officer"], "finding", str(waived))
    assert extend.before["waiver_expires"] == "2099-01-31" and extend.after["waiver_expires"] == "2099-06-30" and extend.after["reason"] == "giao hàng chậm"
    assert revoke.action == "revoke_waiver" and revoke.before["status"] == "waived" and revoke.after["reason"] == "đã thay thiết bị"
    # Revoked: no longer waived, so neither change applies any more.
    again = post(app, f"/api/v1/findings/{waived}/waiver/revoke", officer, {"reason": "lần nữa"})
    assert again.status_code == 409 and again.json["error"]["message"].endswith("is not waived (status: open)")


@pytest.mark.parametrize("endpoint", sorted(TOKEN_POST_ROUTES))
@pytest.mark.parametrize("role", ["admin", "technician", "planner", "viewer"])
def test_other_roles_get_403_and_nothing_changes(app, engine, tokens, waived, endpoint, role):
    path = TOKEN_POST_ROUTES[endpoint].format(finding=waived)
    response = post(app, path, tokens[role], {"until": "2099-06-30", "reason": "x"})
    assert response.status_code == 403 and response.json["error"]["message"] == "role not allowed"
    assert state(engine, waived) == UNCHANGED and entries(engine) == []


@pytest.mark.parametrize("endpoint", sorted(TOKEN_POST_ROUTES))
def test_a_valid_token_is_required(app, engine, login_as, waived, endpoint):
    path = TOKEN_POST_ROUTES[endpoint].format(finding=waived)
    for token in (None, "nope"):
        response = post(app, path, token, {"until": "2099-06-30", "reason": "x"})
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    # A signed-in officer's session cookie is no credential here.
    assert login_as("security_officer").post(path, json={"until": "2099-06-30", "reason": "x"}).status_code == 401
    assert state(engine, waived) == UNCHANGED and entries(engine) == []


@pytest.mark.parametrize(
    ("action", "body", "status", "message"),
    [
        ("revoke", {}, 400, "reason is required"),
        ("revoke", {"reason": "  "}, 400, "reason is required"),
        ("revoke", {"reason": "x" * 501}, 400, "longer than 500"),
        ("revoke", None, 400, "send a JSON object"),
        ("extend", {"reason": "x"}, 400, "until is required"),
        ("extend", {"reason": "x", "until": "31/12/2099"}, 400, "until is required"),
        ("extend", {"reason": "x", "until": "2099-01-01"}, 400, "is not after the current one"),
        ("extend", {"reason": "x", "until": "2020-01-01"}, 400, "must expire in the future"),
    ],
)
def test_refusals_write_nothing(app, engine, tokens, waived, action, body, status, message):
    response = post(app, f"/api/v1/findings/{waived}/waiver/{action}", tokens["security_officer"], body)
    assert response.status_code == status and message in response.json["error"]["message"], response.json
    assert state(engine, waived) == UNCHANGED and entries(engine) == []


def test_unknown_or_not_waived_finding(app, engine, seed, tokens, waived):
    officer = tokens["security_officer"]
    assert post(app, "/api/v1/findings/999999/waiver/revoke", officer, {"reason": "x"}).status_code == 404
    open_one = seed.finding_ids[0]
    response = post(app, f"/api/v1/findings/{open_one}/waiver/extend", officer, {"reason": "x", "until": "2099-06-30"})
    assert response.status_code == 409 and entries(engine) == []
