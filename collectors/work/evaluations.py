"""The evaluation after a committed change, as jobs for `kiemke worker` (KIEMKE_JOBS=workers on
PostgreSQL): one `evaluate_scope` job per site the change touched, each with that site's lock
(`evaluate:site:<id>`, as a finished poll run's evaluation takes), so evaluations of one site
run one at a time and in order while other sites' run beside them.

Where the change is announced with `changed_on_commit` (web edits, adoption) the jobs are
enqueued in the change's own transaction (`enqueue_change` on its session, just before the
commit): a rolled-back change leaves no job. Where it is announced after its commit with
`changed` (imports, polls, discoveries, agent reports, collector batches) they are enqueued in a
short transaction of their own right after: that commit happened in code that knows nothing of
the queue (the inventory and collector services run the same on SQLite), so there is no earlier
transaction to join.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from collectors.work.queue import EVALUATE_QUEUE, JobToDefer, defer_many_in_transaction
from compliance.engine import id_batches
from inventory import db
from inventory.changes import COVERED, QUEUED, Change
from inventory.models import Device

EVALUATE_SCOPE_TASK = "evaluate_scope"


def evaluation_lock(site_id: int) -> str:
    return f"evaluate:site:{site_id}"


def waiting_site_lock(site_id: int) -> str:
    """The queueing lock of a whole site's evaluation: at most one waits per site."""
    return f"evaluate:site-waiting:{site_id}"


def evaluation_jobs(session: Session, change: Change, *, coalesce: bool = False) -> list[JobToDefer]:
    """One job per site: the change's devices now in that site, and the site when the change
    named it. Devices no longer in the inventory (deleted) go in one job without a site lock.
    `coalesce`: a job that evaluates a whole site (every device of it) takes the site's waiting
    lock, so a second one while the first still waits is not needed (see enqueue_committed_change)."""
    by_site: dict[int | None, set[int]] = defaultdict(set)
    found: set[int] = set()
    for batch in id_batches(change.device_ids):
        for device_id, site_id in session.execute(select(Device.id, Device.site_id).where(Device.id.in_(batch))):
            by_site[site_id].add(device_id)
            found.add(device_id)
    if change.device_ids - found:
        by_site[None].update(change.device_ids - found)
    for site_id in change.site_ids:
        by_site.setdefault(site_id, set())
    jobs = []
    for site_id in sorted(by_site, key=lambda s: (s is None, s or 0)):
        whole_site = site_id in change.site_ids
        args = {"device_ids": sorted(by_site[site_id]), "site_ids": [site_id] if whole_site else [], "trigger": change.trigger, "actor": change.actor}
        waiting = waiting_site_lock(site_id) if coalesce and whole_site else None
        jobs.append(JobToDefer(EVALUATE_SCOPE_TASK, args, queue=EVALUATE_QUEUE, lock=evaluation_lock(site_id) if site_id is not None else None, queueing_lock=waiting))
    return jobs


def enqueue_change(session: Session, change: Change) -> dict:
    """The change's evaluation jobs, enqueued in `session`'s transaction; the listener's summary."""
    ids = defer_many_in_transaction(session, evaluation_jobs(session, change))
    return {QUEUED: len(ids), "jobs": ids}


def _waiting(session: Session, locks: list[str]) -> set[str]:
    """Of these queueing locks, those a job holds that has not started yet."""
    if not locks:
        return set()
    found = session.execute(text("SELECT queueing_lock FROM procrastinate_jobs WHERE status = 'todo' AND queueing_lock = ANY(:locks)"), {"locks": locks})
    return set(found.scalars())


def enqueue_committed_change(engine: Engine, change: Change) -> dict:
    """A change already committed elsewhere: its jobs in a short transaction of their own.

    A whole site's evaluation that still waits in the queue covers this change too (it will read
    the site as it is when it starts, this change included), so none is added beside it: a poll
    cycle whose batches of one site arrive one after another costs about one evaluation of the
    site, not one per batch. One that has started may have read the site before this change, so a
    new one waits behind it. Two transactions adding the same waiting job at once: the queue's
    unique lock refuses one, which then finds the other's job waiting."""
    for attempt in range(3):
        try:
            with db.session_scope(engine) as session:
                jobs = evaluation_jobs(session, change, coalesce=True)
                waiting = _waiting(session, [j.queueing_lock for j in jobs if j.queueing_lock])
                ids = defer_many_in_transaction(session, [j for j in jobs if j.queueing_lock not in waiting])
                return {QUEUED: len(ids), "jobs": ids, COVERED: len(waiting)}
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
