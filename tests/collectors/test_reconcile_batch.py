"""A batch of outcomes reconciled at once: what the batch's prefetch could get wrong.

The Reconciler reads the identity keys, devices and their rows for the whole batch first, then
works each outcome out against them. So a batch must leave the inventory exactly as its outcomes
applied one at a time would (each read fresh from the database), including a device met twice,
a device created and then met again, a serial that moves and a MAC that is never stolen; and
its queries must not grow with the number of devices.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from collectors.reconcile import Reconciler
from collectors.records import ArpRecord, CollectionTimeout, DeviceFacts, FdbRecord, InterfaceRecord, Target
from collectors.runner import Outcome
from inventory.identity import IdentityConflict, IdentityIndex
from inventory.models import ConfigSnapshot, Device, DeviceMac, Interface, MacSighting, Observation, ScanOutcome, ScanRun
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

NOW = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)


def _facts(address: str, **kw) -> DeviceFacts:
    return DeviceFacts(address=address, source="snmp", **kw)


def _ok(address: str, device_id: int | None = None, zone: str = "internet", **kw) -> Outcome:
    return Outcome(Target(address, device_id, "S1", zone), (_facts(address, **kw),))


def _silent(address: str, device_id: int) -> Outcome:
    return Outcome(Target(address, device_id, "S1", "internet"), (), CollectionTimeout("no answer"))


def _apply(session, outcomes: list[Outcome]):
    run = ScanRun(kind="poll")
    session.add(run)
    session.flush()
    return Reconciler(session, run, now=NOW).apply(outcomes)


def _record(session, ids, **devices) -> dict[str, int]:
    rows = {name: Device(device_class="access_switch", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], hostname=name, **kw) for name, kw in devices.items()}
    session.add_all(rows.values())
    session.flush()
    return {name: row.id for name, row in rows.items()}


def _state(session) -> dict:
    """The inventory as the reconciliation left it, with device ids as ranks (a PostgreSQL
    sequence is not rolled back) and scan run numbers left out."""
    rank = {device_id: n for n, device_id in enumerate(session.execute(select(Device.id).order_by(Device.id)).scalars())}
    run = re.compile(r"#\d+")
    return {
        "devices": sorted(
            (rank[d.id], d.hostname, d.serial, d.mgmt_ip, d.zone_id, d.reachable, d.vendor, d.model, d.os_version, d.source, run.sub("#", d.notes), d.device_class, d.last_seen, d.updated_at == NOW)
            for d in session.execute(select(Device)).scalars()
        ),  # fmt: skip
        "macs": sorted((rank[device_id], mac) for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac))),
        "interfaces": sorted((rank[i.device_id], i.if_index, i.name, i.mac, i.oper_up) for i in session.execute(select(Interface)).scalars()),
        "sightings": sorted((s.mac, s.zone_id, rank[s.seen_on_device_id], s.port, s.source, s.ip) for s in session.execute(select(MacSighting)).scalars()),
        "observations": sorted((rank[o.device_id], o.key, o.value, o.source) for o in session.execute(select(Observation)).scalars()),
        "latest": {(rank[o.device_id], o.key): o.value for o in session.execute(select(Observation).order_by(Observation.id)).scalars()},
        "snapshots": sorted((rank[c.device_id], c.sha256) for c in session.execute(select(ConfigSnapshot)).scalars()),
        "outcomes": sorted((o.address, rank.get(o.device_id), o.status, o.created_device) for o in session.execute(select(ScanOutcome)).scalars()),
    }


def _recorded_fleet(session):
    ids = make_province(session)
    devices = _record(
        session, ids,
        A=dict(serial="SA", mgmt_ip="10.1.2.10"), B=dict(serial="SB", mgmt_ip="10.1.2.11"), C=dict(mgmt_ip="10.1.2.12"),
        D=dict(serial="SD", mgmt_ip="10.1.2.13"), E=dict(serial="SE", mgmt_ip="10.1.2.14"),
    )  # fmt: skip
    session.add(DeviceMac(device_id=devices["D"], mac="02:0d:00:00:00:01"))
    session.add(Interface(device_id=devices["A"], if_index=1, name="old-name"))
    session.commit()
    return ids, devices


def _mixed_batch(devices: dict[str, int]) -> list[Outcome]:
    ports = (InterfaceRecord(1, "Gi0/1", mac="02:0a:00:00:00:01", oper_up=True), InterfaceRecord(2, "Gi0/2"))
    fdb = (FdbRecord("02:ee:00:00:00:01", 1), FdbRecord("02:ee:00:00:00:02", 2))
    return [
        # A twice: by its target, then by its serial alone; the second changes a fact, a port and the configuration.
        _ok("10.1.2.10", devices["A"], sys_name="A-1", serial="SA", os_version="1.0", interfaces=ports, fdb=fdb, running_config="hostname A\n"),
        _ok(
            "10.1.2.10",
            None,
            sys_name="A-1",
            serial="SA",
            os_version="1.1",
            interfaces=(InterfaceRecord(2, "Gi0/2", oper_up=True),),
            fdb=fdb + (FdbRecord("02:ee:00:00:00:03", 2),),
            arp=(ArpRecord("10.1.2.99", "02:ee:00:00:00:01", 1),),
            running_config="hostname A2\n",
        ),  # fmt: skip
        # N created, then met again by its MAC and address without a serial.
        _ok("10.1.2.20", None, sys_name="N-1", serial="SN", interfaces=(InterfaceRecord(1, "eth0", mac="02:0e:00:00:00:01"),), running_config="hostname N\n"),
        _ok("10.1.2.20", None, sys_name="N-1", interfaces=(InterfaceRecord(1, "eth0", mac="02:0e:00:00:00:01"),), running_config="hostname N\n"),
        # B's address answers with A's serial: B lets the address go, the facts are A's; then B answers by its serial elsewhere.
        _ok("10.1.2.11", devices["B"], sys_name="A-1", serial="SA", os_version="1.1"),
        _ok("10.1.2.41", None, sys_name="B-1", serial="SB"),
        # C gets its first serial; a later outcome with that serial finds C; C reports D's MAC, which stays D's.
        _ok("10.1.2.12", devices["C"], sys_name="C-1", serial="SC"),
        _ok("10.1.2.30", None, sys_name="C-1", serial="SC", interfaces=(InterfaceRecord(7, "x", mac="02:0d:00:00:00:01"),)),
        # An unknown serial with N's MAC: N's MAC is not taken, another device is created.
        _ok("10.1.2.40", None, sys_name="M-1", serial="SM", interfaces=(InterfaceRecord(1, "eth0", mac="02:0e:00:00:00:01"),)),
        _silent("10.1.2.14", devices["E"]),
        # An address in no known site: kept as a failed outcome.
        Outcome(Target("192.0.2.1", None, "NOPE", "internet"), (_facts("192.0.2.1", sys_name="X"),)),
    ]


def test_a_batch_leaves_what_its_outcomes_leave_one_at_a_time(session):
    _, devices = _recorded_fleet(session)
    batch = _mixed_batch(devices)

    summary = _apply(session, batch)
    session.flush()
    together = _state(session)
    session.rollback()
    for outcome in batch:
        _apply(session, [outcome])
    session.flush()
    one_by_one = _state(session)

    assert together == one_by_one
    assert (summary.ok, summary.failed, summary.created, summary.unreachable) == (9, 2, 2, 1)


def test_what_the_mixed_batch_does(session):
    ids, devices = _recorded_fleet(session)
    _apply(session, _mixed_batch(devices))
    session.commit()
    by_serial = {d.serial: d for d in session.execute(select(Device)).scalars()}
    a, b, c, d = (session.get(Device, devices[k]) for k in "ABCD")
    n, m = by_serial["SN"], by_serial["SM"]

    # A met twice: one row per port, the second outcome's values; one snapshot per configuration.
    ports = {i.if_index: (i.name, i.oper_up) for i in session.execute(select(Interface).where(Interface.device_id == a.id)).scalars()}
    assert ports == {1: ("Gi0/1", True), 2: ("Gi0/2", True)}
    versions = session.execute(select(Observation.value).where(Observation.device_id == a.id, Observation.key == "os_version").order_by(Observation.id)).scalars().all()
    assert versions == ["1.0", "1.1"]  # B's outcome (A's serial, 1.1 again) added nothing
    assert session.execute(select(ConfigSnapshot.text).where(ConfigSnapshot.device_id == a.id).order_by(ConfigSnapshot.id)).scalars().all() == ["hostname A\n", "hostname A2\n"]
    sightings = {(s.mac, s.port, s.source, s.ip) for s in session.execute(select(MacSighting).where(MacSighting.seen_on_device_id == a.id)).scalars()}
    # (the second outcome names only port 2: its entries on ifIndex 1 are kept under "1" and "")
    first = {("02:ee:00:00:00:01", "Gi0/1", "fdb", None), ("02:ee:00:00:00:02", "Gi0/2", "fdb", None)}
    assert sightings == first | {("02:ee:00:00:00:01", "1", "fdb", None), ("02:ee:00:00:00:03", "Gi0/2", "fdb", None), ("02:ee:00:00:00:01", "", "arp", "10.1.2.99")}

    # N created once, met again; its configuration unchanged: one snapshot.
    assert n.mgmt_ip == "10.1.2.20" and n.source == "discovered"
    assert session.execute(select(ConfigSnapshot.id).where(ConfigSnapshot.device_id == n.id)).scalars().all().__len__() == 1
    outcomes = session.execute(select(ScanOutcome.address, ScanOutcome.device_id, ScanOutcome.created_device).order_by(ScanOutcome.id)).all()
    assert [(dev, created) for address, dev, created in outcomes if address == "10.1.2.20"] == [(n.id, True), (n.id, False)]

    # The serial moved: B's address released, B found again by its serial (keeps no address).
    assert (b.mgmt_ip, b.reachable, b.serial) == (None, True, "SB")
    assert "address 10.1.2.11 answered with another serial" in b.notes
    assert [(dev) for address, dev, _ in outcomes if address in ("10.1.2.11", "10.1.2.41")] == [a.id, b.id]

    # C took its serial and was found by it; D's MAC and N's MAC were never stolen.
    assert (c.serial, c.mgmt_ip) == ("SC", "10.1.2.12")
    macs = dict(session.execute(select(DeviceMac.mac, DeviceMac.device_id)).all())
    assert macs["02:0d:00:00:00:01"] == d.id and macs["02:0e:00:00:00:01"] == n.id
    assert m.mgmt_ip == "10.1.2.40" and not session.execute(select(DeviceMac).where(DeviceMac.device_id == m.id)).first()
    assert session.get(Device, devices["E"]).reachable is False


def test_a_device_named_twice_by_two_keys_of_one_batch_is_one_device(session):
    """The first outcome creates the device (serial, MAC, address); each later one names it by
    one key only, and all land on it."""
    make_province(session)
    eth = (InterfaceRecord(1, "eth0", mac="02:0f:00:00:00:01"),)
    summary = _apply(session, [
        _ok("10.1.2.50", None, sys_name="NEW", serial="S-NEW", interfaces=eth),
        _ok("10.1.2.50", None, sys_name="NEW"),  # by address
        _ok("10.1.2.51", None, sys_name="NEW", serial="S-NEW"),  # by serial
        _ok("10.1.2.52", None, sys_name="NEW", interfaces=eth),  # by MAC
    ])  # fmt: skip
    session.commit()
    assert summary.created == 1 and summary.ok == 4
    assert session.execute(select(Device.id)).scalars().all() == summary.created_ids
    assert session.execute(select(Interface.if_index)).scalars().all() == [1]


def test_a_serial_longer_than_its_column_seen_twice(session):
    """The serial is cut to its column once, when the facts are merged: the second outcome finds
    the device the first created (before, it made a second one with the same cut serial and the
    unique constraint failed the whole batch)."""
    make_province(session)
    long_serial = "X" * 150
    _apply(session, [_ok("10.1.2.60", None, sys_name="LONG", serial=long_serial), _ok("10.1.2.60", None, sys_name="LONG", serial=long_serial)])
    session.commit()
    assert len(session.execute(select(Device)).scalars().all()) == 1


def test_the_index_of_a_batch_answers_as_the_whole_fleets(session):
    """load_for(keys) gives `load`'s answer for every match those keys can ask, conflicts included."""
    ids = make_province(session)
    rng = random.Random(7)
    zones = [ids["S1"]["internet"], ids["S1"]["party_wan"], None]
    for n in range(60):
        device = Device(device_class="other", site_id=ids["S1"]["site"], zone_id=rng.choice(zones), serial=f"S{n}" if rng.random() < 0.7 else None,
                        mgmt_ip=f"10.1.9.{n}" if rng.random() < 0.8 else None)  # fmt: skip
        session.add(device)
        session.flush()
        if rng.random() < 0.5:
            session.add(DeviceMac(device_id=device.id, mac=f"02:00:00:00:01:{n:02x}"))
    session.flush()
    whole = IdentityIndex.load(session)

    def answer(index, keys):
        try:
            return index.match(**keys)
        except IdentityConflict as exc:
            return str(exc)

    for _ in range(300):
        keys = {
            "serial": rng.choice([None, f"S{rng.randrange(70)}"]),
            "macs": tuple(f"02:00:00:00:01:{rng.randrange(70):02x}" for _ in range(rng.randrange(3))),
            "zone_id": rng.choice(zones),
            "ip": rng.choice([None, f"10.1.9.{rng.randrange(70)}"]),
        }
        part = IdentityIndex.load_for(session, serials=[keys["serial"]] if keys["serial"] else [], macs=keys["macs"], zone_ips=[(keys["zone_id"], keys["ip"])])
        assert answer(part, keys) == answer(whole, keys), keys


