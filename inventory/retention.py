"""How long the per-run detail is kept: a poll every 5 minutes writes one scan outcome per device,
which no one reads after a few months but which would grow the database without end (the
paper plan in the README: 350,000 devices). What is pruned, once a day (the scheduler):
- the outcomes of scan runs finished before the cut-off (the runs stay, with their summary:
  the history of what ran, when and how it went);
- collectors' batch records already applied or refused before the cut-off: a batch with a number
  at or below the collector's acknowledgement is a duplicate whatever the record, so dropping the
  record never lets an old batch in again.
Observations (what changed, with its history), findings, the audit log and config snapshots are
never pruned here: they are the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import Session

from inventory.models import Collector, CollectorBatch, ScanOutcome, ScanRun, utcnow

BATCH_ROWS = 5_000  # deleted a slice at a time: a long delete would hold the write lock for minutes


@dataclass
class Pruned:
    before: datetime
    outcomes: int = 0
    batches: int = 0

    def line(self) -> str:
        return f"pruned before {self.before:%Y-%m-%d}: {self.outcomes:,} scan outcomes, {self.batches:,} collector batch records"


def _slices(session: Session, query, model_id) -> int:
    removed = 0
    while True:
        ids = list(session.execute(query.limit(BATCH_ROWS)).scalars())
        if not ids:
            return removed
        session.execute(delete(model_id.class_).where(model_id.in_(ids)))
        session.commit()
        removed += len(ids)


def prune(session: Session, keep_days: int, *, now: datetime | None = None) -> Pruned:
    """Prune what is older than `keep_days` days (see the module's docstring); commits as it goes."""
    if keep_days < 1:
        raise ValueError("keep at least one day")
    result = Pruned((now or utcnow()) - timedelta(days=keep_days))
    old_runs = select(ScanRun.id).where(ScanRun.finished_at.is_not(None), ScanRun.finished_at < result.before)
    result.outcomes = _slices(session, select(ScanOutcome.id).where(ScanOutcome.scan_run_id.in_(old_runs)), ScanOutcome.id)
    acked = select(Collector.acked_seq).where(Collector.id == CollectorBatch.collector_id).scalar_subquery()
    done = select(CollectorBatch.id).where(CollectorBatch.status.in_(("applied", "refused")), CollectorBatch.received_at < result.before, CollectorBatch.seq <= acked)
    result.batches = _slices(session, done, CollectorBatch.id)
    return result
