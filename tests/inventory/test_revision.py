"""The data revision moves on with every committed change to a tracked table, in the same
transaction, whichever engine (process) made it; RevisionCache keeps values until it does."""

from __future__ import annotations

import gc
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlmodel import Session

from inventory import db, revision
from inventory.audit import record
from inventory.models import AuditLog, Device, Finding, Site
from inventory.revision import RevisionCache, written_tables
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db
NOW = datetime(2026, 11, 22, tzinfo=timezone.utc)


def rev(engine) -> int | None:
    with Session(engine) as session:
        return revision.current(session)


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ("INSERT INTO device (hostname) VALUES (?)", "device"),
        ('INSERT INTO "finding" (rule_id) VALUES (%(rule_id)s)', "finding"),
        ("insert or replace into site (code) values (?)", "site"),
        ("  UPDATE device SET notes=? WHERE device.id = ?", "device"),
        ("UPDATE OR IGNORE zone SET kind=?", "zone"),
        ("DELETE FROM approved_quantity WHERE id = ?", "approved_quantity"),
        ("SELECT * FROM device", None),
        ("CREATE TABLE device (id INTEGER)", None),
        ("WITH x AS (SELECT 1) SELECT * FROM x", None),
        ("/* from psql */ DELETE FROM device", "device"),
        ("WITH gone AS (DELETE FROM finding WHERE status = 'resolved' RETURNING id) SELECT count(*) FROM gone", "finding"),
        ("TRUNCATE TABLE zone", "zone"),
        ("SELECT * FROM device WHERE id = 1 FOR UPDATE", None),
        ("INSERT INTO audit_log (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET actor = 'x'", "audit_log"),
        ("SELECT device.updated_at FROM device", None),
    ],
)
def test_the_written_table_is_read_from_the_statement(statement, table):
    assert written_tables(statement) == ({table} if table else set())


def test_a_committed_change_moves_the_revision_once_per_transaction(engine, session):
    before = rev(engine)
    assert before is not None
    province = make_province(session, sites=2)  # many INSERTs, one transaction
    session.commit()
    assert rev(engine) == before + 1
    device = Device(device_class="laptop", site_id=province["S1"]["site"], hostname="pc1")
    session.add(device)
    session.commit()
    assert rev(engine) == before + 2
    device.notes = "moved"
    session.add(device)
    session.commit()
    assert rev(engine) == before + 3


def test_a_rolled_back_change_leaves_the_revision(engine, session):
    make_province(session, sites=1)
    session.commit()
    before = rev(engine)
    session.add(Site(province_id=1, code="NEW", name="Mới", kind="commune"))
    session.flush()
    session.rollback()
    assert rev(engine) == before
    session.commit()  # nothing pending: the flag went with the rollback
    assert rev(engine) == before


def test_untracked_tables_and_reads_leave_the_revision(engine, session):
    before = rev(engine)
    record(session, actor="test", action="login", entity="app_user", entity_id="1")
    session.commit()
    session.execute(text("SELECT count(*) FROM device")).scalar_one()
    session.commit()
    assert session.execute(select(func.count()).select_from(AuditLog)).scalar_one() == 1
    assert rev(engine) == before


def test_core_statements_and_another_engine_move_it_too(engine, db_url, session):
    make_province(session, sites=1)
    session.commit()
    before = rev(engine)
    other = db.make_engine(db_url)  # another process's engine, in effect
    try:
        with other.begin() as conn:
            site_id = conn.execute(text("SELECT id FROM site ORDER BY id LIMIT 1")).scalar_one()
            conn.execute(insert(Device.__table__), [{"device_class": "printer", "site_id": site_id, "status": "in_use", "source": "recorded",
                                                     "notes": "", "created_at": NOW, "updated_at": NOW}] * 3)  # fmt: skip
        assert rev(engine) == before + 1  # seen by the first engine
        with other.begin() as conn:
            conn.execute(update(Device.__table__).values(status="broken"))
        assert rev(engine) == before + 2
    finally:
        other.dispose()


def test_a_migration_leaves_no_mark_on_the_pooled_connection(db_url):
    db.upgrade(db_url)
    db.upgrade(db_url)  # the same pooled connection, twice through alembic
    engine = db.engine_for(db_url)
    before = rev(engine)
    with Session(engine) as session:
        make_province(session, sites=1)
        session.commit()
    assert rev(engine) == before + 1


def test_the_cache_keeps_a_value_until_the_revision_moves(engine, session):
    cache = RevisionCache()
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert cache.get(session, "k", compute) == 1
    assert cache.get(session, "k", compute) == 1
    assert cache.get(session, ("other", 1), compute) == 2  # keys are separate
    session.commit()  # end this session's read transaction before writing in it
    make_province(session, sites=1)
    session.commit()
    assert cache.get(session, "k", compute) == 3
    assert cache.computed == 3