def _count_selects(engine):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    return statements, lambda: event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("with_everything", [False, True])
def test_queries_do_not_grow_with_the_batch(session, engine, with_everything):
    ids = make_province(session)
    devices = _record(session, ids, **{f"D{n}": dict(serial=f"SER{n}", mgmt_ip=f"10.1.2.{n + 1}") for n in range(60)})
    session.commit()

    def outcome(n: int) -> Outcome:
        extra = {}
        if with_everything:
            extra = dict(interfaces=(InterfaceRecord(1, "Gi0/1", mac=f"02:0c:00:00:00:{n:02x}"),), fdb=(FdbRecord(f"02:ee:00:00:01:{n:02x}", 1),),
                         running_config=f"hostname D{n}\n")  # fmt: skip
        return _ok(f"10.1.2.{n + 1}", devices[f"D{n}"] if n % 2 else None, sys_name=f"D{n}-new", serial=f"SER{n}", os_version="2.0", **extra)

    counts = []
    for batch in ([outcome(n) for n in range(5)], [outcome(n) for n in range(5, 60)]):
        statements, stop = _count_selects(engine)
        try:
            _apply(session, batch)
        finally:
            stop()
        session.commit()
        counts.append((statements.count("SELECT"), len(statements)))
    (small_selects, small_all), (large_selects, large_all) = counts
    assert large_selects == small_selects <= 12
    if engine.dialect.name == "postgresql":  # SQLite (in process) takes ORM inserts a row at a time
        assert large_all <= small_all + 2  # the writes go out a table at a time, whatever the batch's size
