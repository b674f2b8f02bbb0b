"""On PostgreSQL with workers (KIEMKE_JOBS=workers): received batches are stored and their apply
jobs enqueued in the same transaction, nothing applied in the receiving process; a job applied
twice (a retried job, two workers) changes the inventory once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from collectors.fleet.apply import apply_received
from collectors.fleet.receive import receive
from inventory import db
from inventory.models import CollectorBatch, ScanRun
from inventory.settings import Settings
from tests.collectors.fleet.hubkit import batch, collector, frame, make_hub, poll_body
from tests.conftest import ADMIN_URL

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(not (ADMIN_URL or "").startswith("postgresql"), reason="workers need PostgreSQL: set KIEMKE_TEST_DATABASE_URL (scripts/pg_test_server.sh)"),
]


def test_batches_become_jobs_applied_once(engine, tmp_path):
    from collectors.work.queue import ensure_schema

    ensure_schema(engine)
    hub = make_hub(engine, tmp_path / "hub")
    settings = Settings(home=hub.settings.home, database_url=hub.settings.database_url, jobs="workers")
    keys = collector(hub, tmp_path / "c1", "c1", "internet")
    upload = frame(keys, [batch(1, poll_body(["10.2.0.5"])), batch(2, poll_body(["10.2.0.6"]))])
    receipt = receive(engine, settings, upload, via="https", actor="t")
    assert (receipt.stored, receipt.queued, receipt.applied, receipt.acked_seq) == (2, 2, 0, 2)
    assert receive(engine, settings, upload, via="https", actor="t").duplicates == 2
    with db.session_scope(engine) as session:
        jobs = session.execute(text("SELECT task_name, args FROM procrastinate_jobs ORDER BY id")).all()
        # one collector's batches one at a time, in order: one lock per collector
        locks = set(session.execute(text("SELECT lock FROM procrastinate_jobs")).scalars())
        collector_id = session.execute(select(CollectorBatch.collector_id)).scalars().first()
        ids = [b for b in session.execute(select(CollectorBatch.id).where(CollectorBatch.status == "queued").order_by(CollectorBatch.seq)).scalars()]
    assert [(t, a["batch_id"]) for t, a in jobs] == [("kiemke:apply_collector_batch", i) for i in ids] and len(ids) == 2
    assert locks == {f"collector:{collector_id}"}
    for batch_id in ids + ids:  # every job run twice
        apply_received(engine, batch_id)
    with db.session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(ScanRun).where(ScanRun.kind == "collector-poll")).scalar_one() == 2
        assert set(session.execute(select(CollectorBatch.status)).scalars()) == {"applied"}
