"""`kiemke scheduler`: APScheduler in its own process: one polling job per site, a daily
evaluation of the whole fleet (followed by the day's trend snapshot), an evaluation of the whole
fleet when the policy files changed (checked every 5 minutes), the events of silent devices
and expiring waivers every 15 minutes, and the delivery of events to the notification channels
every minute.

Each site is polled at its own interval; jobs are coalesced and never run twice at once; a job
polls only the site's devices that are due (never polled, or polled longer ago than the
interval), and every job run is a scan run with its status, timing and error. A poll re-evaluates
the devices it touched (collectors.service); the daily evaluation catches what no write touches:
waivers that expired (their findings open again), end of support and service life passing,
data growing stale.

With workers (PostgreSQL and KIEMKE_JOBS=workers; `kiemke worker` on any number of machines)
the scheduler only enqueues: a site's poll becomes one scan run and one job per due device
(collectors.work.polls), the daily evaluation one job; and every minute it closes job runs whose
jobs failed for good. The evaluation after a policy change, the events and their delivery stay
here. On SQLite (and with KIEMKE_JOBS=process) everything runs in this process, as it always did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import InterfaceError, OperationalError

from collectors.runner import RunOptions
from collectors.service import RunResult, ServiceError, poll
from compliance.events import silence_and_waiver_job
from compliance.notify import delivery_job
from compliance.policy_watch import policy_change_job
from compliance.trends import daily_snapshot_job
from inventory import db
from inventory.choices import LOCAL_TIMEZONE, FindingStatus
from inventory.crypto import Vault
from inventory.models import Finding, Site

log = logging.getLogger("kiemke.scheduler")

DAILY_EVALUATION_JOB = "evaluate:daily"
EVENTS_JOB = "events:silence-and-waivers"
EVENTS_EVERY_MINUTES = 15
DELIVERY_JOB = "events:deliver"
SETTLE_JOB = "work:settle-runs"
POLICY_CHANGE_JOB = "evaluate:policy-changed"
POLICY_CHANGE_EVERY_MINUTES = 5
# 01:30 in the province: after midnight, so a waiver "valid until" yesterday has expired; before work.
DAILY_EVALUATION_AT = (1, 30)
RETENTION_JOB = "retention:prune"
RETENTION_AT = (3, 15)  # after the daily evaluation and its snapshot


def poll_site_job(engine: Engine, vault: Vault, site: str, interval_minutes: int, options_factory: Callable[[], RunOptions] | None = None) -> RunResult | None:
    """One scheduled poll of one site's due devices. A database outage skips this run (one log
    line; nothing can be recorded without the database) and the next run tries again."""
    try:
        try:
            result = poll(
                engine, vault, site=site, due_only_minutes=interval_minutes, triggered_by="scheduler",
                options=options_factory() if options_factory else None,
            )  # fmt: skip
            if result.evaluation:
                log.info("site %s: %s", site, result.evaluation)
            return result
        except ServiceError as exc:
            # Still a job run: record it, so a misconfigured site shows up in the scan history.
            from collectors.service import _fail_run, _start_run

            log.warning("site %s: %s", site, exc)
            run_id = _start_run(engine, "poll", site=site, params={"scheduled": True}, triggered_by="scheduler")
            _fail_run(engine, run_id, exc)
            return None
    except (OperationalError, InterfaceError) as exc:
        reason = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
        log.error("site %s: database unavailable, poll skipped until the next run: %s", site, reason[0])
        return None


def enqueue_poll_site_job(engine: Engine, site: str, interval_minutes: int):
    """With workers: one scheduled poll of one site enqueued (a run and one job per due device).
    A database outage skips this run, as for a poll in process."""
    from collectors.work.polls import enqueue_site_poll

    try:
        try:
            queued = enqueue_site_poll(engine, site, due_only_minutes=interval_minutes)
        except ServiceError as exc:
            from collectors.service import _fail_run, _start_run

            log.warning("site %s: %s", site, exc)
            _fail_run(engine, _start_run(engine, "poll", site=site, params={"scheduled": True}, triggered_by="scheduler"), exc)
            return None
    except (OperationalError, InterfaceError) as exc:
        reason = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
        log.error("site %s: database unavailable, poll not enqueued until the next run: %s", site, reason[0])
        return None
    if queued.scan_run_id is not None:
        log.info("site %s: scan run #%s, %s device jobs enqueued (%s still queued from before)", site, queued.scan_run_id, queued.jobs, queued.already_queued)
    return queued


def enqueue_daily_evaluation_job(engine: Engine) -> None:
    """With workers: the daily evaluation as one job (never queued twice)."""
    from collectors.work.queue import EVALUATE_QUEUE, defer_in_transaction, queued_locks

    try:
        with db.session_scope(engine) as session:
            if not queued_locks(session, ["evaluate:fleet"]):
                defer_in_transaction(session, "evaluate_fleet", {}, queue=EVALUATE_QUEUE, lock="evaluate:fleet", queueing_lock="evaluate:fleet")
    except (OperationalError, InterfaceError) as exc:
        log.error("daily evaluation: database unavailable, not enqueued: %s", type(exc.orig).__name__)


def settle_job_runs_job(engine: Engine) -> list[int]:
    from collectors.work.polls import settle_job_runs

    try:
        return settle_job_runs(engine)
    except (OperationalError, InterfaceError) as exc:
        log.error("job runs not settled: database unavailable: %s", type(exc.orig).__name__)
        return []


def daily_evaluation_job(engine: Engine, today: date | None = None) -> dict | None:
    """The whole fleet evaluated once a day; waivers past their expiry open again in it
    (compliance.findings). A database outage skips this run, as for a poll."""
    from compliance.evaluation import evaluate_scope

    today = today or date.today()
    try:
        with db.session_scope(engine) as session:
            expired = session.execute(select(func.count()).select_from(Finding).where(Finding.status == FindingStatus.WAIVED.value, Finding.waiver_expires < today)).scalar_one()
        result = evaluate_scope(engine, trigger="scheduler:daily", actor="scheduler", today=today)
    except (OperationalError, InterfaceError) as exc:
        reason = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
        log.error("daily evaluation: database unavailable, skipped until the next run: %s", reason[0])
        return None
    result = dict(result) | {"waivers_expired": expired}
    log.info("daily evaluation: %s devices, %s new, %s reopened, %s resolved, %s waivers expired",
             result.get("devices"), result.get("opened"), result.get("reopened"), result.get("resolved"), expired)  # fmt: skip
    # The day's trend point, from the states the evaluation just wrote.
    result["snapshots"] = daily_snapshot_job(engine, today=today)
    return result


def retention_job(engine: Engine) -> str | None:
    """Once a day: scan outcomes and applied collector batch records past the retention go
    (inventory/retention.py). A database outage skips this run."""
    from inventory.retention import prune
    from inventory.settings import get_settings

    try:
        with db.session_scope(engine) as session:
            line = prune(session, get_settings().keep_outcomes_days).line()
    except (OperationalError, InterfaceError) as exc:
        log.error("retention: database unavailable, skipped until tomorrow: %s", type(exc.orig).__name__)
        return None
    log.info("retention: %s", line)
    return line


def build_scheduler(engine: Engine, vault: Vault, *, scheduler: BlockingScheduler | None = None, first_run_now: bool = True, workers: bool = False) -> BlockingScheduler:
    """`workers`: enqueue polls and the daily evaluation for `kiemke worker` (PostgreSQL with
    procrastinate's tables, else collectors.work.queue.JobsUnavailable) instead of running them."""
    from datetime import datetime

    if workers:
        from collectors.work.queue import require_queue

        require_queue(engine)
    scheduler = scheduler or BlockingScheduler(timezone="UTC")
    with db.session_scope(engine) as session:
        sites = [(s.code, s.poll_interval_minutes) for s in session.execute(select(Site).order_by(Site.code)).scalars()]
    for code, minutes in sites:
        if not minutes:
            continue  # an interval of 0 turns scheduled polling off for the site
        scheduler.add_job(
            enqueue_poll_site_job if workers else poll_site_job,
            IntervalTrigger(minutes=minutes),
            args=(engine, code, minutes) if workers else (engine, vault, code, minutes),
            id=f"poll:{code}",
            name=f"poll {code}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(60, minutes * 30),
            replace_existing=True,
            next_run_time=datetime.now(UTC) if first_run_now else None,
        )

    scheduler.add_job(
        enqueue_daily_evaluation_job if workers else daily_evaluation_job,
        CronTrigger(hour=DAILY_EVALUATION_AT[0], minute=DAILY_EVALUATION_AT[1], timezone=LOCAL_TIMEZONE),
        args=(engine,),
        id=DAILY_EVALUATION_JOB,
        name="daily evaluation",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=6 * 3600,  # a scheduler down at night still runs it when back that morning
        replace_existing=True,
    )

    scheduler.add_job(
        retention_job, CronTrigger(hour=RETENTION_AT[0], minute=RETENTION_AT[1], timezone=LOCAL_TIMEZONE), args=(engine,), id=RETENTION_JOB,
        name="prune old scan outcomes", coalesce=True, max_instances=1, misfire_grace_time=6 * 3600, replace_existing=True,
    )  # fmt: skip

    # The policy files changed (a new rule, a changed threshold): the whole fleet again, so the
    # findings follow the policy as they follow the data. Reading and hashing the files is all
    # an unchanged policy costs; a first run at start catches an edit made while it was down.
    scheduler.add_job(
        policy_change_job, IntervalTrigger(minutes=POLICY_CHANGE_EVERY_MINUTES), args=(engine,), id=POLICY_CHANGE_JOB, name="evaluation after a policy change",
        coalesce=True, max_instances=1, misfire_grace_time=POLICY_CHANGE_EVERY_MINUTES * 60, replace_existing=True,
        next_run_time=datetime.now(UTC) if first_run_now else None,
    )  # fmt: skip

    # Events for silent devices and waivers about to expire, and the delivery of every event to
    # the notification channels: both in this process, so no web request or evaluation waits on them.
    scheduler.add_job(
        silence_and_waiver_job, IntervalTrigger(minutes=EVENTS_EVERY_MINUTES), args=(engine,), id=EVENTS_JOB, name="events: silent devices, expiring waivers",
        coalesce=True, max_instances=1, misfire_grace_time=EVENTS_EVERY_MINUTES * 60, replace_existing=True,
        next_run_time=datetime.now(UTC) if first_run_now else None,
    )  # fmt: skip
    scheduler.add_job(
        delivery_job, IntervalTrigger(minutes=1), args=(engine, vault), id=DELIVERY_JOB, name="deliver events",
        coalesce=True, max_instances=1, misfire_grace_time=60, replace_existing=True,
    )  # fmt: skip

    if workers:
        scheduler.add_job(
            settle_job_runs_job, IntervalTrigger(minutes=1), args=(engine,), id=SETTLE_JOB, name="close job runs whose jobs failed",
            coalesce=True, max_instances=1, misfire_grace_time=60, replace_existing=True,
        )  # fmt: skip

    def listen(event) -> None:
        if event.code == EVENT_JOB_ERROR:
            log.error("job %s failed: %s", event.job_id, event.exception)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run time", event.job_id)
        else:
            result = event.retval
            if isinstance(result, RunResult):
                log.info("job %s: scan run #%s %s %s", event.job_id, result.scan_run_id, result.status, result.summary)

    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler
