"""What an evaluation waits for (compliance.evaluation_claim): on PostgreSQL, another process's
evaluation of the same site, or of the whole fleet, and nothing else; on SQLite, any writer."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlmodel import Session

from compliance.evaluation import evaluate_scope
from compliance.evaluation_claim import claim_scope
from compliance.policy import load_policy
from inventory.models import Device
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

POLICY = load_policy()
TODAY = date(2026, 11, 22)
WAIT = 30.0  # an evaluation not held back finishes well within this


@pytest.fixture
def sites(engine, session, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: on SQLite every evaluation takes the database's one write lock")
    ids = make_province(session, sites=3)
    for code, site in ids.items():
        session.add(Device(site_id=site["site"], zone_id=site["internet"], serial=f"{code}-cn", device_class="laptop", country_of_origin="CN", purchase_date=date(2025, 1, 1)))
    session.commit()
    return {code: site["site"] for code, site in ids.items()}


def _start(engine, **scope) -> tuple[threading.Thread, dict]:
    """An evaluation in a thread of its own (as another worker's would run); its result lands in the dict."""
    out: dict = {}

    def evaluate():
        out.update(evaluate_scope(engine, trigger="test", actor="tester", today=TODAY, policy=POLICY, **scope))

    thread = threading.Thread(target=evaluate, daemon=True)
    thread.start()
    return thread, out


def _holding(engine, device_ids, site_ids) -> Session:
    """Another process's evaluation, stopped with its locks held (its transaction left open)."""
    other = Session(engine)
    claim_scope(other, device_ids, site_ids)
    return other


def test_an_evaluation_of_another_site_does_not_wait_for_one_in_progress(engine, sites):
    other = _holding(engine, None, frozenset({sites["S1"]}))
    try:
        thread, result = _start(engine, site_ids=[sites["S2"]])
        thread.join(WAIT)
        assert not thread.is_alive(), "an evaluation of S2 waited for one of S1"
        assert result["status"] == "ok"
        assert result["devices"] == 1
    finally:
        other.rollback()
        other.close()


def _waits_for(engine, holding: Session, **scope) -> None:
    """An evaluation of `scope` started while `holding` keeps its locks: it must wait until that
    transaction commits, then finish."""
    try:
        thread, result = _start(engine, **scope)
        thread.join(2.0)
        assert thread.is_alive(), f"an evaluation of {scope or 'the whole fleet'} did not wait"
    finally:
        holding.commit()
        holding.close()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert result["status"] == "ok"


def test_an_evaluation_of_the_same_site_waits_until_the_other_commits(engine, sites, session):
    s1_device = session.query(Device.id).filter(Device.site_id == sites["S1"]).scalar()
    # Named by one of its devices, the site is the same: its site-level findings are shared.
    _waits_for(engine, _holding(engine, None, frozenset({sites["S1"]})), device_ids=[s1_device])


def test_a_fleet_evaluation_waits_for_a_site_evaluation_and_a_site_evaluation_for_a_fleet_one(engine, sites):
    _waits_for(engine, _holding(engine, None, frozenset({sites["S3"]})))
    _waits_for(engine, _holding(engine, None, None), site_ids=[sites["S2"]])


def test_the_scope_returned_is_the_one_the_locks_cover(engine, sites, session):
    with Session(engine) as claiming:
        scope = claim_scope(claiming, None, frozenset({sites["S1"], sites["S2"]}))
        assert scope.site_ids == {sites["S1"], sites["S2"]}
        assert len(scope.device_ids) == 2
        claiming.rollback()
