"""The data revision moves on with every committed change to a tracked table, in the same
transaction, whoever made it (kiemke's engines or a connection kiemke never saw, as psql's);
RevisionCache keeps values until it does."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from inventory import db, revision
from inventory.audit import record
from inventory.models import ApprovedQuantity, AuditLog, Device, DeviceCompliance, DeviceMac, Finding, InformationSystem, Province, Site, SiteSnapshot, Subnet, Zone, utcnow
from inventory.revision import WHEN_SEEN, RevisionCache
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db
NOW = datetime(2026, 11, 22, tzinfo=UTC)


def rev(engine) -> int | None:
    with Session(engine) as session:
        return revision.current(session)


@contextmanager
def outside(db_url: str) -> Iterator[Any]:
    """A DBAPI connection kiemke did not make (as psql's or sqlite3's); commits at the end."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database)
    else:
        import psycopg

        connection = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        yield connection
        connection.commit()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("statement", "moves", "only_on"),
    [
        ("INSERT INTO province (code, name) VALUES ('NEW', 'Mới')", True, None),
        ("  UPDATE site SET notes = 'x' WHERE site.id = 1", True, None),
        ("UPDATE zone SET kind = kind", True, None),
        ("/* from psql */ DELETE FROM subnet", True, None),
        ("DELETE FROM approved_quantity WHERE id = 1", True, None),
        ("SELECT * FROM device", False, None),
        ("CREATE TABLE scratch (id INTEGER)", False, None),
        ("WITH x AS (SELECT 1) SELECT * FROM x", False, None),
        ("SELECT device.updated_at FROM device", False, None),
        ("DELETE FROM audit_log", False, None),
        ("insert or replace into province (id, code, name) values (1, 'TEST', 'Tỉnh')", True, "sqlite"),
        ("UPDATE OR IGNORE zone SET kind = kind", True, "sqlite"),
        ("WITH gone AS (DELETE FROM finding WHERE status = 'resolved' RETURNING id) SELECT count(*) FROM gone", True, "postgresql"),
        ("TRUNCATE TABLE device_mac", True, "postgresql"),
        ("SELECT * FROM device WHERE id = 1 FOR UPDATE", False, "postgresql"),
    ],
)
def test_a_write_from_outside_kiemke_moves_it_at_once(engine, session, db_url, statement, moves, only_on):
    if only_on and engine.dialect.name != only_on:
        pytest.skip(f"{only_on} only")
    every_tracked_table(session)
    before = rev(engine)
    with outside(db_url) as connection:
        connection.execute(statement)
    assert (rev(engine) != before) == moves


def every_tracked_table(session: Session) -> dict[str, int]:
    """One row in every table a cached view reads, the revision moving on with each; their ids."""
    engine = session.get_bind()
    ids: dict[str, int] = {}

    def add(row: SQLModel) -> int:
        before = rev(engine)
        session.add(row)
        session.commit()
        assert rev(engine) > before, f"an INSERT INTO {row.__tablename__} left the revision"
        ids[row.__tablename__] = row.id
        return row.id

    province = add(Province(code="TEST", name="Tỉnh Thử"))
    site = add(Site(province_id=province, code="S1", name="Xã Thử", kind="commune"))
    zone = add(Zone(site_id=site, kind="party_wan"))
    add(Subnet(zone_id=zone, cidr="10.1.1.0/24"))
    add(ApprovedQuantity(site_id=site, device_class="laptop", quantity=10))
    add(InformationSystem(site_id=site, name="Một cửa", security_level=2))
    device = add(Device(device_class="access_switch", site_id=site, zone_id=zone, hostname="sw1", vendor="Cisco"))
    add(DeviceMac(device_id=device, mac="00:11:22:33:44:55"))
    add(Finding(rule_id="R1", subject_key=f"device:{device}", device_id=device, site_id=site, severity="high"))
    add(DeviceCompliance(device_id=device, state="unknown", evaluated_at=utcnow()))
    add(SiteSnapshot(site_id=site, day=date(2026, 11, 22), devices=1, unknown=1))
    tracked = {table.name for table in SQLModel.metadata.tables.values()} - revision.UNTRACKED
    assert set(ids) == tracked, "a new table: add a row here (and to revision.UNTRACKED if no cached view reads it)"
    return ids


