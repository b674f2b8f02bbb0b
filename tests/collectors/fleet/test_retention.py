"""Retention (inventory/retention.py): scan outcomes of old runs and applied collector batch
records go; the runs, recent outcomes and what is not yet acknowledged stay; a collector's old
batch sent again after its record is pruned is still a duplicate, never applied twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from collectors.fleet.receive import receive
from inventory import db
from inventory.models import CollectorBatch, ScanOutcome, ScanRun, utcnow
from inventory.retention import prune
from tests.collectors.fleet.hubkit import batch, collector, frame, make_hub, poll_body

pytestmark = pytest.mark.db


def _count(session, model, *where) -> int:
    return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_old_outcomes_and_acknowledged_batch_records_go_and_nothing_is_applied_twice(engine, tmp_path):
    hub = make_hub(engine, tmp_path / "hub")
    keys = collector(hub, tmp_path / "c1", "c1", "internet")
    old = frame(keys, [batch(1, poll_body(["10.2.0.5", "10.2.0.6"])), batch(2, poll_body(["10.2.0.7"]))])
    assert receive(engine, hub.settings, old, via="https", actor="t").acked_seq == 2
    long_ago = utcnow() - timedelta(days=200)
    with db.session_scope(engine) as session:
        session.execute(update(ScanRun).where(ScanRun.kind == "collector-poll").values(finished_at=long_ago))
        session.execute(update(CollectorBatch).values(received_at=long_ago))
        old_runs = _count(session, ScanRun, ScanRun.kind == "collector-poll")
    # a recent run, and a batch not yet contiguous (3 missing): both stay
    recent = frame(keys, [batch(4, poll_body(["10.2.0.8"]))])
    assert receive(engine, hub.settings, recent, via="https", actor="t").acked_seq == 2
    with db.session_scope(engine) as session:
        session.execute(update(CollectorBatch).where(CollectorBatch.seq == 4).values(received_at=long_ago))
        recent_outcomes = _count(session, ScanOutcome) - 3

    with db.session_scope(engine) as session:
        result = prune(session, 90)
    assert (result.outcomes, result.batches) == (3, 2)
    assert "3 scan outcomes" in result.line()
    with db.session_scope(engine) as session:
        assert _count(session, ScanRun, ScanRun.kind == "collector-poll") == old_runs + 1  # runs stay
        assert _count(session, ScanOutcome) == recent_outcomes == 1
        assert list(session.execute(select(CollectorBatch.seq)).scalars()) == [4]  # above the acknowledgement: kept

    # The same old batches again (a stale air-gap file): duplicates, nothing applied.
    again = receive(engine, hub.settings, old, via="file", actor="t")
    assert (again.stored, again.duplicates) == (0, 2)
    with db.session_scope(engine) as session:
        assert _count(session, ScanRun, ScanRun.kind == "collector-poll") == old_runs + 1


def test_retention_refuses_less_than_a_day(session):
    with pytest.raises(ValueError):
        prune(session, 0)


def test_kiemke_prune(kiemke_cli):
    assert kiemke_cli("init").exit_code == 0
    result = kiemke_cli("prune", "--days", "30")
    assert result.exit_code == 0 and "pruned before" in result.output and "0 scan outcomes" in result.output
    assert kiemke_cli("prune", "--days", "0").exit_code == 2
