"""`kiemke scheduler`: APScheduler in its own process, one polling job per site.

Each site is polled at its own interval; jobs are coalesced and never run twice at once; a job
polls only the site's devices that are due (never polled, or polled longer ago than the
interval), and every job run is a scan run with its status, timing and error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, select
from sqlalchemy.exc import InterfaceError, OperationalError

from collectors.runner import RunOptions
from collectors.service import RunResult, ServiceError, poll
from inventory import db
from inventory.crypto import Vault
from inventory.models import Site

log = logging.getLogger("kiemke.scheduler")


def poll_site_job(engine: Engine, vault: Vault, site: str, interval_minutes: int, options_factory: Callable[[], RunOptions] | None = None) -> RunResult | None:
    """One scheduled poll of one site's due devices. A database outage skips this run (one log
    line; nothing can be recorded without the database) and the next run tries again."""
    try:
        try:
            return poll(
                engine, vault, site=site, due_only_minutes=interval_minutes, triggered_by="scheduler",
                options=options_factory() if options_factory else None,
            )  # fmt: skip
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


def build_scheduler(engine: Engine, vault: Vault, *, scheduler: BlockingScheduler | None = None, first_run_now: bool = True) -> BlockingScheduler:
    from datetime import datetime

    scheduler = scheduler or BlockingScheduler(timezone="UTC")
    with db.session_scope(engine) as session:
        sites = [(s.code, s.poll_interval_minutes) for s in session.execute(select(Site).order_by(Site.code)).scalars()]
    for code, minutes in sites:
        if not minutes:
            continue  # an interval of 0 turns scheduled polling off for the site
        scheduler.add_job(
            poll_site_job,
            IntervalTrigger(minutes=minutes),
            args=(engine, vault, code, minutes),
            id=f"poll:{code}",
            name=f"poll {code}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(60, minutes * 30),
            replace_existing=True,
            next_run_time=datetime.now(UTC) if first_run_now else None,
        )

    def listen(event) -> None:
        if event.code == EVENT_JOB_ERROR:
            log.error("job %s failed: %s", event.job_id, event.exception)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run time", event.job_id)
        else:
            result = event.retval
            if result is not None:
                log.info("job %s: scan run #%s %s %s", event.job_id, result.scan_run_id, result.status, result.summary)

    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler
