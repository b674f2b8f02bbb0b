"""The data revision: one number that any committed change to the inventory moves forward.

Derived views (the overview, the procurement plan, the device list's counts) are costly on a
large fleet and change only when the data does. Triggers in the database move the revision
whenever a tracked table is written, whoever writes it (web, CLI, scheduler, or someone in
psql), inside the writing transaction: the new number becomes visible together with the data
it stands for, and a reader that reads the revision before the data never pairs a new number
with old data.

- PostgreSQL: statement-level triggers note that the transaction wrote by inserting its
  placeholder row (once); a deferred constraint trigger on that row moves the revision on at
  COMMIT and removes it. The revision row is thus locked only while
  committing, as two writers must not wait on each other for their whole transactions (nor
  deadlock), and a transaction moves it on by one.
- SQLite has only row-level triggers: each written row moves it on (one writer at a time
  holds the whole database anyway).

An UPDATE that only sets when-seen columns (WHEN_SEEN: what every poll and check writes) does
not count: no cached view may show those columns. A migration that adds a tracked table, adds
a column to one or rebuilds one (SQLite's batch_alter_table drops a table's triggers) ends
with `install_triggers(op.get_bind())`; tests/inventory/test_revision.py checks every table.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

TABLE = "data_revision"

# Tables no cached view reads: writing them (a sign-in, an audit entry, a scan's log) leaves the
# revision alone, so caches are not thrown away by activity that cannot change them.
UNTRACKED = frozenset({
    TABLE, "alembic_version", "app_user", "audit_log", "credential", "scan_run", "scan_outcome",
    "observation", "mac_sighting", "config_snapshot", "interface",
    "event", "notification_channel", "event_delivery",  # the feed is read fresh, never cached
    "agent_account", "agent_machine",  # agents' accounts and last reports: read fresh; their facts are observations
    "revoked_session",  # read at every signed-in request, never cached
    "saved_filter", "list_columns",  # one user's list settings: read fresh, never cached
    "plan_scenario",  # what-if scenarios: plans fitted to one are cached per its version, not per revision
    # collectors (collectors/fleet): their status is read fresh; what a batch carries reaches the
    # tracked tables through the ordinary reconciliation, which moves the revision itself
    "collector", "collector_batch", "collector_identity", "outbox_entry",
})  # fmt: skip

# Columns that polls and checks move on every run and that no cached view shows (keep it so):
# an UPDATE setting only these leaves the revision, or the scheduler would void every cache
# with each poll of a site although nothing shown had changed.
WHEN_SEEN = {
    "device": frozenset({"last_seen", "last_polled", "first_seen", "reachable"}),
    "finding": frozenset({"last_seen"}),
    "device_compliance": frozenset({"evaluated_at", "data_as_of"}),  # a state re-confirmed on newer data
}

_BUMP = f"UPDATE {TABLE} SET n = n + 1 WHERE id = 1"  # noqa: S608 (table and column names from the schema, never user input)
_CLAIM = f"UPDATE {TABLE} SET n = n WHERE id = 1"  # noqa: S608 (the same)
_SQLITE_TRIGGER_PREFIX = f"{TABLE}_on_"

# PostgreSQL: a transaction's first tracked write inserts its placeholder row (id = minus the
# backend's pid: unique among open transactions); later writes find it there and do nothing.
# At COMMIT the deferred trigger on that row moves the revision on and removes the placeholder.
_PG_FUNCTIONS = (
    f"""CREATE FUNCTION {TABLE}_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} (id, n) VALUES (-pg_backend_pid(), 0) ON CONFLICT (id) DO NOTHING;
    RETURN NULL;
END $$""",  # noqa: S608 (table names from the schema, never user input)
    f"""CREATE FUNCTION {TABLE}_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TABLE} WHERE id = NEW.id;
    {_BUMP};
    RETURN NULL;
END $$""",  # noqa: S608 (table names from the schema, never user input)
    f"""CREATE CONSTRAINT TRIGGER {TABLE}_at_commit AFTER INSERT ON {TABLE}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.id < 0) EXECUTE FUNCTION {TABLE}_bump()""",
)

T = TypeVar("T")


def install_triggers(connection: Connection) -> None:
    """(Re)create the triggers on every tracked table as it now stands in the database.

    Tracked: every table but UNTRACKED; on those with WHEN_SEEN columns an UPDATE counts only if
    it sets one of the other columns (`UPDATE OF`, read from the table itself).
    """
    drop_triggers(connection)
    schema = inspect(connection)
    quote = connection.dialect.identifier_preparer.quote
    postgres = connection.dialect.name == "postgresql"
    for statement in _PG_FUNCTIONS if postgres else ():
        connection.exec_driver_sql(statement)
    for table in sorted(set(schema.get_table_names()) - UNTRACKED):
        update = "UPDATE"
        if table in WHEN_SEEN:
            shown = [column["name"] for column in schema.get_columns(table) if column["name"] not in WHEN_SEEN[table]]
            update = f"UPDATE OF {', '.join(quote(name) for name in shown)}"
        if postgres:
            connection.exec_driver_sql(f"CREATE TRIGGER {TABLE} AFTER INSERT OR {update} OR DELETE OR TRUNCATE ON {quote(table)} FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_note()")
            continue
        for event in ("INSERT", update, "DELETE"):  # SQLite: one trigger per event, row by row
            name = quote(f"{_SQLITE_TRIGGER_PREFIX}{table}_{event.split()[0].lower()}")
            connection.exec_driver_sql(f"CREATE TRIGGER {name} AFTER {event} ON {quote(table)} BEGIN {_BUMP}; END")


def drop_triggers(connection: Connection) -> None:
    """Remove every trigger install_triggers made: writes no longer move the revision."""
    if connection.dialect.name == "postgresql":
        # The per-table triggers and the deferred one depend on these functions and go with them.
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {TABLE}_note() CASCADE")
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {TABLE}_bump() CASCADE")
        return
    names = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, ?) = ?",
        (len(_SQLITE_TRIGGER_PREFIX), _SQLITE_TRIGGER_PREFIX),
    ).scalars()
    for name in list(names):
        connection.exec_driver_sql(f"DROP TRIGGER {connection.dialect.identifier_preparer.quote(name)}")


def bump(connection: Connection) -> None:
    """Move the revision on inside `connection`'s transaction (after a migration, which may change data)."""
    connection.exec_driver_sql(_BUMP)


def claim_writes(session: Session) -> None:
    """Take the write lock now, for a unit of work that plans its writes from what it reads (an
    import decides create or update from the recorded devices): a concurrent one waits here for
    this one's commit instead of planning the same creates. The revision row is the lock (a row
    lock until commit on PostgreSQL, the database's write lock on SQLite), written without moving
    it on: what the unit really writes moves the revision through the triggers, and a unit that
    finds nothing to change (an evaluation that finds all as it was) leaves the caches alone."""
    session.connection().exec_driver_sql(_CLAIM)


def current(session: Session) -> int | None:
    """The revision as this session sees it; None if its row is missing (nothing is cached then)."""
    return session.execute(text(f"SELECT n FROM {TABLE} WHERE id = 1")).scalar_one_or_none()  # noqa: S608 (table and column names from the schema, never user input)


class RevisionCache:
    """Values computed from the database, kept per process until the revision moves on.

    One computation per key at a time: requests that arrive while a value is being computed
    wait for it instead of computing it again (ten clients on a cold overview cost one
    computation, not ten). `max_age` bounds how long a value lives anyway, should a change ever
    slip past the triggers (a table rebuilt by hand without them).
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