def test_every_shown_column_moves_it_and_when_seen_ones_leave_it(engine, session, db_url):
    """Checks the triggers against the models: a column added without them fails here."""
    every_tracked_table(session)
    tables = [table for table in SQLModel.metadata.sorted_tables if table.name not in revision.UNTRACKED]
    for table in tables:
        for column in table.columns:
            before = rev(engine)
            with outside(db_url) as connection:
                connection.execute(f'UPDATE "{table.name}" SET "{column.name}" = "{column.name}"')
            shown = column.name not in WHEN_SEEN.get(table.name, ())
            assert (rev(engine) != before) == shown, f"UPDATE {table.name}.{column.name}"
    for table in reversed(tables):  # children first: PostgreSQL keeps the foreign keys
        before = rev(engine)
        with outside(db_url) as connection:
            connection.execute(f'DELETE FROM "{table.name}"')
        assert rev(engine) > before, f"DELETE FROM {table.name}"


def test_a_committed_change_moves_the_revision(engine, session):
    before = rev(engine)
    assert before is not None
    province = make_province(session, sites=2)  # many INSERTs, one transaction
    session.commit()
    after_province = rev(engine)
    assert after_province > before
    device = Device(device_class="laptop", site_id=province["S1"]["site"], hostname="pc1")
    session.add(device)
    session.commit()
    assert rev(engine) == after_province + 1
    device.notes = "moved"
    session.add(device)
    session.commit()
    assert rev(engine) == after_province + 2


def test_postgresql_moves_it_once_per_transaction_and_locks_it_only_while_committing(engine, session, db_url):
    """Two writers never wait on each other for the revision row (nor deadlock over it)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite moves it with each row; one writer at a time holds the whole database")
    every_tracked_table(session)
    before = rev(engine)
    with outside(db_url) as first:
        first.execute("UPDATE site SET name = 'một'")
        first.execute("INSERT INTO province (code, name) VALUES ('P2', 'Hai')")
        first.execute("DELETE FROM subnet")
        with outside(db_url) as second:  # another writer while the first is still open
            second.execute("SET lock_timeout = '2s'")
            second.execute("UPDATE zone SET kind = kind")
        assert rev(engine) == before + 1
    assert rev(engine) == before + 2
    with Session(engine) as reader:  # the placeholders are gone with their transactions
        assert reader.execute(text("SELECT count(*) FROM data_revision")).scalar_one() == 1


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
        after_insert = rev(engine)
        assert after_insert > before  # seen by the first engine
        with other.begin() as conn:
            conn.execute(update(Device.__table__).values(status="broken"))
        assert rev(engine) > after_insert
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
    assert rev(engine) > before


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
    assert cache.get(session, "k", lambda: next(counter)) == 1  # a change that slipped past the triggers

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
    ids = every_tracked_table(session)
    device = session.get(Device, ids["device"])
    before = rev(engine)
    now = datetime.now(UTC)
    device.last_seen, device.last_polled, device.reachable = now, now, True
    session.add(device)
    session.commit()
    assert rev(engine) == before
    device.model, device.last_seen = "C9200", now + timedelta(minutes=1)  # a fact changed too
    session.add(device)
    session.commit()
    assert rev(engine) == before + 1
    findings = Finding.__table__
    finding = findings.c.id == ids["finding"]
    session.execute(update(findings).where(finding).values(last_seen=now))  # a check that found the same
    session.commit()
    assert rev(engine) == before + 1
    session.execute(update(findings).where(finding).values(status="resolved"))
    session.commit()
    assert rev(engine) == before + 2
