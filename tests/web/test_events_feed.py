"""The events feed (/events/): newest first, filtered by kind, severity, site and dates, paged,
labelled in the reader's language, read by every role; the overview's latest-events partial."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from compliance import events
from inventory.choices import Role
from inventory.models import Site
from tests.web.conftest import HOSTILE, csrf_token

pytestmark = pytest.mark.db

NOON = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)  # 12:00 in Hà Nội


@pytest.fixture
def feed(engine, seed):
    """60 silent-device events of S1 (one per hour back from NOON), a critical finding event, an
    unrecorded hostile device at S1 and a failed run of S2."""
    with Session(engine, expire_on_commit=False) as session:
        sites = dict(session.execute(select(Site.code, Site.id)).all())
        for hour in range(60):
            event = events.raise_event(session, "device_silent", "medium", f"device_silent:test:{hour}", site_id=sites["S1"], device_id=seed.device_id,
                                       data={"silent_hours": 3.0, "limit_hours": 2.0})  # fmt: skip
            event.created_at = NOON - timedelta(hours=hour)
        critical = events.raise_event(session, "new_critical_finding", "critical", "new_critical_finding:test", site_id=sites["S1"], finding_id=seed.finding_ids[0],
                                      data={"rule_id": "net.telnet_off"})  # fmt: skip
        critical.created_at = NOON + timedelta(minutes=1)
        stranger = events.raise_event(session, "unrecorded_device", "high", "unrecorded_device:test", site_id=sites["S1"], device_id=seed.hostile_device_id,
                                      data={"address": "10.1.2.9"})  # fmt: skip
        stranger.created_at = NOON + timedelta(minutes=2)
        failed = events.raise_event(session, "run_failed", "high", "run_failed:test", site_id=sites["S2"], data={"run_kind": "poll", "error": "OSError: boom"})
        failed.created_at = NOON - timedelta(days=5)
        session.commit()
    return sites


def rows_of(html: str) -> int:
    return html.count("<tr>") - 1  # the header row


def test_the_feed_is_newest_first_and_labelled(login_as, feed):
    html = login_as("viewer").get("/events/").get_data(as_text=True)
    assert "Thiết bị chưa ghi nhận" in html and "Phát hiện nghiêm trọng mới" in html and "Thiết bị không phản hồi quá hạn" in html
    table = html[html.index("<tbody>") :]
    assert table.index("Thiết bị chưa ghi nhận") < table.index("Phát hiện nghiêm trọng mới") < table.index("Thiết bị không phản hồi quá hạn")
    assert HOSTILE not in html and "&lt;script&gt;" in html  # the device's hostname, escaped
    assert "/findings/" in html and "net.telnet_off" in html and "không phản hồi 3.0 giờ (giới hạn 2.0 giờ)" in html
    assert "/scans/" not in html  # a viewer may not open runs: no link to one


def test_the_feed_pages(login_as, feed):
    client = login_as("viewer")
    first = client.get("/events/?per_page=25").get_data(as_text=True)
    assert rows_of(first) == 25 and "1–25 trên 63" in first
    last = client.get("/events/?per_page=25&page=3").get_data(as_text=True)
    assert rows_of(last) == 13 and "OSError: boom" in last  # the oldest, last


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=device_silent", 60),
        ("kind=run_failed", 1),
        ("severity=critical", 1),
        ("severity=high", 2),
        ("site=S2", 1),
        ("site=S1&kind=unrecorded_device", 1),
        ("since=2026-11-20&until=2026-11-20", 15),  # 00:00 to 12:00 local, and the two at 12:0x
        ("since=2026-11-21", 0),
        ("until=2026-11-15", 1),
        ("kind=nonsense&since=not-a-date", 63),  # an unknown value filters nothing
    ],
)
def test_the_feed_filters(login_as, feed, query, expected):
    html = login_as("planner").get(f"/events/?per_page=200&{query}").get_data(as_text=True)
    assert rows_of(html) == max(expected, 1)  # no event: one "no events" row
    assert (f"trên {expected}" in html) if expected else "Chưa có sự kiện nào." in html


def test_every_role_reads_the_feed_and_english_readers_get_english(login_as, feed):
    for role in Role:
        assert login_as(role.value).get("/events/").status_code == 200
    client = login_as("technician")
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/events/")})
    html = client.get("/events/?kind=run_failed").get_data(as_text=True)
    assert "Scan or evaluation failed" in html and "Events" in html


def test_the_latest_events_partial_shows_the_newest(app, login_as, feed):
    login_as("viewer")
    with app.test_request_context("/"):
        from flask import render_template_string

        html = render_template_string('{% include "events/_latest.html" %}')
    assert rows_of(html) == 8 and "Thiết bị chưa ghi nhận" in html and "/events/" in html


def test_the_overview_shows_the_latest_events_fresh(login_as, feed, engine):
    client = login_as("viewer")
    html = client.get("/").get_data(as_text=True)
    assert "Sự kiện mới nhất" in html and "Thiết bị chưa ghi nhận" in html and 'href="/events/"' in html
    with Session(engine) as session:  # events are not tracked by the data revision: read on each load
        events.raise_event(session, "run_failed", "high", "run_failed:later", data={"run_kind": "poll", "error": "OSError: later"})
        session.commit()
    assert "OSError: later" in client.get("/").get_data(as_text=True)
