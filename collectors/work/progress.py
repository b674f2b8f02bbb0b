"""How far a run carried out by workers has got, where the web can read it: the scan run's row.

In process, a scan's progress lives on its in-memory job (collectors.scanjobs) and the run page
reads it there. A worker is another process, often another machine, so:

- a discovery job writes its progress (phase, the sweep's counts, devices done/total) into its
  run's `params["progress"]` with `RowProgress`: at most once per second, each write in a short
  transaction of its own that waits at most `LOCK_WAIT` for the row and never fails the
  discovery (a lost write is only a less fresh page);
- a poll job run needs no extra writes: every device job adds itself to the run's summary
  (collectors.work.polls), so its progress is the summary against `params["targets"]`, and
  "queued" until a worker has taken one of its jobs;
- `run_progress` is `scanjobs.scan_progress` with the row's progress laid over it for runs
  that no thread of this process carries out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

from collectors.runner import Outcome
from collectors.scanjobs import ScanJob, scan_progress
from collectors.work.discoveries import QUEUED
from collectors.work.polls import JOBS_MARK, POLL_TASK
from collectors.work.queue import has_queue, task_name
from inventory import db
from inventory.models import ScanRun, utcnow

log = logging.getLogger("kiemke.work")

PROGRESS_KEY = "progress"  # params[PROGRESS_KEY]: {"phase", "counts", "done", "total", "at"}
WRITE_EVERY = 1.0  # seconds between two writes of one run's progress
LOCK_WAIT = "2s"  # PostgreSQL's lock_timeout for a progress write: skipped rather than waited for


class RowProgress:
    """A worker's discovery progress, told by the service's callbacks (`phase` is its `on_phase`,
    `device` its RunOptions.progress) and written to the run's row, throttled."""

    def __init__(self, engine: Engine, run_id: int, *, every: float = WRITE_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine, self.run_id, self.every, self.clock = engine, run_id, every, clock
        self.state: dict[str, Any] = {"phase": None, "counts": {}, "done": 0, "total": None}
        self.written_at: float | None = None
        self.dirty = False
        self.writes = 0
        self._lock = threading.Lock()  # the callbacks may come from more than one thread

    def phase(self, name: str, counts: dict) -> None:
        # The same bookkeeping as an in-process job's (collectors.scanjobs), so the page reads both alike.
        with self._lock:
            entering_collect = name == "collect" and self.state["phase"] != "collect"
            self.state = self.state | {"phase": name, "counts": dict(counts) | ({"answered": 0, "silent": 0} if name == "collect" else {})}
            if name == "collect":
                self.state |= {"done": 0, "total": counts.get("hosts_found")}
            self.dirty = True
        self._maybe_write(now=entering_collect)  # the sweep's end is worth saying at once

    def device(self, done: int, total: int, outcome: Outcome) -> None:
        key = "answered" if outcome.ok else "silent"
        with self._lock:
            counts = self.state["counts"]
            self.state = self.state | {"phase": "collect", "done": done, "total": total, "counts": counts | {key: counts.get(key, 0) + 1}}
            self.dirty = True
        self._maybe_write(now=done == total)  # the last device: the page shows it while the results are recorded

    def flush(self) -> None:
        """Whatever is not written yet, written (the job's end)."""
        self._maybe_write(now=True)

    def _maybe_write(self, *, now: bool) -> None:
        with self._lock:
            due = self.written_at is None or self.clock() - self.written_at >= self.every
            if not self.dirty or not (now or due):
                return
            state, self.dirty, self.written_at = dict(self.state), False, self.clock()
        self._write(state | {"at": utcnow().isoformat(timespec="seconds")})

    def _write(self, state: dict) -> None:
        try:
            with db.session_scope(self.engine) as session:
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
                run = session.get(ScanRun, self.run_id, with_for_update=True)
                if run is None:
                    return
                run.params = dict(run.params or {}) | {PROGRESS_KEY: state}
            self.writes += 1
        except Exception as exc:  # noqa: BLE001 - progress is for the page; the discovery goes on
            log.warning("scan run #%s: progress not recorded (%s)", self.run_id, type(exc).__name__)


def is_job_run(run: ScanRun) -> bool:
    """Carried out by `kiemke worker` (collectors.work), not by a thread of some process."""
    return (run.params or {}).get("jobs") == JOBS_MARK


def _poll_started(session: Session, run_id: int) -> bool:
    """Has a worker taken one of the run's device jobs? Read among the jobs being done (few: the
    workers' concurrency; procrastinate's partial index on status 'doing' with a worker)."""
    if not has_queue(session.connection()):
        return False  # no queue (SQLite, or `kiemke init` not run): nothing has taken it
    query = text(
        "SELECT 1 FROM procrastinate_jobs WHERE status = 'doing' AND worker_id IS NOT NULL AND task_name = :task AND args->>'run_id' = :run LIMIT 1"
    )  # fmt: skip
    return session.execute(query, {"task": task_name(POLL_TASK), "run": str(run_id)}).first() is not None


def row_progress(session: Session, run: ScanRun) -> dict[str, Any] | None:
    """A running job run's progress from its row (None: nothing to say beyond its status)."""
    if run.status != "running" or not is_job_run(run):
        return None
    params = run.params or {}
    if run.kind == "discover":
        recorded = params.get(PROGRESS_KEY)
        return {key: recorded.get(key) for key in ("phase", "counts", "done", "total")} if recorded else None
    if run.kind == "poll":
        summary = run.summary or {}
        done = int(summary.get("devices", 0) or 0)
        if done == 0 and not _poll_started(session, run.id):
            return {"phase": QUEUED, "counts": {}, "done": 0, "total": params.get("targets")}
        counts = {"answered": summary.get("ok", 0), "silent": summary.get("failed", 0)}
        return {"phase": "collect", "counts": counts, "done": done, "total": params.get("targets")}
    return None


def run_progress(session: Session, run: ScanRun, job: ScanJob | None) -> dict[str, Any]:
    """`scan_progress`, with a job run's progress read from its row when no job here runs it."""
    data = scan_progress(run, job)
    if job is None and data["state"] == "running":
        recorded = row_progress(session, run)
        if recorded is not None:
            data.update(recorded, counts=dict(recorded.get("counts") or {}))
    return data
