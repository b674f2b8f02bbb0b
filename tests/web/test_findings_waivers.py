"""Waivers with a confirmation step: "all N matching" (not one page), revoke and extend (the
security officer's alone, audit-logged with before and after)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from compliance.findings import WaiverError, extend_waiver, revoke_waiver
from inventory.models import AuditLog, Finding, User
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db

LATER = (date.today() + timedelta(days=90)).isoformat()


def statuses(engine) -> dict[int, str]:
    with Session(engine) as session:
        return {f.id: f.status for f in session.exec(select(Finding))}


def post_waive(client, **data):
    token = csrf_token(client, "/findings/")
    return client.post("/findings/waive", data={"csrf_token": token, "reason": "chờ thay thế", "expires": LATER, "next": "/findings/?status=all", **data})


def test_all_matching_asks_with_the_count_then_waives_every_one(login_as, seed, engine):
    client = login_as("security_officer")
    page = client.get("/findings/?site=S1").get_data(as_text=True)
    assert 'name="scope" value="filter"' in page and "Miễn trừ tất cả 3 phát hiện khớp bộ lọc" in page
    asked = post_waive(client, scope="filter", site="S1", status="open")
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Miễn trừ 3 phát hiện đến" in text and 'name="confirm"' in text
    assert "Bộ lọc: đơn vị: S1; trạng thái: " in text  # which filter, in words
    assert set(statuses(engine).values()) == {"open"}  # nothing yet
    done = post_waive(client, scope="filter", site="S1", status="open", confirm="1", expected="3")
    assert done.status_code == 302
    assert set(statuses(engine).values()) == {"waived"}


def test_all_matching_follows_the_filter_beyond_one_page(login_as, seed, engine):
    client = login_as("security_officer")
    asked = post_waive(client, scope="filter", severity="critical", status="open")
    assert "Miễn trừ 1 phát hiện đến" in asked.get_data(as_text=True)
    post_waive(client, scope="filter", severity="critical", status="open", confirm="1", expected="1")
    assert statuses(engine)[seed.finding_ids[0]] == "waived" and statuses(engine)[seed.finding_ids[1]] == "open"


def test_a_confirmation_for_another_count_is_refused(login_as, seed, engine):
    client = login_as("security_officer")
    response = post_waive(client, scope="filter", status="open", confirm="1", expected="2")  # three match now
    assert response.status_code == 409 and "hãy xác nhận lại" in response.get_data(as_text=True)
    assert set(statuses(engine).values()) == {"open"}


def test_a_waiver_error_keeps_what_was_typed(login_as, seed, engine):
    client = login_as("security_officer")
    response = post_waive(client, ids=[str(seed.finding_ids[0])], reason="lý do đã gõ", expires="2020-01-01")
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "lý do đã gõ" in text and 'value="2020-01-01"' in text
    assert 'class="field-error"' in text


def waived(engine, finding_id: int, expires: date = date(2099, 1, 31)) -> None:
    with Session(engine) as session:
        finding = session.get(Finding, finding_id)
        finding.status, finding.waiver_expires, finding.waiver_reason, finding.waived_by = "waived", expires, "chờ thay thế", "u_security_officer"
        session.commit()


def audit_entries(engine, action: str) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == action)))


def test_revoke_asks_then_reopens_and_logs(login_as, seed, engine):
    fid = seed.finding_ids[1]
    waived(engine, fid)
    client = login_as("security_officer")
    page = client.get(f"/findings/{fid}").get_data(as_text=True)
    assert f'action="/findings/{fid}/waiver/revoke"' in page and f'action="/findings/{fid}/waiver/extend"' in page
    token = csrf_token(client, f"/findings/{fid}")
    asked = client.post(f"/findings/{fid}/waiver/revoke", data={"csrf_token": token})
    assert asked.status_code == 200 and f"Thu hồi miễn trừ của phát hiện #{fid}?" in asked.get_data(as_text=True)
    assert statuses(engine)[fid] == "waived"
    done = client.post(f"/findings/{fid}/waiver/revoke", data={"csrf_token": token, "confirm": "1"})
    assert done.status_code == 302 and statuses(engine)[fid] == "open"
    [entry] = audit_entries(engine, "revoke_waiver")
    assert entry.actor == "u_security_officer" and entry.before["status"] == "waived" and entry.before["waiver_expires"]
    assert entry.after["status"] == "open" and entry.after["waiver_expires"] is None
    again = client.post(f"/findings/{fid}/waiver/revoke", data={"csrf_token": token, "confirm": "1"})
    assert again.status_code == 302 and len(audit_entries(engine, "revoke_waiver")) == 1  # not waived any more


def test_extend_asks_with_both_dates_then_logs_before_and_after(login_as, seed, engine):
    fid = seed.finding_ids[1]
    waived(engine, fid)
    client = login_as("security_officer")
    token = csrf_token(client, f"/findings/{fid}")
    asked = client.post(f"/findings/{fid}/waiver/extend", data={"csrf_token": token, "expires": "2099-06-30"})
    assert asked.status_code == 200 and "từ 31/01/2099 đến 30/06/2099" in asked.get_data(as_text=True)
    client.post(f"/findings/{fid}/waiver/extend", data={"csrf_token": token, "expires": "2099-06-30", "confirm": "1"})
    with Session(engine) as session:
        assert session.get(Finding, fid).waiver_expires == date(2099, 6, 30)
    [entry] = audit_entries(engine, "extend_waiver")
    assert entry.before["waiver_expires"].startswith("2099-01-31") and entry.after["waiver_expires"].startswith("2099-06-30")


@pytest.mark.parametrize("expires", ["2099-06-30", "2099-01-31", "2020-01-01", "", "not-a-date"])
def test_extend_refuses_an_earlier_or_bad_date(login_as, seed, engine, expires):
    fid = seed.finding_ids[1]
    waived(engine, fid, date(2099, 6, 30))
    client = login_as("security_officer")
    token = csrf_token(client, f"/findings/{fid}")
    response = client.post(f"/findings/{fid}/waiver/extend", data={"csrf_token": token, "expires": expires, "confirm": "1"})
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and 'class="field-error"' in text  # the page again, with the message
    if expires:
        assert f'value="{expires}"' in text  # what was typed stays
    assert "Not a valid" not in text and "This field" not in text  # WTForms' English messages are not shown
    with Session(engine) as session:
        assert session.get(Finding, fid).waiver_expires == date(2099, 6, 30)


@pytest.mark.parametrize("role", ["admin", "technician", "planner", "viewer"])
def test_only_the_security_officer_revokes_or_extends(login_as, seed, engine, role):
    fid = seed.finding_ids[1]
    waived(engine, fid)
    client = login_as(role)
    token = csrf_token(client, "/password")
    assert client.post(f"/findings/{fid}/waiver/revoke", data={"csrf_token": token, "confirm": "1"}).status_code == 403
    assert client.post(f"/findings/{fid}/waiver/extend", data={"csrf_token": token, "expires": "2099-12-31", "confirm": "1"}).status_code == 403
    assert statuses(engine)[fid] == "waived"
    assert f"/findings/{fid}/waiver/revoke" not in client.get(f"/findings/{fid}").get_data(as_text=True)


def test_revoke_and_extend_need_csrf_and_a_known_finding(login_as, seed, engine):
    client = login_as("security_officer")
    assert client.post(f"/findings/{seed.finding_ids[0]}/waiver/revoke", data={"confirm": "1"}).status_code == 400
    token = csrf_token(client, "/findings/")
    assert client.post("/findings/999999/waiver/revoke", data={"csrf_token": token, "confirm": "1"}).status_code == 404
    assert client.post("/findings/999999/waiver/extend", data={"csrf_token": token, "expires": "2099-12-31"}).status_code == 404


def test_the_compliance_functions_keep_the_rule(engine, seed):
    waived(engine, seed.finding_ids[1])
    with Session(engine) as session:
        admin = session.exec(select(User).where(User.role == "admin")).first()
        officer = session.exec(select(User).where(User.role == "security_officer")).first()
        with pytest.raises(WaiverError, match="only a security officer"):
            revoke_waiver(session, seed.finding_ids[1], user=admin)
        with pytest.raises(WaiverError, match="only a security officer"):
            extend_waiver(session, seed.finding_ids[1], expires=date(2099, 12, 31), user=admin)
        with pytest.raises(WaiverError, match="not waived"):
            revoke_waiver(session, seed.finding_ids[0], user=officer)
        with pytest.raises(WaiverError, match="not after"):
            extend_waiver(session, seed.finding_ids[1], expires=date(2099, 1, 1), user=officer)


def test_a_date_that_is_no_date_is_named_in_vietnamese(login_as, seed):
    response = post_waive(login_as("security_officer"), ids=[str(seed.finding_ids[0])], expires="31/02/2027")
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "Ngày không hợp lệ" in text and "Not a valid" not in text


def test_the_confirmation_escapes_the_reason_and_speaks_english_in_the_english_ui(login_as, seed):
    from tests.web.conftest import HOSTILE

    client = login_as("security_officer")
    text = post_waive(client, ids=[str(seed.finding_ids[0])], reason=HOSTILE).get_data(as_text=True)
    assert HOSTILE not in text and "&lt;script&gt;" in text
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/findings/")})
    page = client.get("/findings/").get_data(as_text=True)
    assert "Telnet disabled on all management access" in page and "Waive all 3 findings matching the filter" in page
    asked = post_waive(client, scope="filter", status="open").get_data(as_text=True)
    assert "Waive 3 findings until" in asked and "Confirm: waive 3 findings" in asked
