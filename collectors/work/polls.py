"""A scheduled poll as jobs: one scan run, one job per device, on any number of workers.

- `enqueue_site_poll` (the scheduler, per due site): in ONE transaction, the scan run
  (kind "poll", status running) and one `poll_device` job per due device, each with
  queueing lock `poll:<device>` (a device waits in the queue at most once) and lock
  `device:<device>` (a device is never polled by two workers at once). Devices whose poll is
  still waiting or running are left out of the new run.
- `poll_device` (a worker): collects its device outside any transaction (the same runner as
  every poll), then in ONE transaction reconciles the outcome into the run and adds it to the
  run's summary. The run's row is locked for that last step only, so the devices of one run are
  reconciled in parallel and counted one at a time. The job that records the run's last device
  finishes the run (status, finish time) and enqueues, in that same transaction, the evaluation
  of the devices the run touched.
- A job that runs again (its worker was killed after the commit, before procrastinate marked it
  done; or a stalled job retried) finds its outcome recorded and stops: nothing is recorded
  twice. Runs no longer running take nothing more.
- `settle_job_runs` (the scheduler, every minute): a run whose jobs have all left the queue
  without recording every device (their retries ran out) is closed with what it has; so is a
  queued discovery whose job failed for good (collectors.work.discoveries).

Job runs record no owner process (`inventory.runs`): no single process runs them, and the
scheduler that enqueued one may stop while workers carry on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError

from collectors.credentials import CredentialBook
from collectors.reconcile import Reconciler, ReconcileSummary
from collectors.runner import RunOptions, run_sync
from collectors.service import NO_CREDENTIALS, ServiceError, poll_targets
from collectors.work.queue import EVALUATE_QUEUE, POLL_QUEUE, JobToDefer, defer_in_transaction, defer_many_in_transaction, queued_locks, task_name
from compliance import events
from inventory import db
from inventory.crypto import Vault
from inventory.models import Credential, ScanOutcome, ScanRun, Site, utcnow

log = logging.getLogger("kiemke.work")

POLL_TASK = "poll_device"
EVALUATE_RUN_TASK = "evaluate_run"
JOBS_MARK = "procrastinate"  # params["jobs"] of a run carried out by workers
SUMMARY_KEYS = tuple(ReconcileSummary().as_dict())
# The run's row is counted under FOR NO KEY UPDATE: the outcomes and observations a transaction
# has just inserted hold KEY SHARE locks on it (their foreign keys), which FOR UPDATE would
# conflict with, so two devices of one run would deadlock.
ROW_LOCK = {"key_share": True}


def poll_lock(device_id: int) -> str:
    return f"device:{device_id}"


def poll_queueing_lock(device_id: int) -> str:
    return f"poll:{device_id}"


@dataclass(frozen=True)
class Enqueued:
    scan_run_id: int | None  # None: nothing was due (or all of it is queued already)
    jobs: int
    already_queued: int


@dataclass(frozen=True)
class PollRequest:
    """What to poll: recorded devices of one site (or all), one zone (or all)."""

    site: str | None = None
    zone: str | None = None
    endpoints: bool = False
    due_only_minutes: int | None = None  # None: every device in scope, due or not ("poll now")
    snmp_timeout: float | None = None  # per device; None: the worker's RunOptions default
    ssh_timeout: float | None = None


ASKED_PRIORITY = 1  # a poll a person asked for (web, CLI) is fetched before the scheduler's cycle


def enqueue_site_poll(engine: Engine, site: str, *, due_only_minutes: int | None, triggered_by: str = "scheduler", endpoints: bool = False) -> Enqueued:
    """The site's due devices as one scan run and one job per device, in one transaction."""
    return enqueue_poll(engine, PollRequest(site=site, endpoints=endpoints, due_only_minutes=due_only_minutes), triggered_by=triggered_by)


def enqueue_poll(engine: Engine, request: PollRequest, *, triggered_by: str, priority: int = 0) -> Enqueued:
    """The devices `request` names as one scan run and one `poll_device` job per device, in one
    transaction (the scheduler's per site; the web's "poll now" with KIEMKE_JOBS=workers, with
    `ASKED_PRIORITY`). Devices whose poll waits or runs already are left out (counted in
    `already_queued`); ServiceError for what a poll refuses (an unknown site, no credential)."""
    try:
        return _enqueue_poll(engine, request, triggered_by=triggered_by, priority=priority)
    except IntegrityError as exc:
        if "queueing_lock" not in str(exc.orig):
            raise
        # Another run queued one of these devices between the check and the insert: checked again, it is left out.
        return _enqueue_poll(engine, request, triggered_by=triggered_by, priority=priority)


