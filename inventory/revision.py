"""The data revision: one number that any committed change to the inventory moves forward.

Derived views (the overview, the procurement plan, the device list's counts) are costly on a
large fleet and change only when the data does. Every engine kiemke makes (web, CLI, scheduler)
notes the INSERT, UPDATE and DELETE statements it sends and, if any touched a tracked table,
bumps the revision inside the same transaction, just before COMMIT. The new number therefore
becomes visible together with the data it stands for, whichever process wrote it, and a reader
that reads the revision before the data never pairs a new number with old data.

An UPDATE that only moves when-seen columns (VOLATILE: what every poll and check writes) does
not count: no cached view may show those columns. Changes made outside kiemke (by hand in
psql) do not bump it; RevisionCache's max_age covers them.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

TABLE = "data_revision"
CHANGED = "kiemke.revision.changed"
AUTOCOMMITTED = "kiemke.revision.autocommitted"
MIGRATING = "kiemke.revision.migrating"  # set by db.upgrade: the table may not exist yet

# Tables no cached view reads: writing them (a sign-in, an audit entry, a scan's log) leaves the
# revision alone, so caches are not thrown away by activity that cannot change them.
UNTRACKED = frozenset({
    TABLE, "alembic_version", "app_user", "audit_log", "credential", "scan_run", "scan_outcome",
    "observation", "mac_sighting", "config_snapshot", "interface",
})  # fmt: skip

# Any INSERT/UPDATE/DELETE (and REPLACE, MERGE, TRUNCATE) anywhere in a statement: after a
# comment, inside a WITH, as the statement itself (`FOR UPDATE`, `DO UPDATE` and `ON UPDATE` name
# no table). A false match only costs a needless bump; a missed one would serve stale views.
_DML = re.compile(
    r"(?:\bINSERT\s+(?:OR\s+\w+\s+)?INTO|\bREPLACE\s+INTO|\bMERGE\s+INTO|(?<!FOR\s)(?<!DO\s)(?<!ON\s)\bUPDATE(?:\s+OR\s+\w+)?"
    r"|\bDELETE\s+FROM|\bTRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?[\"`]?(\w+)",
    re.IGNORECASE,
)
_BUMP = f"UPDATE {TABLE} SET n = n + 1 WHERE id = 1"

T = TypeVar("T")


def written_tables(statement: str) -> set[str]:
    """The tables a statement may write, lower case (empty for a plain read)."""
    return {match.group(1).lower() for match in _DML.finditer(statement)}


# Columns that polls and checks move on every run and that no cached view shows (keep it so):
# an UPDATE setting only these leaves the revision, or the scheduler would void every cache
# with each poll of a site although nothing shown had changed.
VOLATILE = {
    "device": frozenset({"last_seen", "last_polled", "first_seen", "reachable"}),
    "finding": frozenset({"last_seen"}),
}
_PLAIN_UPDATE = re.compile(r"\s*UPDATE\s+[\"`]?(\w+)[\"`]?\s+SET\s+(.*?)\s+WHERE\s", re.IGNORECASE | re.DOTALL)
_PYFORMAT = re.compile(r"%\(\w+\)s")  # psycopg's placeholders, not parentheses
_ASSIGNED = re.compile(r"[\"`]?(\w+)[\"`]?\s*=")


def writes_tracked(statement: str) -> bool:
    tables = {table for table in written_tables(statement) if table not in UNTRACKED}
    if not tables:
        return False
    update = _PLAIN_UPDATE.match(statement)
    if update is None:
        return True
    table, assignments = update.group(1).lower(), _PYFORMAT.sub("?", update.group(2))
    if tables != {table} or table not in VOLATILE or "(" in assignments:
        return True  # not one plain UPDATE of a table with volatile columns (a subquery could hide its own WHERE)
    # Every name followed by "=" in the SET list (a value holding "=" adds names, which can
    # only answer "tracked").
    return not {name.lower() for name in _ASSIGNED.findall(assignments)} <= VOLATILE[table]


def bump(connection: Connection) -> None:
    """Move the revision on inside `connection`'s transaction (for writers the hooks cannot see)."""
    connection.exec_driver_sql(_BUMP)