def test_concurrent_requests_compute_a_cold_value_once(engine):
    cache = RevisionCache()
    started = threading.Barrier(6)
    computed = []

    def slow():
        computed.append(1)
        time.sleep(0.3)
        return "value"

    results = []

    def request():
        with Session(engine) as session:
            started.wait()
            results.append(cache.get(session, "overview", slow))

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["value"] * 6
    assert len(computed) == 1


def test_values_expire_after_max_age_and_nothing_is_kept_without_the_revision_row(engine, session):
    cache = RevisionCache(max_age=0.05)
    counter = iter(range(100))
    assert cache.get(session, "k", lambda: next(counter)) == 0
    time.sleep(0.1)
    assert cache.get(session, "k", lambda: next(counter)) == 1  # a change made by hand in psql

    session.commit()
    session.execute(text("DELETE FROM data_revision"))
    session.commit()
    assert revision.current(session) is None
    assert cache.get(session, "k", lambda: next(counter)) == 2
    assert cache.get(session, "k", lambda: next(counter)) == 3  # computed every time


def test_the_cache_holds_a_bounded_number_of_values(session):
    cache = RevisionCache(max_entries=3)
    for key in range(10):
        cache.get(session, key, lambda: "v")
    assert len(cache._entries) == 3
    assert list(cache._entries) == [7, 8, 9]


def test_a_change_left_uncommitted_on_a_returned_connection_is_forgotten(engine, session):
    make_province(session, sites=1)
    session.commit()
    before = rev(engine)
    connection = engine.connect()
    connection.execute(text("UPDATE site SET name = 'bỏ dở'"))
    del connection  # dropped, not closed: the pool takes it back and rolls it back itself
    gc.collect()
    with engine.connect() as again:
        again.execute(text("SELECT 1"))
        again.commit()  # nothing written in this transaction
    assert rev(engine) == before


def test_an_autocommit_write_moves_it_at_once(engine, session):
    make_province(session, sites=1)
    session.commit()
    before = rev(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("UPDATE site SET name = 'tự động'"))
        assert rev(engine) == before + 1  # no COMMIT comes on such a connection


def test_an_upgrade_moves_it(db_url):
    db.upgrade(db_url)
    engine = db.engine_for(db_url)
    before = rev(engine)
    db.upgrade(db_url)  # a migration may have changed data
    assert rev(engine) == before + 1


def test_a_lower_revision_is_not_taken_for_no_change(engine, session):
    """After a restore the counter can go back: a value kept at a higher number is not fresh."""
    cache = RevisionCache()
    session.execute(text("UPDATE data_revision SET n = 50"))
    session.commit()
    assert cache.get(session, "k", lambda: "at 50") == "at 50"
    session.execute(text("UPDATE data_revision SET n = 3"))
    session.commit()
    assert cache.get(session, "k", lambda: "at 3") == "at 3"


def test_a_failed_computation_keeps_nothing(session):
    cache = RevisionCache()

    def broken():
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        cache.get(session, "k", broken)
    assert "k" not in cache._entries and "k" not in cache._key_locks
    assert cache.get(session, "k", lambda: "fine") == "fine"


def test_old_values_are_dropped_as_new_ones_come(session):
    cache = RevisionCache(max_age=0.05)
    cache.get(session, ("plan", "yesterday"), lambda: "old")
    time.sleep(0.1)
    cache.get(session, ("plan", "today"), lambda: "new")
    assert list(cache._entries) == [("plan", "today")]


def test_a_poll_that_changes_nothing_shown_leaves_it(engine, session):
    """The scheduler polls all day: moving only when-seen columns must not void every cache."""
    province = make_province(session, sites=1)
    device = Device(device_class="access_switch", site_id=province["S1"]["site"], hostname="sw1", vendor="Cisco")
    session.add(device)
    session.commit()
    before = rev(engine)
    now = datetime.now(timezone.utc)
    device.last_seen, device.last_polled, device.reachable = now, now, True
    session.add(device)
    session.commit()
    assert rev(engine) == before
    device.model, device.last_seen = "C9200", now + timedelta(minutes=1)  # a fact changed too
    session.add(device)
    session.commit()
    assert rev(engine) == before + 1
    findings = Finding.__table__
    session.execute(update(findings).where(findings.c.id == 1).values(last_seen=now))  # a check that found the same
    session.commit()
    assert rev(engine) == before + 1
    session.execute(update(findings).where(findings.c.id == 1).values(status="resolved"))
    session.commit()
    assert rev(engine) == before + 2
