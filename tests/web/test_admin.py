"""Administration: users and roles, write-only credentials, the policy view, polling schedule."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlmodel import Session, select

from inventory.models import AuditLog, Credential, Site, User
from tests.web.access_admin import POST_ROUTES
from tests.web.conftest import csrf_token, login

pytestmark = pytest.mark.db

_SECRET = re.compile(r'<code class="secret" id="secret">([^<]+)</code>')
V3_AUTH = "auth-Secret-0001"
V3_PRIV = "priv-Secret-0002"


def post(client, path, data=None, page="/admin/users"):
    # "confirm": past the confirmation step of role changes, deactivations and password resets
    return client.post(path, data={"confirm": "1", **(data or {}), "csrf_token": csrf_token(client, page)})


def user_named(engine, username) -> User:
    with Session(engine) as session:
        return session.exec(select(User).where(User.username == username)).one()


def audit_actions(engine, entity) -> list[str]:
    with Session(engine) as session:
        return [e.action for e in session.exec(select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.id))]


@pytest.fixture
def admin(login_as):
    return login_as("admin")


@pytest.fixture
def home(app):
    """Where the credential key lives (KIEMKE_HOME of this test app)."""
    return app.extensions["kiemke.settings"].home


# ------------------------------------------------------------------------------ access


ADMIN_POSTS = {
    "/admin/users": {"username": "x", "role": "viewer"},
    "/admin/users/1/role": {"role": "viewer"},
    "/admin/users/1/active": {"active": "0"},
    "/admin/users/1/password": {},
    "/admin/users/1/token": {},
    "/admin/users/1/token/revoke": {},
    "/admin/credentials": {"name": "c", "kind": "snmp_v2c", "community": "x"},
    "/admin/credentials/delete": {"name": "c"},
    "/admin/schedule": {"interval-S1": "5"},
}


@pytest.mark.parametrize("role", ["security_officer", "technician", "planner", "viewer"])
def test_admin_posts_are_refused_to_others(login_as, seed, engine, role):
    client = login_as(role)
    before = audit_actions(engine, "user") + audit_actions(engine, "site") + audit_actions(engine, "credential")
    for path, data in ADMIN_POSTS.items():
        response = post(client, path, data, page="/admin/token")
        assert response.status_code == 403, path
    after = audit_actions(engine, "user") + audit_actions(engine, "site") + audit_actions(engine, "credential")
    assert before == after
    assert len(ADMIN_POSTS) == sum(1 for roles in POST_ROUTES.values() if roles == {"admin"})


def test_posts_need_a_csrf_token(admin, seed, engine):
    response = admin.post("/admin/users", data={"username": "mallory", "role": "admin"})
    assert response.status_code == 400
    assert admin.post("/admin/schedule", data={"interval-S1": "1"}).status_code == 400
    with Session(engine) as session:
        assert session.exec(select(User).where(User.username == "mallory")).first() is None


def test_anonymous_posts_go_to_login(client, seed):
    token = csrf_token(client, "/login")
    response = client.post("/admin/users", data={"username": "x", "role": "viewer", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# ------------------------------------------------------------------------------ users


def test_create_user_shows_a_one_time_password_once(app, admin, seed, engine):
    response = post(admin, "/admin/users", {"username": "lan", "full_name": "Nguyễn Thị Lan", "role": "planner"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = _SECRET.search(response.get_data(as_text=True)).group(1)
    lan = user_named(engine, "lan")
    assert lan.role == "planner" and lan.must_change_password and password not in lan.password_hash
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "Nguyễn Thị Lan" in page and password not in page
    with Session(engine) as session:
        logged = session.exec(select(AuditLog).where(AuditLog.entity == "user", AuditLog.action == "create", AuditLog.entity_id == str(lan.id))).one()
        assert logged.actor == "u_admin" and password not in str(logged.after) and "password_hash" not in logged.after
    # The new user signs in with it and must change it first.
    fresh = app.test_client()
    assert login(fresh, "lan", password).headers["Location"] == "/password"


def test_create_user_errors(admin, seed):
    response = post(admin, "/admin/users", {"username": seed.users["viewer"], "role": "viewer"})
    assert response.status_code == 400 and "đã có người dùng" in response.get_data(as_text=True)
    assert post(admin, "/admin/users", {"username": "x", "role": "root"}).status_code == 400
    assert post(admin, "/admin/users", {"username": "", "role": "viewer"}).status_code == 400


def test_change_role_and_audit(app, admin, seed, engine):
    viewer = user_named(engine, seed.users["viewer"])
    response = post(admin, f"/admin/users/{viewer.id}/role", {"role": "technician"})
    assert response.status_code == 302
    assert user_named(engine, seed.users["viewer"]).role == "technician"
    with Session(engine) as session:
        entry = session.exec(select(AuditLog).where(AuditLog.action == "update", AuditLog.entity == "user")).one()
        assert entry.before["role"] == "viewer" and entry.after["role"] == "technician"
    assert post(admin, f"/admin/users/{viewer.id}/role", {"role": "root"}).status_code == 302
    assert user_named(engine, seed.users["viewer"]).role == "technician"
    assert post(admin, "/admin/users/99999/role", {"role": "viewer"}).status_code == 404


def test_admin_cannot_lock_themselves_out(admin, seed, engine):
    me = user_named(engine, seed.users["admin"])
    post(admin, f"/admin/users/{me.id}/role", {"role": "viewer"})
    post(admin, f"/admin/users/{me.id}/active", {"active": "0"})
    me = user_named(engine, seed.users["admin"])
    assert me.role == "admin" and me.active
    assert "Không thể tự" in admin.get("/admin/users").get_data(as_text=True)


def test_deactivate_ends_sessions_and_reactivate(app, login_as, admin, seed, engine):
    planner_client = login_as("planner")
    assert planner_client.get("/").status_code == 200
    planner = user_named(engine, seed.users["planner"])
    assert post(admin, f"/admin/users/{planner.id}/active", {"active": "0"}).status_code == 302
    assert not user_named(engine, seed.users["planner"]).active
    assert planner_client.get("/").status_code == 302  # signed out
    assert login(app.test_client(), seed.users["planner"]).status_code == 401
    post(admin, f"/admin/users/{planner.id}/active", {"active": "1"})
    assert user_named(engine, seed.users["planner"]).active
    assert [a for a in audit_actions(engine, "user") if a.endswith("activate")] == ["deactivate", "activate"]


def test_reset_password(app, login_as, admin, seed, engine):
    tech_client = login_as("technician")
    tech = user_named(engine, seed.users["technician"])
    response = post(admin, f"/admin/users/{tech.id}/password")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = _SECRET.search(response.get_data(as_text=True)).group(1)
    assert tech_client.get("/").status_code == 302  # old session ends with the old password
    assert user_named(engine, seed.users["technician"]).must_change_password
    assert login(app.test_client(), seed.users["technician"], password).headers["Location"] == "/password"
    assert "password_reset" in audit_actions(engine, "user")


# ------------------------------------------------------------------------------ credentials


def test_credentials_are_write_only(app, admin, seed, engine, home):
    page = admin.get("/admin/credentials").get_data(as_text=True)
    assert 'type="password"' in page and "Chưa có thông tin xác thực nào." in page
    data = {"name": "commune-v3", "kind": "snmp_v3", "username": "kiemke", "site": "S1", "zone_kind": "internet",
            "priority": "10", "auth_key": V3_AUTH, "priv_key": V3_PRIV}  # fmt: skip
    response = post(admin, "/admin/credentials", data, page="/admin/credentials")
    assert response.status_code == 302
    page = admin.get("/admin/credentials").get_data(as_text=True)
    assert "commune-v3" in page and "S1" in page and "snmp_v3" in page and "161" in page
    assert V3_AUTH not in page and V3_PRIV not in page
    with Session(engine) as session:
        stored = session.exec(select(Credential)).one()
        assert V3_AUTH.encode() not in stored.secret_token and stored.priority == 10 and stored.zone_kind == "internet"
        log = session.exec(select(AuditLog).where(AuditLog.entity == "credential")).all()
        assert [e.action for e in log] == ["create"] and V3_AUTH not in str(log[0].after) and "secret_token" not in log[0].after
    # It decrypts with this installation's key, as the collectors will.
    from collectors.credentials import CredentialBook
    from collectors.records import Target
    from inventory.crypto import Vault
    from inventory.settings import Settings

    with Session(engine) as session:
        book = CredentialBook(session, Vault(Settings(home=home).credential_key))
        creds = book.snmp(Target(device_id=None, address="10.1.2.3", site_code="S1", zone="internet", device_class="laptop"))
    assert creds[0].auth_key.get_secret_value() == V3_AUTH


def test_credential_replace_needs_the_box_and_errors_echo_no_secret(admin, seed, engine, home):
    data = {"name": "c2", "kind": "snmp_v2c", "community": "first-community"}
    assert post(admin, "/admin/credentials", data, page="/admin/credentials").status_code == 302
    again = post(admin, "/admin/credentials", {**data, "community": "second-community"}, page="/admin/credentials")
    body = again.get_data(as_text=True)
    assert again.status_code == 400 and "đã có thông tin xác thực tên “c2”" in body and "second-community" not in body
    replaced = post(admin, "/admin/credentials", {**data, "community": "second-community", "replace": "y"}, page="/admin/credentials")
    assert replaced.status_code == 302
    assert audit_actions(engine, "credential") == ["create", "update"]
    short = post(admin, "/admin/credentials", {"name": "v3", "kind": "snmp_v3", "username": "u", "auth_key": "short-a", "priv_key": "short-p"},
                 page="/admin/credentials")  # fmt: skip
    body = short.get_data(as_text=True)
    assert short.status_code == 400 and "khóa SNMPv3 cần ít nhất 8 ký tự" in body and "short-a" not in body and "short-p" not in body


def test_credential_delete(admin, seed, engine, home):
    post(admin, "/admin/credentials", {"name": "ssh-all", "kind": "ssh", "username": "admin", "password": "pw-123456"}, page="/admin/credentials")
    assert post(admin, "/admin/credentials/delete", {"name": "ssh-all"}, page="/admin/credentials").status_code == 302
    with Session(engine) as session:
        assert session.exec(select(Credential)).first() is None
    assert audit_actions(engine, "credential") == ["create", "delete"]
    post(admin, "/admin/credentials/delete", {"name": "nope"}, page="/admin/credentials")
    assert "không có thông tin xác thực tên" in admin.get("/admin/credentials").get_data(as_text=True)


# ------------------------------------------------------------------------------ policy and schedule


def test_policy_view(admin, seed):
    from compliance.policy import shipped_policy

    policy = shipped_policy()
    body = admin.get("/admin/policy").get_data(as_text=True)
    for rule in policy.baseline.rules:
        assert rule.id in body and str(escape(rule.title.en)) in body and str(escape(rule.title.vi)) in body
    assert "Tắt Telnet" in body
    assert "Circular 23/2023/TT-BTC" in body  # service life source
    assert "64.000,00" in body  # budget stated total, the Vietnamese way
    assert "2027: 80" in body  # schedule
    assert "<form" not in body.split("<main")[1]  # read-only


def test_schedule_edit_and_audit(admin, seed, engine):
    page = admin.get("/admin/schedule").get_data(as_text=True)
    assert 'name="interval-S1"' in page and 'value="60"' in page
    response = post(admin, "/admin/schedule", {"interval-S1": "15", "interval-S2": "60"}, page="/admin/schedule")
    assert response.status_code == 302
    with Session(engine) as session:
        intervals = {s.code: s.poll_interval_minutes for s in session.exec(select(Site))}
        assert intervals == {"S1": 15, "S2": 60}
        entries = session.exec(select(AuditLog).where(AuditLog.entity == "site")).all()
        assert len(entries) == 1 and entries[0].before["poll_interval_minutes"] == 60 and entries[0].after["poll_interval_minutes"] == 15
    # A bad value saves nothing.
    post(admin, "/admin/schedule", {"interval-S1": "0", "interval-S2": "-5"}, page="/admin/schedule")
    with Session(engine) as session:
        assert {s.code: s.poll_interval_minutes for s in session.exec(select(Site))} == {"S1": 15, "S2": 60}
    assert "S2" in admin.get("/admin/schedule").get_data(as_text=True)
    post(admin, "/admin/schedule", {"interval-S1": "0"}, page="/admin/schedule")  # 0 turns polling off
    with Session(engine) as session:
        assert session.exec(select(Site).where(Site.code == "S1")).one().poll_interval_minutes == 0


def test_admin_nav_link(admin, login_as, seed):
    assert 'href="/admin/"' in admin.get("/").get_data(as_text=True)
    assert 'href="/admin/"' not in login_as("security_officer").get("/").get_data(as_text=True)
