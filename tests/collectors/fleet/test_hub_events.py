"""A silent collector is one event per silence, from the periodic events job; the job's other
counts are unchanged on a hub without collectors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from compliance import events
from inventory import db
from inventory.models import Collector, Event, utcnow
from tests.collectors.fleet.hubkit import collector, make_hub

pytestmark = pytest.mark.db


def _silent_events(engine) -> list[dict]:
    with db.session_scope(engine) as session:
        return [e.data for e in session.execute(select(Event).where(Event.kind == "collector_silent").order_by(Event.id)).scalars()]


def test_a_silent_collector_is_one_event_per_silence(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    assert "collector_silent" not in events.silence_and_waiver_job(engine)
    collector(hub, tmp_path / "c1", "c1", "internet")
    collector(hub, tmp_path / "c2", "c2", "party_wan")
    now = utcnow()
    with db.session_scope(engine) as session:
        for row in session.execute(select(Collector)).scalars():
            row.last_contact_at = now - timedelta(minutes=45 if row.name == "c1" else 5)
    assert events.silence_and_waiver_job(engine, now, collector_silent_minutes=30)["collector_silent"] == 1
    assert events.silence_and_waiver_job(engine, now + timedelta(minutes=5), collector_silent_minutes=30)["collector_silent"] == 0  # the same silence
    silent = _silent_events(engine)
    assert [e["collector"] for e in silent] == ["c1"] and silent[0]["limit_minutes"] == 30 and silent[0]["silent_minutes"] == 45
    # c1 speaks, then falls silent again: a new event. A revoked collector is never silent.
    with db.session_scope(engine) as session:
        c1 = session.execute(select(Collector).where(Collector.name == "c1")).scalar_one()
        c1.last_contact_at = now
        session.execute(select(Collector).where(Collector.name == "c2")).scalar_one().status = "revoked"
    assert events.silence_and_waiver_job(engine, now + timedelta(minutes=40), collector_silent_minutes=30)["collector_silent"] == 1
    assert [e["collector"] for e in _silent_events(engine)] == ["c1", "c1"]