def _enqueue_poll(engine: Engine, request: PollRequest, *, triggered_by: str, priority: int) -> Enqueued:
    with db.session_scope(engine) as session:
        site_id = None
        if request.site is not None:
            site_id = session.execute(select(Site.id).where(Site.code == request.site)).scalar_one_or_none()
            if site_id is None:
                raise ServiceError(f"unknown site {request.site!r}")
        if session.execute(select(Credential.id).limit(1)).first() is None:
            raise ServiceError(NO_CREDENTIALS)  # as a poll in process says it, before anything is queued
        due = utcnow() - timedelta(minutes=request.due_only_minutes) if request.due_only_minutes else None
        targets = poll_targets(session, site=request.site, zone=request.zone, endpoints=request.endpoints, due_before=due)
        busy = queued_locks(session, [poll_queueing_lock(t.device_id) for t in targets])
        targets = [t for t in targets if poll_queueing_lock(t.device_id) not in busy]
        if not targets:
            return Enqueued(None, 0, len(busy))
        timeouts = {k: v for k, v in (("snmp_timeout", request.snmp_timeout), ("ssh_timeout", request.ssh_timeout)) if v is not None}
        params = {"zone": request.zone, "endpoints": request.endpoints, "targets": len(targets), "jobs": JOBS_MARK, "scheduled": triggered_by == "scheduler"} | timeouts
        scan_run = ScanRun(kind="poll", site_id=site_id, params=params, triggered_by=triggered_by, summary=dict.fromkeys(SUMMARY_KEYS, 0) | {"devices": 0})
        session.add(scan_run)
        session.flush()
        jobs = [
            JobToDefer(POLL_TASK, {"run_id": scan_run.id, "device_id": t.device_id}, queue=POLL_QUEUE, lock=poll_lock(t.device_id), queueing_lock=poll_queueing_lock(t.device_id),
                       priority=priority)
            for t in targets
        ]  # fmt: skip
        defer_many_in_transaction(session, jobs)
        return Enqueued(scan_run.id, len(jobs), len(busy))


def run_options(params: dict, options: RunOptions | None = None) -> RunOptions:
    """The worker's run options with the timeouts the run was asked with (the web form's)."""
    options = options or RunOptions()
    options.snmp_timeout = params.get("snmp_timeout") or options.snmp_timeout
    options.ssh_timeout = params.get("ssh_timeout") or options.ssh_timeout
    return options


@dataclass(frozen=True)
class DevicePolled:
    status: str  # "recorded", "already-recorded", "run-closed", "gone"
    run_finished: bool = False


def _recorded(session, run_id: int, device_id: int) -> bool:
    return session.execute(select(ScanOutcome.id).where(ScanOutcome.scan_run_id == run_id, ScanOutcome.device_id == device_id).limit(1)).first() is not None


def poll_device(engine: Engine, vault: Vault, run_id: int, device_id: int, options: RunOptions | None = None) -> DevicePolled:
    """One device of a job run: collect, then reconcile and count it in one transaction."""
    with db.session_scope(engine) as session:
        run = session.get(ScanRun, run_id)
        if run is None or run.status != "running":
            return DevicePolled("run-closed")
        if _recorded(session, run_id, device_id):
            return DevicePolled("already-recorded")
        # The device as a poll target, whether or not it is still due (it was when queued).
        targets = poll_targets(session, endpoints=True, device_ids=[device_id])
        book = CredentialBook(session, vault)
        options = run_options(run.params or {}, options)
    if not targets:
        # Removed or left the inventory since it was queued: counted, so the run still finishes.
        return _count_only(engine, run_id, device_id)
    outcomes = run_sync(targets, book, options)  # outside any transaction: a device may take long

    with db.session_scope(engine) as session:
        # Two attempts of one job (a stalled one retried while its worker still lives) meet here.
        session.execute(text("SELECT pg_advisory_xact_lock(:run, :device)"), {"run": run_id, "device": device_id})
        if _recorded(session, run_id, device_id):
            return DevicePolled("already-recorded")
        run = session.get(ScanRun, run_id)
        if run.status != "running":
            return DevicePolled("run-closed")
        # The reconciler reads only the identity keys this outcome names, not the whole fleet's.
        summary = Reconciler(session, run).apply(outcomes)
        session.refresh(run, with_for_update=ROW_LOCK)  # the run's counts, one device at a time
        finished = _add_to_run(session, run, summary.as_dict(), devices=1)
    if finished:
        _after_finish(engine, run_id)
    return DevicePolled("recorded", finished)


