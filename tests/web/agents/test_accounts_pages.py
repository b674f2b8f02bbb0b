"""The agent accounts admin pages: admin only, the password shown once and only a hash kept,
disable/enable with confirmation, every change audit-logged."""

from __future__ import annotations

import re
import zlib

import pytest
from sqlalchemy import select
from sqlmodel import Session

from collectors.agents.accounts import password_hash
from inventory.models import AgentAccount, AuditLog
from tests.web.agents.conftest import basic, fixture_bytes
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db


def _account(engine, name: str) -> AgentAccount | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.execute(select(AgentAccount).where(AgentAccount.name == name)).scalar_one_or_none()


def _audit(engine, entity: str) -> list[AuditLog]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.execute(select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.id)).scalars())


@pytest.mark.parametrize("role", ["viewer", "technician", "security_officer", "planner"])
def test_only_admins_see_or_add_agent_accounts(login_as, engine, role):
    client = login_as(role)
    assert client.get("/admin/agents/").status_code == 403
    token = csrf_token(client, "/admin/token")
    response = client.post("/admin/agents/", data={"name": "x-agents", "site": "S1", "zone": "", "csrf_token": token})
    assert response.status_code == 403 and _account(engine, "x-agents") is None


def test_add_shows_the_password_once_and_stores_only_its_hash(login_as, client, engine):
    admin = login_as("admin")
    page = admin.get("/admin/agents/")
    assert page.status_code == 200 and "S1" in page.get_data(as_text=True)
    token = csrf_token(admin, "/admin/agents/")
    response = admin.post("/admin/agents/", data={"name": "S1-Agents", "site": "S1", "zone": "internet", "csrf_token": token})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    password = re.search(r'id="secret">([^<]+)<', text).group(1)
    assert "s1-agents" in text and "/inventory" in text

    account = _account(engine, "s1-agents")
    assert account is not None and account.zone_kind == "internet" and account.password_hash == password_hash(password)
    assert password not in account.password_hash
    listed = admin.get("/admin/agents/").get_data(as_text=True)
    assert "s1-agents" in listed and password not in listed  # never shown again
    entries = _audit(engine, "agent_account")
    assert entries and entries[-1].action == "create" and password not in str(entries[-1].after)

    # The password works for an agent right away.
    posted = client.post("/inventory", data=zlib.compress(fixture_bytes("fusion_prolog.xml")), headers={"Authorization": basic("s1-agents", password)})
    assert posted.status_code == 200


def test_a_refused_account_says_why(login_as, engine):
    admin = login_as("admin")
    token = csrf_token(admin, "/admin/agents/")
    bad_name = admin.post("/admin/agents/", data={"name": "no spaces!", "site": "S1", "zone": "", "csrf_token": token})
    assert bad_name.status_code == 400 and "lower-case" in bad_name.get_data(as_text=True)
    unknown_site = admin.post("/admin/agents/", data={"name": "ok-name", "site": "NOPE", "zone": "", "csrf_token": token})
    assert unknown_site.status_code == 400
    no_token = admin.post("/admin/agents/", data={"name": "ok-name", "site": "S1", "zone": ""})
    assert no_token.status_code == 400
    assert _account(engine, "ok-name") is None


def test_disable_and_enable_need_a_confirmation_and_are_audited(login_as, client, engine, agent):
    admin = login_as("admin")
    account_id = _account(engine, agent.account.name).id
    token = csrf_token(admin, "/admin/agents/")
    body = zlib.compress(fixture_bytes("fusion_prolog.xml"))

    unconfirmed = admin.post(f"/admin/agents/{account_id}/enabled", data={"enabled": "0", "csrf_token": token}, follow_redirects=True)
    assert "xác nhận" in unconfirmed.get_data(as_text=True) and _account(engine, agent.account.name).enabled

    admin.post(f"/admin/agents/{account_id}/enabled", data={"enabled": "0", "confirm": "y", "csrf_token": token})
    assert not _account(engine, agent.account.name).enabled
    assert client.post("/inventory", data=body, headers=agent.auth).status_code == 401  # a disabled account's agents are refused

    admin.post(f"/admin/agents/{account_id}/enabled", data={"enabled": "1", "confirm": "y", "csrf_token": token})
    assert _account(engine, agent.account.name).enabled
    assert client.post("/inventory", data=body, headers=agent.auth).status_code == 200
    changes = [(e.action, e.after) for e in _audit(engine, "agent_account") if e.action == "update"]
    assert changes == [("update", {"enabled": False}), ("update", {"enabled": True})]
    assert admin.post("/admin/agents/999999/enabled", data={"enabled": "0", "confirm": "y", "csrf_token": token}).status_code == 404


def test_the_pages_read_in_english(login_as, agent):
    admin = login_as("admin")
    token = csrf_token(admin, "/admin/agents/")
    admin.post("/language/en", data={"csrf_token": token})
    page = admin.get("/admin/agents/").get_data(as_text=True)
    assert "Agent accounts" in page and "Fallback zone" in page and "Tài khoản agent" not in page
    assert "Import agent inventories (offline)" in admin.get("/transfers/").get_data(as_text=True)
    assert "Agent accounts" in admin.get("/admin/").get_data(as_text=True)
