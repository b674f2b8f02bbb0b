"""An evaluation that finds everything as it was leaves the data revision (the web keeps its
caches): findings found again only move last_seen, states re-confirmed only evaluated_at and
data_as_of. A change that shows moves it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from compliance.evaluation import evaluate_scope
from compliance.policy import load_policy
from inventory import revision
from inventory.models import Device
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

TODAY = date(2026, 11, 22)


def evaluate(engine) -> None:
    assert evaluate_scope(engine, trigger="test", actor="tester", today=TODAY, policy=load_policy())["status"] == "ok"


def current(engine) -> int:
    with Session(engine) as session:
        return revision.current(session)


def test_an_evaluation_that_changes_nothing_shown_leaves_the_revision(engine, session):
    site = make_province(session, sites=1)["S1"]
    seen = datetime(2026, 11, 21, tzinfo=UTC)
    laptop = Device(site_id=site["site"], zone_id=site["internet"], serial="W7", device_class="laptop", os_name="Windows 7", last_seen=seen, last_polled=seen)
    session.add(laptop)
    session.commit()
    evaluate(engine)
    before = current(engine)

    with Session(engine) as s:  # a poll: only the when-seen columns of the device move
        s.get(Device, laptop.id).last_seen = seen + timedelta(hours=1)
        s.commit()
    assert current(engine) == before
    evaluate(engine)  # the same findings, the same state on newer data
    assert current(engine) == before

    with Session(engine) as s:  # a change a page shows: the finding's evidence changes
        s.get(Device, laptop.id).os_name = "Windows XP"
        s.commit()
    moved = current(engine)
    assert moved != before
    evaluate(engine)
    assert current(engine) != moved