def _count_only(engine: Engine, run_id: int, device_id: int) -> DevicePolled:
    with db.session_scope(engine) as session:
        session.execute(text("SELECT pg_advisory_xact_lock(:run, :device)"), {"run": run_id, "device": device_id})
        run = session.get(ScanRun, run_id, with_for_update=ROW_LOCK)
        if run is None or run.status != "running":
            return DevicePolled("run-closed")
        finished = _add_to_run(session, run, {"skipped": 1}, devices=1)
    if finished:
        _after_finish(engine, run_id)
    return DevicePolled("gone", finished)


def _add_to_run(session, run: ScanRun, counts: dict, *, devices: int) -> bool:
    """Add one device's counts to the (locked) run; finish it when it was the last. In the
    finishing transaction the evaluation of what the run touched is enqueued."""
    summary = dict(run.summary or {})
    for key, value in counts.items():
        summary[key] = summary.get(key, 0) + value
    summary["devices"] = summary.get("devices", 0) + devices
    run.summary = summary
    if summary["devices"] < int(run.params.get("targets", 0)):
        return False
    _close(run, summary)
    defer_in_transaction(session, EVALUATE_RUN_TASK, {"run_id": run.id}, queue=EVALUATE_QUEUE, lock=f"evaluate:site:{run.site_id}")
    return True


def _close(run: ScanRun, summary: dict, error: str | None = None) -> None:
    run.finished_at = utcnow()
    run.status = "ok" if summary.get("failed", 0) == 0 and not error else "partial" if summary.get("ok", 0) else "failed"
    run.error = error


def _after_finish(engine: Engine, run_id: int) -> None:
    """After the commit, as `service._finish_run` does: each in a transaction of its own that never raises."""
    with db.session_scope(engine) as session:
        run = session.get(ScanRun, run_id)
        created, status = (run.summary or {}).get("created"), run.status
    if created:
        events.raise_discovered_devices(engine, run_id)
    if status == "failed":
        events.raise_run_failed(engine, run_id)


def settle_job_runs(engine: Engine) -> list[int]:
    """Close the running job runs none of whose jobs is waiting or running any more (their
    retries ran out, or they were cancelled): what was recorded stays, the rest is named in the
    run's error. Their ids."""
    settled = []
    # One pass over the queue, read after the runs: a run in `runs` whose jobs are not in it has none left.
    pending = text("SELECT DISTINCT (args->>'run_id')::bigint FROM procrastinate_jobs WHERE task_name = :task AND status IN ('todo', 'doing')")
    with db.session_scope(engine) as session:
        runs = session.execute(select(ScanRun).where(ScanRun.status == "running", ScanRun.kind == "poll")).scalars().all()
        runs = [run for run in runs if (run.params or {}).get("jobs") == JOBS_MARK]
        busy = set(session.execute(pending, {"task": task_name(POLL_TASK)}).scalars()) if runs else set()
        for run in runs:
            if run.id in busy:
                continue
            session.refresh(run, with_for_update=ROW_LOCK)
            if run.status != "running":
                continue
            summary = dict(run.summary or {})
            missing = int(run.params.get("targets", 0)) - summary.get("devices", 0)
            _close(run, summary, f"{missing} of {run.params.get('targets')} devices not polled: their jobs failed")
            defer_in_transaction(session, EVALUATE_RUN_TASK, {"run_id": run.id}, queue=EVALUATE_QUEUE, lock=f"evaluate:site:{run.site_id}")
            settled.append(run.id)
    for run_id in settled:
        log.warning("scan run #%s closed: some of its device jobs failed for good", run_id)
        _after_finish(engine, run_id)
    from collectors.work.discoveries import settle_discovery_runs  # it imports this module

    for run_id in (discoveries := settle_discovery_runs(engine)):
        log.warning("discovery run #%s closed: its job failed for good", run_id)
        events.raise_run_failed(engine, run_id)
    return settled + discoveries
