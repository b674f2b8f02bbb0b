"""Waiving findings from the UI: security officers only, with reason and future expiry; bulk."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from inventory.models import AuditLog, Finding
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db


def statuses(engine, ids):
    with Session(engine) as session:
        return {f.id: f.status for f in session.exec(select(Finding).where(Finding.id.in_(ids)))}


def waive(client, ids, reason="thay thế trong Q1/2027", expires=None):
    expires = expires or (date.today() + timedelta(days=90)).isoformat()
    token = csrf_token(client, "/findings/")
    data = {"ids": [str(i) for i in ids], "reason": reason, "expires": expires, "csrf_token": token, "next": "/findings/?status=all"}
    return client.post("/findings/waive", data=data | {"confirm": "1", "expected": str(len(ids))})  # past the confirmation step


def test_security_officer_bulk_waives(login_as, seed, engine):
    client = login_as("security_officer")
    page = client.get("/findings/").get_data(as_text=True)
    assert 'id="waive-form"' in page and 'name="ids"' in page
    response = waive(client, seed.finding_ids[:2])
    assert response.status_code == 302 and response.headers["Location"] == "/findings/?status=all"
    assert statuses(engine, seed.finding_ids) == {seed.finding_ids[0]: "waived", seed.finding_ids[1]: "waived", seed.finding_ids[2]: "open"}
    with Session(engine) as session:
        finding = session.get(Finding, seed.finding_ids[0])
        assert finding.waived_by == "u_security_officer" and finding.waiver_reason == "thay thế trong Q1/2027"
        assert len(session.exec(select(AuditLog).where(AuditLog.action == "waive")).all()) == 2
    assert "Đã miễn trừ 2 phát hiện" in client.get("/findings/?status=all").get_data(as_text=True)


@pytest.mark.parametrize("role", ["planner", "admin", "viewer", "technician"])
def test_others_get_403_and_nothing_changes(login_as, seed, engine, role):
    response = waive(login_as(role), seed.finding_ids)
    assert response.status_code == 403
    assert set(statuses(engine, seed.finding_ids).values()) == {"open"}


@pytest.mark.parametrize(
    "reason, expires",
    [("", None), ("   ", None), ("lý do", date.today().isoformat()), ("lý do", "2020-01-01"), ("lý do", "not-a-date")],
)
def test_bad_waivers_are_refused_with_a_message(login_as, seed, engine, reason, expires):
    client = login_as("security_officer")
    response = waive(client, seed.finding_ids[:1], reason=reason, expires=expires)
    assert response.status_code == 400 and 'class="field-error"' in response.get_data(as_text=True)  # the form again, typed input kept
    assert statuses(engine, seed.finding_ids[:1]) == {seed.finding_ids[0]: "open"}


def test_no_selection_and_unknown_ids(login_as, seed, engine):
    client = login_as("security_officer")
    waive(client, [])
    assert "Chưa chọn phát hiện nào." in client.get("/findings/").get_data(as_text=True)
    waive(client, [seed.finding_ids[0], 999999])
    assert statuses(engine, seed.finding_ids[:1]) == {seed.finding_ids[0]: "open"}  # all or nothing


def test_single_waive_from_the_finding_page(login_as, seed, engine):
    client = login_as("security_officer")
    page = client.get(f"/findings/{seed.finding_ids[2]}").get_data(as_text=True)
    assert 'id="waive-form"' in page
    assert waive(client, [seed.finding_ids[2]]).status_code == 302
    assert statuses(engine, seed.finding_ids[2:]) == {seed.finding_ids[2]: "waived"}
