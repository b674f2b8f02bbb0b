"""`kiemke worker`: a procrastinate worker on kiemke's queues, and the watch over stalled jobs.

Every worker sends a heartbeat (`heartbeat` seconds). A worker killed mid-job (kill -9, power
cut, OOM) leaves its jobs `doing` with a heartbeat that stops; every running worker looks for
such jobs every `heartbeat` seconds and puts a job back in the queue once its worker has been
silent for `stalled_after` seconds, where any worker takes it (`lock` still keeps a device to one
worker at a time). A job that has stalled its workers `MAX_STALLED_RETRIES` times (a device that
crashes whoever polls it) is failed instead, so it cannot take the workers down one by one.
Jobs themselves are written to run again safely (collectors.work.polls).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from collectors.work.queue import build_app

log = logging.getLogger("kiemke.worker")

MAX_STALLED_RETRIES = 3
DEFAULT_STALLED_AFTER = 60.0


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 4
    queues: tuple[str, ...] = ()  # () = every queue
    stalled_after: float = DEFAULT_STALLED_AFTER  # seconds without a heartbeat before a worker counts as dead
    name: str | None = None

    @property
    def heartbeat(self) -> float:
        return max(0.5, self.stalled_after / 6)


async def retry_stalled_jobs(app, stalled_after: float) -> list[int]:
    """Put the jobs of workers silent for `stalled_after` seconds back in the queue; their ids."""
    from procrastinate.exceptions import ConnectorException, UniqueViolation
    from procrastinate.jobs import Status

    retried = []
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            if job.attempts >= MAX_STALLED_RETRIES:
                await app.job_manager.finish_job_by_id_async(job.id, status=Status.FAILED, delete_job=False)
                log.error("job #%s (%s) failed: its worker died %s times running it", job.id, job.task_name, job.attempts + 1)
                continue
            try:
                await app.job_manager.retry_job(job)
            except UniqueViolation:
                # The same work is queued anew already (its queueing lock): this copy is dropped.
                await app.job_manager.finish_job_by_id_async(job.id, status=Status.FAILED, delete_job=False)
                log.warning("stalled job #%s (%s) dropped: the same work is queued again", job.id, job.task_name)
                continue
        except ConnectorException as exc:  # another worker retried it first
            log.info("stalled job #%s not retried: %s", job.id, type(exc).__name__)
            continue
        log.warning("job #%s (%s) retried: its worker stopped sending heartbeats", job.id, job.task_name)
        retried.append(job.id)
    return retried


async def _watch_stalled(app, options: WorkerOptions) -> None:
    while True:
        try:
            await retry_stalled_jobs(app, options.stalled_after)
        except Exception:  # a lost connection: the next round tries again
            log.exception("stalled jobs not checked")
        await asyncio.sleep(options.heartbeat)


async def _run(app, options: WorkerOptions) -> None:
    async with app.open_async():
        watch = asyncio.create_task(_watch_stalled(app, options), name="stalled-jobs")
        try:
            await app.run_worker_async(
                concurrency=options.concurrency,
                queues=list(options.queues) or None,
                name=options.name,
                update_heartbeat_interval=options.heartbeat,
                stalled_worker_timeout=options.stalled_after,
                delete_jobs="successful",  # done jobs go; failed ones stay to be read
            )
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)


def run_worker(url: str, options: WorkerOptions) -> None:
    """Run until SIGINT/SIGTERM (running jobs are finished first)."""
    app = build_app(url, pool_size=options.concurrency + 2)
    asyncio.run(_run(app, options))


def queue_names(queues: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(q.strip() for q in queues if q.strip()))
