"""kiemke's jobs as procrastinate tasks: thin wrappers over the functions the CLI, the web UI
and the scheduler already call, so a job does on a worker exactly what it does in process.

Every task is named `kiemke:<function>` (collectors.work.queue.build_app adds the namespace).
Arguments are plain JSON (ids, codes, paths); each worker process opens its own engine and
credential vault from its settings (DATABASE_URL, KIEMKE_HOME's credential.key).

Retries: a job that fails on a transient database error (connection lost, a deadlock, the
server restarting) is tried again, a bounded number of times with a growing wait; any other
failure is final and the job stays `failed` in the queue for an admin to read. A worker that
dies mid-job is another matter: its jobs are retried once its heartbeat is stale
(collectors.work.worker).
"""

from __future__ import annotations

import logging
from functools import lru_cache

import procrastinate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from collectors.work.queue import DISCOVER_QUEUE, EVALUATE_QUEUE, INGEST_QUEUE, POLL_QUEUE
from inventory import db

log = logging.getLogger("kiemke.work")

blueprint = procrastinate.Blueprint()

TRANSIENT = (OperationalError, InterfaceError)
# 3 tries in all, 3 s then 9 s apart (procrastinate: exponential_wait ** (attempts + 1)). A stalled job's
# retry (collectors.work.worker) counts as an attempt too.
RETRY_TRANSIENT = procrastinate.RetryStrategy(max_attempts=2, exponential_wait=3, retry_exceptions=set(TRANSIENT))
# Two evaluations of overlapping scopes may race for the same finding: the loser evaluates again.
RETRY_EVALUATION = procrastinate.RetryStrategy(max_attempts=2, exponential_wait=3, retry_exceptions={*TRANSIENT, IntegrityError})


@lru_cache(maxsize=1)
def runtime():
    """This worker process's engine and credential vault."""
    from inventory.crypto import Vault
    from inventory.settings import Settings

    settings = Settings()
    return db.engine_for(settings.db_url), Vault(settings.credential_key)


@blueprint.task(name="poll_device", queue=POLL_QUEUE, retry=RETRY_TRANSIENT)
def poll_device(run_id: int, device_id: int) -> str:
    from collectors.work.polls import poll_device as poll_one

    engine, vault = runtime()
    done = poll_one(engine, vault, run_id, device_id)
    return f"{done.status}{', run finished' if done.run_finished else ''}"


@blueprint.task(name="evaluate_run", queue=EVALUATE_QUEUE, retry=RETRY_EVALUATION)
def evaluate_run(run_id: int) -> str | None:
    """The devices a finished run reached or tried, and their sites, evaluated."""
    from inventory.models import Device, ScanOutcome, ScanRun

    engine, _ = runtime()
    with db.session_scope(engine) as session:
        run = session.get(ScanRun, run_id)
        if run is None:
            return None
        rows = session.execute(select(ScanOutcome.device_id, Device.site_id).join(Device, Device.id == ScanOutcome.device_id).where(ScanOutcome.scan_run_id == run_id)).all()
        kind, actor = run.kind, run.triggered_by or "worker"
    line = evaluate_here(engine, {d for d, _ in rows}, {s for _, s in rows if s is not None}, trigger=kind, actor=actor)
    log.info("scan run #%s: %s", run_id, line)
    return line


@blueprint.task(name="evaluate_scope", queue=EVALUATE_QUEUE, retry=RETRY_EVALUATION)
def evaluate_scope(device_ids: list[int], site_ids: list[int], trigger: str, actor: str) -> str | None:
    """Whatever a committed change touched, evaluated (enqueued by collectors.work.evaluations)."""
    engine, _ = runtime()
    return evaluate_here(engine, device_ids, site_ids, trigger=trigger, actor=actor)


def evaluate_here(engine, device_ids, site_ids, *, trigger: str, actor: str) -> str | None:
    """Compliance's evaluation in this process, called directly: never through the change
    listeners, which with KIEMKE_JOBS=workers would only enqueue this job again. Nothing touched,
    nothing evaluated (both scopes empty would mean the whole fleet)."""
    from compliance.evaluation import evaluate_scope as evaluate
    from inventory.changes import ChangeOutcome

    if not device_ids and not site_ids:
        return None
    summary = evaluate(engine, device_ids=sorted(device_ids) or None, site_ids=sorted(site_ids) or None, trigger=trigger, actor=actor)
    return ChangeOutcome(summaries=[summary]).line()


@blueprint.task(name="evaluate_fleet", queue=EVALUATE_QUEUE, retry=RETRY_EVALUATION, queueing_lock="evaluate:fleet", lock="evaluate:fleet")
def evaluate_fleet() -> dict | None:
    """The daily evaluation of the whole fleet, then the day's trend point (the scheduler's job)."""
    from collectors.scheduler import daily_evaluation_job

    engine, _ = runtime()
    return daily_evaluation_job(engine)


@blueprint.task(name="discover_site", queue=DISCOVER_QUEUE, retry=RETRY_TRANSIENT)
def discover_site(run_id: int) -> dict | None:
    """A discovery run queued by the CLI or the web (collectors.work.discoveries), carried out."""
    from collectors.work.discoveries import discover_queued

    engine, vault = runtime()
    result = discover_queued(engine, vault, run_id)
    return None if result is None else {"scan_run": result.scan_run_id, "status": result.status, "evaluation": result.evaluation}


@blueprint.task(name="ingest_agent_files", queue=INGEST_QUEUE, retry=RETRY_TRANSIENT)
def ingest_agent_files(paths: list[str], account: str, actor: str, names: list[str] | None = None) -> dict:
    """Agent inventory files (on storage every worker of this queue reaches: collectors.work.agent_files) imported."""
    from collectors.work.agent_files import ingest
    from inventory.settings import Settings

    engine, _ = runtime()
    return ingest(engine, Settings().home, paths, account=account, actor=actor, names=names)


@blueprint.task(name="apply_collector_batch", queue=INGEST_QUEUE, retry=RETRY_TRANSIENT)
def apply_collector_batch(batch_id: int):
    """A collector's received batch applied (once: the apply is idempotent by collector and number)."""
    from collectors.fleet.apply import apply_received

    engine, _ = runtime()
    return apply_received(engine, batch_id)
