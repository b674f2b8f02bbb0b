"""`kiemke finding revoke-waiver` and `extend-waiver`: a security officer's alone, with a reason,
audit-logged (the reason with it); refused with one clear line, changing nothing, otherwise."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from inventory.models import AuditLog, Finding
from tests.inventory.factories import make_province, one_user_per_role
from web.main import main

pytestmark = pytest.mark.db


@pytest.fixture
def waived(engine, kiemke_env) -> int:
    """One waived finding (until 2099-01-31) in a small province with a user per role (u_<role>)."""
    with Session(engine, expire_on_commit=False) as session:
        s1 = make_province(session, sites=1)["S1"]
        finding = Finding(rule_id="site.firewall_per_zone", subject_key="site:S1", site_id=s1["site"], severity="high", expected="1", actual="0",
                          status="waived", waiver_reason="chờ mua", waiver_expires=date(2099, 1, 31), waived_by="u_security_officer")  # fmt: skip
        session.add(finding)
        one_user_per_role(session, "u", "mat-khau-thu-123")
        session.commit()
        return finding.id


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def finding(engine, finding_id: int) -> Finding:
    with Session(engine) as session:
        return session.get(Finding, finding_id)


def entries(engine, action: str) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == action)))


def test_extend_then_revoke_audited_with_the_reason(engine, waived):
    result = run("finding", "extend-waiver", waived, "--until", "2099-06-30", "--reason", "nhà cung cấp giao chậm", "--user", "u_security_officer")
    assert result.exit_code == 0, result.output
    assert "extended until 2099-06-30" in result.output
    assert finding(engine, waived).waiver_expires == date(2099, 6, 30) and finding(engine, waived).waiver_reason == "chờ mua"
    (entry,) = entries(engine, "extend_waiver")
    assert entry.actor == "u_security_officer" and entry.entity == "finding" and entry.entity_id == str(waived)
    assert entry.before["waiver_expires"] == "2099-01-31" and entry.after["waiver_expires"] == "2099-06-30"
    assert entry.after["reason"] == "nhà cung cấp giao chậm"

    result = run("finding", "revoke-waiver", waived, "--reason", "đã thay thiết bị", "--user", "u_security_officer")
    assert result.exit_code == 0, result.output
    after = finding(engine, waived)
    assert (after.status, after.waiver_reason, after.waiver_expires, after.waived_by) == ("open", None, None, None)
    (entry,) = entries(engine, "revoke_waiver")
    assert entry.before["status"] == "waived" and entry.after["status"] == "open" and entry.after["reason"] == "đã thay thiết bị"


@pytest.mark.parametrize("role", ["admin", "technician", "planner", "viewer"])
def test_other_roles_are_refused(engine, waived, role):
    user = f"u_{role}"
    revoke = run("finding", "revoke-waiver", waived, "--reason", "x", "--user", user)
    extend = run("finding", "extend-waiver", waived, "--until", "2099-06-30", "--reason", "x", "--user", user)
    for result in (revoke, extend):
        assert result.exit_code == 1 and "only a security officer" in result.output and "Traceback" not in result.output
    assert finding(engine, waived).status == "waived" and finding(engine, waived).waiver_expires == date(2099, 1, 31)
    assert entries(engine, "revoke_waiver") == [] and entries(engine, "extend_waiver") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("revoke-waiver", "{id}", "--reason", "   "), "the reason is empty"),
        (("extend-waiver", "{id}", "--until", "2099-01-01", "--reason", "x"), "is not after the current one"),
        (("extend-waiver", "{id}", "--until", "2020-01-01", "--reason", "x"), "must expire in the future"),
        (("revoke-waiver", "999999", "--reason", "x"), "no finding with id 999999"),
        (("revoke-waiver", "{id}", "--reason", "x", "--user", "nobody"), "no user 'nobody'"),
    ],
)
def test_refusals_change_nothing(engine, waived, args, message):
    args = tuple(a.format(id=waived) for a in args)
    user = () if "--user" in args else ("--user", "u_security_officer")
    result = run("finding", *args, *user)
    assert result.exit_code == 1 and message in result.output, result.output
    assert finding(engine, waived).status == "waived" and finding(engine, waived).waiver_expires == date(2099, 1, 31)
    assert entries(engine, "revoke_waiver") == [] and entries(engine, "extend_waiver") == []


def test_the_reason_is_required(engine, waived):
    result = run("finding", "revoke-waiver", waived, "--user", "u_security_officer")
    assert result.exit_code == 2 and "--reason" in result.output
    assert finding(engine, waived).status == "waived"
