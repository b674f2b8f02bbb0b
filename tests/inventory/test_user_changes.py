"""User, role, token and schedule changes as the inventory makes them (no web): each refused
case, each change and its audit entry."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import select

from inventory import schedule, signin, tokens, users
from inventory.models import AuditLog, Site, User
from tests.inventory.factories import make_province, one_user_per_role

pytestmark = pytest.mark.db

PASSWORD = "mat-khau-thu-123"


def entries(session, entity: str) -> list[AuditLog]:
    return list(session.exec(select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.id)))


@pytest.fixture
def people(session) -> dict[str, User]:
    names = one_user_per_role(session, "u", PASSWORD)
    session.commit()
    return {role: users.user_by_name(session, name) for role, name in names.items()}


def test_change_role_records_before_and_after(session, people):
    viewer, admin = people["viewer"], people["admin"]
    assert users.change_role(session, viewer, "technician", actor="boss", actor_id=admin.id) is True
    assert viewer.role == "technician"
    (entry,) = entries(session, "user")[-1:]
    assert (entry.actor, entry.action, entry.before["role"], entry.after["role"]) == ("boss", "update", "viewer", "technician")
    count = len(entries(session, "user"))
    assert users.change_role(session, viewer, "technician", actor="boss", actor_id=admin.id) is False
    assert len(entries(session, "user")) == count  # no change, no entry


def test_nobody_changes_their_own_role_or_an_unknown_one(session, people):
    admin = people["admin"]
    with pytest.raises(users.OwnAccountError, match="own role"):
        users.change_role(session, admin, "viewer", actor="u_admin", actor_id=admin.id)
    assert users.change_role(session, admin, "admin", actor="u_admin", actor_id=admin.id) is False
    with pytest.raises(users.UserError, match="unknown role 'root'"):
        users.change_role(session, people["viewer"], "root", actor="u_admin", actor_id=admin.id)
    assert admin.role == "admin" and people["viewer"].role == "viewer"


def test_deactivate_and_reactivate_are_audited(session, people):
    planner, admin = people["planner"], people["admin"]
    assert users.set_active(session, planner, False, actor="u_admin", actor_id=admin.id) is True
    assert users.set_active(session, planner, False, actor="u_admin", actor_id=admin.id) is False
    assert users.set_active(session, planner, True, actor="u_admin", actor_id=admin.id) is True
    assert [e.action for e in entries(session, "user") if e.action.endswith("activate")] == ["deactivate", "activate"]


def test_no_self_deactivation_and_one_active_admin_remains(session, people):
    admin = people["admin"]
    with pytest.raises(users.OwnAccountError, match="own account"):
        users.set_active(session, admin, False, actor="u_admin", actor_id=admin.id)
    with pytest.raises(users.LastAdminError, match="at least one active admin"):
        users.set_active(session, admin, False, actor="someone-else", actor_id=None)
    assert admin.active and users.active_admins(session) == 1
    second, _password = users.add_user(session, "second-admin", "admin", PASSWORD, actor="t")
    assert users.set_active(session, admin, False, actor="second-admin", actor_id=second.id) is True


def test_one_time_password_replaces_the_hash_and_is_never_logged(session, people):
    tech = people["technician"]
    old_hash = tech.password_hash
    password = users.issue_one_time_password(session, tech, actor="u_admin")
    assert tech.password_hash != old_hash and tech.must_change_password and users.verify_password(tech, password)
    entry = entries(session, "user")[-1]
    assert entry.action == "password_reset" and password not in str(entry.after)


def test_change_password_checks_the_current_one(session, people):
    viewer = people["viewer"]
    with pytest.raises(users.UserError, match="current password is wrong"):
        users.change_password(session, viewer, "wrong-password", "another-password-1")
    with pytest.raises(users.UserError, match="at least 10"):
        users.change_password(session, viewer, PASSWORD, "short")
    with pytest.raises(users.UserError, match="must differ"):
        users.change_password(session, viewer, PASSWORD, PASSWORD)
    users.change_password(session, viewer, PASSWORD, "another-password-1")
    assert users.verify_password(viewer, "another-password-1") and entries(session, "user")[-1].action == "password_change"


def test_sign_in_accepts_only_active_users_with_their_password(session, people):
    viewer = people["viewer"]
    assert signin.authenticate(session, f" {viewer.username} ", PASSWORD) is viewer
    assert signin.authenticate(session, viewer.username, "not-it-at-all") is None
    assert signin.authenticate(session, "nobody", PASSWORD) is None
    users.set_active(session, viewer, False, actor="t", actor_id=None)
    assert signin.authenticate(session, viewer.username, PASSWORD) is None
    signin.record_failed_login(session, "x" * 150, "127.0.0.1")
    signin.record_login(session, people["planner"], "127.0.0.1")
    failed, ok = entries(session, "user")[-2:]
    assert (failed.action, failed.actor, failed.entity_id, failed.after) == ("login_failed", "x" * 100, None, {"address": "127.0.0.1"})
    assert (ok.action, ok.actor) == ("login", people["planner"].username) and people["planner"].last_login is not None


def test_api_tokens_are_stored_as_hashes_and_audited(session, people):
    user = people["viewer"]
    assert tokens.revoke_token(session, user, actor="u_admin") is False
    first = tokens.issue_token(session, user, actor="u_admin")
    second = tokens.issue_token(session, user, actor="u_admin")
    assert first.startswith(tokens.TOKEN_PREFIX) and first != second
    assert user.api_token_hash == hashlib.sha256(second.encode()).hexdigest() == tokens.token_hash(second)
    assert tokens.revoke_token(session, user, actor="u_admin") is True and user.api_token_hash is None
    logged = [(e.action, e.after) for e in entries(session, "user") if e.action.startswith("api_token")]
    assert logged == [("api_token_issue", {"replaced": False}), ("api_token_issue", {"replaced": True}), ("api_token_revoke", None)]
    assert first not in str(logged) and second not in str(logged)


def test_poll_intervals_change_with_one_entry_per_changed_site(session):
    make_province(session, sites=2)
    session.commit()
    assert schedule.set_poll_intervals(session, {"S1": 15, "S2": 60}, actor="u_admin") == 1
    intervals = {s.code: s.poll_interval_minutes for s in session.exec(select(Site))}
    assert intervals == {"S1": 15, "S2": 60}
    (entry,) = entries(session, "site")
    assert entry.before["poll_interval_minutes"] == 60 and entry.after["poll_interval_minutes"] == 15
    with pytest.raises(schedule.ScheduleError, match="S2") as refused:
        schedule.set_poll_intervals(session, {"S1": 0, "S2": -5}, actor="u_admin")
    assert refused.value.sites == ["S2"]
    assert {s.code: s.poll_interval_minutes for s in session.exec(select(Site))} == {"S1": 15, "S2": 60}  # all or nothing


@pytest.mark.parametrize(("text", "minutes"), [("15", 15), (" 0 ", 0), ("10080", 10080), ("10081", None), ("-5", None), ("abc", None)])
def test_parse_interval(text, minutes):
    assert schedule.parse_interval(text) == minutes