def track_changes(engine: Engine) -> None:
    """Make `engine` bump the revision in every transaction that writes a tracked table."""

    @event.listens_for(engine, "before_cursor_execute")
    def _note(conn: Connection, _cursor, statement: str, _parameters, _context, _executemany) -> None:
        if conn.info.get(CHANGED) or not writes_tracked(statement):
            return
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            conn.info[AUTOCOMMITTED] = True  # no COMMIT will come: bump right after the statement
        else:
            conn.info[CHANGED] = True

    @event.listens_for(engine, "after_cursor_execute")
    def _bump_now(conn: Connection, cursor, _statement, _parameters, _context, _executemany) -> None:
        if conn.info.pop(AUTOCOMMITTED, False):
            cursor.execute(_BUMP)

    @event.listens_for(engine, "commit")
    def _bump(conn: Connection) -> None:
        # Runs just before COMMIT, on the DBAPI connection: the bump joins the same transaction.
        if conn.info.pop(CHANGED, False) and not conn.info.get(MIGRATING):
            cursor = conn.connection.cursor()
            try:
                cursor.execute(_BUMP)
            finally:
                cursor.close()

    @event.listens_for(engine, "rollback")
    def _forget(conn: Connection) -> None:
        conn.info.pop(CHANGED, None)

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record) -> None:
        # The pool rolls back what a checkout left open without telling `rollback` above; the
        # info dict stays with the pooled connection, so the mark must not outlive the checkout.
        record.info.pop(CHANGED, None)


def current(session: Session) -> int | None:
    """The revision as this session sees it; None if its row is missing (nothing is cached then)."""
    return session.execute(text(f"SELECT n FROM {TABLE} WHERE id = 1")).scalar_one_or_none()


class RevisionCache:
    """Values computed from the database, kept per process until the revision moves on.

    One computation per key at a time: requests that arrive while a value is being computed
    wait for it instead of computing it again (ten clients on a cold overview cost one
    computation, not ten). `max_age` bounds how long a value lives anyway, for changes made
    outside kiemke.
    """

    def __init__(self, max_entries: int = 128, max_age: float = 600.0):
        self.max_entries = max_entries
        self.max_age = max_age
        self._entries: OrderedDict[Hashable, tuple[int, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self.computed = 0  # how many times a value was computed (tests and benchmarks read it)

    def get(self, session: Session, key: Hashable, compute: Callable[[], T]) -> T:
        revision = current(session)
        if revision is None:
            return compute()
        hit = self._fresh(key, revision)
        if hit is not None:
            return hit[0]
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            hit = self._fresh(key, revision)
            if hit is not None:
                return hit[0]
            try:
                value = compute()
            except BaseException:
                with self._lock:
                    if key not in self._entries:
                        self._key_locks.pop(key, None)
                raise
            with self._lock:
                self.computed += 1
                now = time.monotonic()
                self._entries[key] = (revision, now, value)
                self._entries.move_to_end(key)
                # Old values go as new ones come (yesterday's plan, a search made an hour ago).
                for old in [k for k, entry in self._entries.items() if now - entry[1] > self.max_age]:
                    del self._entries[old]
                    self._key_locks.pop(old, None)
                while len(self._entries) > self.max_entries:
                    old, _ = self._entries.popitem(last=False)
                    self._key_locks.pop(old, None)
        return value

    def _fresh(self, key: Hashable, revision: int) -> tuple[Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            # Only the very revision: a lower number than before (a restored backup) is no
            # proof that nothing changed.
            if entry is None or entry[0] != revision or time.monotonic() - entry[1] > self.max_age:
                return None
            self._entries.move_to_end(key)
            return (entry[2],)
