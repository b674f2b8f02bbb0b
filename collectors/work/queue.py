"""kiemke's one procrastinate App, and how work is put on its queue.

The hub scales out on the PostgreSQL server it already needs: procrastinate keeps its jobs in
tables of that database (no broker to run and secure), workers fetch them with
`FOR UPDATE SKIP LOCKED`, and a job is enqueued in the same transaction as the data that calls
for it (`defer_in_transaction`: procrastinate's own SQL function on the caller's connection), so
a rolled-back transaction leaves no job behind and a committed one never lacks its job.

On SQLite there is no queue: the same job functions run in the scheduler's or the server's
process, as they always did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, inspect, make_url, text
from sqlmodel import Session

NAMESPACE = "kiemke"  # task names are "kiemke:<name>"
JOBS_TABLE = "procrastinate_jobs"

# Queues, so a machine can run workers for one kind of work (`kiemke worker --queue poll`).
POLL_QUEUE = "poll"
EVALUATE_QUEUE = "evaluate"
DISCOVER_QUEUE = "discover"
INGEST_QUEUE = "ingest"
QUEUES = (POLL_QUEUE, EVALUATE_QUEUE, DISCOVER_QUEUE, INGEST_QUEUE)

NEEDS_POSTGRES = "workers need PostgreSQL; on SQLite jobs run in the serve/scheduler process"


class JobsUnavailable(RuntimeError):
    """Workers asked for where there is no queue (SQLite, or the queue's tables are missing)."""


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def to_workers(engine: Engine) -> bool:
    """True when this process hands its work (evaluations after a change, discoveries, agent
    files) to `kiemke worker`: KIEMKE_JOBS=workers on PostgreSQL. Read from the environment each
    time it is asked (the process's setting), never guessed from the database alone: a
    PostgreSQL hub without workers keeps working in process. On SQLite the setting changes nothing."""
    from inventory.settings import Settings

    return engine.dialect.name == "postgresql" and Settings().jobs == "workers"


def conninfo(url: str) -> str:
    """libpq's connection string for SQLAlchemy's `postgresql+psycopg://...` URL (a libpq URI
    accepts the same user, password, host, port, database and query options)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise JobsUnavailable(NEEDS_POSTGRES)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def task_name(name: str) -> str:
    return f"{NAMESPACE}:{name}"


@lru_cache(maxsize=4)
def build_app(url: str, *, pool_size: int = 4):
    """The procrastinate App for the database at `url`, with kiemke's tasks (collectors.work.tasks)."""
    import procrastinate

    from collectors.work.tasks import blueprint

    connector = procrastinate.PsycopgConnector(conninfo=conninfo(url), min_size=1, max_size=max(2, pool_size))
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(blueprint, namespace=NAMESPACE)
    return app


# -- schema --------------------------------------------------------------------------------------


def has_queue(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql" and inspect(connection).has_table(JOBS_TABLE)


def ensure_schema(engine: Engine) -> bool:
    """Apply procrastinate's schema (its tables, types and functions) once, after alembic's
    migrations: True when it was applied now. A no-op on SQLite and when it is there already.
    procrastinate owns that schema; its upgrades are procrastinate's migrations (see the
    README's worker notes), never kiemke's alembic chain."""
    if engine.dialect.name != "postgresql":
        return False
    from procrastinate.schema import SchemaManager

    with engine.begin() as connection:
        # One `kiemke init` at a time: a second one waits here, then finds the tables.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('kiemke:procrastinate-schema'))"))
        if has_queue(connection):
            return False
        # On the driver's cursor, without parameters: the schema's own `%` are not placeholders.
        with connection.connection.cursor() as cursor:
            cursor.execute(SchemaManager.get_schema())
    return True


def require_queue(engine: Engine) -> None:
    """Refuse, with the reason, when jobs cannot be queued in this database."""
    if engine.dialect.name != "postgresql":
        raise JobsUnavailable(NEEDS_POSTGRES)
    with engine.connect() as connection:
        if not has_queue(connection):
            raise JobsUnavailable("the job queue's tables are missing: run `kiemke init`")


# -- enqueueing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobToDefer:
    task: str  # the short name ("poll_device"); the namespace is added here
    args: dict[str, Any]
    queue: str = "default"
    lock: str | None = None  # jobs with the same lock never run at once
    queueing_lock: str | None = None  # at most one job with it waits in the queue
    priority: int = 0


# procrastinate's own function (schema.sql: procrastinate_defer_jobs_v1), fed a JSON array so
# that one statement enqueues any number of jobs.
_DEFER_SQL = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY(
        SELECT ROW(j.queue_name, j.task_name, j.priority, j.lock, j.queueing_lock, j.args, NULL)::procrastinate_job_to_defer_v1
        FROM jsonb_to_recordset(CAST(:jobs AS jsonb))
             AS j(queue_name varchar, task_name varchar, priority integer, lock text, queueing_lock text, args jsonb)
    ))) AS id
    """
)


def defer_many_in_transaction(session: Session, jobs: list[JobToDefer]) -> list[int]:
    """Enqueue `jobs` in `session`'s transaction: they exist once it commits, never if it rolls
    back. A queueing lock already waiting in the queue fails the statement (and so the caller's
    transaction): callers that may meet one leave those jobs out first (`queued_locks`)."""
    if not jobs:
        return []
    rows = [
        {"queue_name": j.queue, "task_name": task_name(j.task), "priority": j.priority, "lock": j.lock, "queueing_lock": j.queueing_lock, "args": j.args}
        for j in jobs
    ]  # fmt: skip
    return list(session.execute(_DEFER_SQL, {"jobs": json.dumps(rows)}).scalars())


def defer_in_transaction(session: Session, task: str, args: dict[str, Any], *, lock: str | None = None, queueing_lock: str | None = None, queue: str = "default",
                         priority: int = 0) -> int:  # fmt: skip
    """Enqueue one job in `session`'s transaction; its id."""
    return defer_many_in_transaction(session, [JobToDefer(task, args, queue, lock, queueing_lock, priority)])[0]


def queued_locks(session: Session, locks: list[str]) -> set[str]:
    """Which of these queueing locks a job holds that is waiting or running."""
    if not locks:
        return set()
    found = session.execute(
        text("SELECT queueing_lock FROM procrastinate_jobs WHERE status IN ('todo', 'doing') AND queueing_lock = ANY(:locks)"), {"locks": locks}
    )  # fmt: skip
    return set(found.scalars())
