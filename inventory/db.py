"""Engine, sessions and schema upgrades. The schema is owned by alembic, never create_all."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, inspect, make_url
from sqlmodel import Session, create_engine

from inventory.revision import TABLE, bump

MIGRATIONS = Path(__file__).with_name("migrations")


# How long a statement waits for another connection's write lock on SQLite (WAL: readers never
# wait) before "database is locked": short enough that a web request answers 503 rather than hang.
SQLITE_BUSY_TIMEOUT_SECONDS = 10.0
# How long opening a PostgreSQL connection may take (an unreachable server must not hang requests).
PG_CONNECT_TIMEOUT_SECONDS = 10


def private_sqlite_file(url: str) -> None:
    """The database file (and its WAL and shared-memory files, which SQLite creates with the
    file's own mode) is readable by its owner only, whatever the umask of the process that opens
    it first: a bench, a WSGI server or a test, not only the `kiemke` command."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    path = Path(path)
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # an empty file is an empty database
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):  # missing, or another user's: nothing to tighten here
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)


def make_engine(url: str, *, busy_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout})

        @event.listens_for(engine, "do_connect")
        def _private_file(_dialect, _record, _cargs, _cparams) -> None:
            private_sqlite_file(url)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    connect_args = {} if "connect_timeout" in url else {"connect_timeout": PG_CONNECT_TIMEOUT_SECONDS}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config(url)
    with engine_for(url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if inspect(connection).has_table(TABLE):
            bump(connection)  # a migration may change data: running processes must not trust their caches


def current_revision(url: str) -> str | None:
    with engine_for(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commit on success, roll back everything on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
