"""Device edits as the inventory makes them (no web): values checked and normalised, the version
guarding against lost updates, audit entries with before and after, the change announced after
the commit, bulk edits all or nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from inventory import changes
from inventory.device_edit import (
    BulkInvalid,
    DeviceEditError,
    DeviceNotFound,
    EditConflict,
    InvalidValues,
    form_values,
    update_device,
    update_devices,
    version_of,
)
from inventory.models import AuditLog, Device, DeviceMac
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db


@pytest.fixture
def province(session):
    return make_province(session, sites=2)


@pytest.fixture
def devices(session, province) -> list[int]:
    s1 = province["S1"]
    rows = [
        Device(device_class="access_switch", site_id=s1["site"], zone_id=s1["party_wan"], hostname="sw1", mgmt_ip="10.1.1.2", serial="SN-1", vendor="Cisco"),
        Device(device_class="laptop", site_id=s1["site"], zone_id=s1["internet"], hostname="pc1", mgmt_ip="10.1.2.9", serial="SN-2", assigned_user="An"),
        Device(device_class="printer", site_id=s1["site"], zone_id=s1["internet"], hostname="prn", mgmt_ip="10.1.2.10"),
    ]
    session.add_all(rows)
    session.commit()
    return [d.id for d in rows]


@pytest.fixture
def told():
    """The changes announced to listeners (after commits), as (device ids, site ids, trigger, actor)."""
    seen: list[tuple] = []

    def listener(engine, change):
        seen.append((set(change.device_ids), set(change.site_ids), change.trigger, change.actor))
        return None

    changes.subscribe(listener)
    yield seen
    changes.unsubscribe(listener)


def audit_entries(session, device_id: int) -> list[AuditLog]:
    query = select(AuditLog).where(AuditLog.entity == "device", AuditLog.entity_id == str(device_id)).order_by(AuditLog.id)
    return list(session.exec(query))


def test_values_are_stored_normalised_and_audited(session, devices, told):
    device_id = devices[0]
    values, version = form_values(session, device_id)
    assert values["site_code"] == "S1" and values["zone"] == "party_wan" and values["hostname"] == "sw1"
    given = {"hostname": "  sw1-core ", "mgmt_ip": "10.1.1.20", "serial": "sn-9", "country_of_origin": "vn", "purchase_date": date(2022, 5, 1), "assigned_user": ""}
    result = update_device(session, device_id, given, version, actor="lan")
    assert {c.column: (c.before, c.after) for c in result} == {
        "hostname": ("sw1", "sw1-core"),
        "mgmt_ip": ("10.1.1.2", "10.1.1.20"),
        "serial": ("SN-1", "SN-9"),
        "country_of_origin": (None, "VN"),
        "purchase_date": (None, date(2022, 5, 1)),
    }  # an empty assigned user was empty already: no change
    assert told == []  # nothing announced before the commit
    session.commit()
    assert told == [({device_id}, set(), "edit", "lan")]
    device = session.get(Device, device_id)
    assert (device.hostname, device.mgmt_ip, device.serial, device.country_of_origin, device.purchase_date) == ("sw1-core", "10.1.1.20", "SN-9", "VN", date(2022, 5, 1))
    (entry,) = audit_entries(session, device_id)
    assert (entry.actor, entry.action) == ("lan", "update")
    assert entry.before == {"hostname": "sw1", "mgmt_ip": "10.1.1.2", "serial": "SN-1", "country_of_origin": None, "purchase_date": None}
    assert entry.after == {"hostname": "sw1-core", "mgmt_ip": "10.1.1.20", "serial": "SN-9", "country_of_origin": "VN", "purchase_date": "2022-05-01"}


def test_nothing_changed_writes_nothing(session, devices, told):
    values, version = form_values(session, devices[0])
    assert update_device(session, devices[0], values, version, actor="lan") == []
    session.commit()
    assert audit_entries(session, devices[0]) == [] and told == []
    assert form_values(session, devices[0])[1] == version


def test_a_stale_version_is_refused_and_nothing_is_written(session, engine, devices):
    device_id = devices[1]
    _, version = form_values(session, device_id)
    with Session(engine) as other:  # someone else saves first
        update_device(other, device_id, {"assigned_user": "Bình"}, version, actor="other")
        other.commit()
    with pytest.raises(EditConflict) as caught:
        update_device(session, device_id, {"hostname": "pc1-new", "assigned_user": "An"}, version, actor="lan")
    session.rollback()
    device = session.get(Device, device_id)
    assert (device.hostname, device.assigned_user) == ("pc1", "Bình")
    assert caught.value.current_version == form_values(session, device_id)[1] != version
    assert [e.actor for e in audit_entries(session, device_id)] == ["other"]


def test_a_write_between_read_and_update_is_a_conflict(session, devices, monkeypatch):
    """The version is checked by the UPDATE itself: a write after the check but before the
    statement makes it match no row (here written through the same connection, so that SQLite,
    which holds one writer at a time, shows it too)."""
    import inventory.device_edit as device_edit

    device_id = devices[1]
    _, version = form_values(session, device_id)
    real = device_edit._check_identity

    def meanwhile(*args, **kwargs):
        session.execute(Device.__table__.update().where(Device.__table__.c.id == device_id).values(assigned_user="Chi"))
        return real(*args, **kwargs)

    monkeypatch.setattr(device_edit, "_check_identity", meanwhile)
    with pytest.raises(EditConflict):
        update_device(session, device_id, {"hostname": "pc1-new"}, version, actor="lan")
    device = session.get(Device, device_id)
    assert (device.hostname, device.assigned_user) == ("pc1", "Chi")
    assert audit_entries(session, device_id) == []


def test_the_version_ignores_what_polls_move(session, devices):
    _, version = form_values(session, devices[0])
    device = session.get(Device, devices[0])
    device.last_seen = device.last_polled = device.updated_at
    device.reachable = True
    session.commit()
    assert form_values(session, devices[0])[1] == version
    assert version_of({"hostname": "a"}) != version_of({"hostname": "b"})


@pytest.mark.parametrize(
    ("which", "given", "field", "code"),
    [
        (1, {"mgmt_ip": "10.1.1.999"}, "mgmt_ip", "bad_ip"),
        (1, {"country_of_origin": "Viet Nam"}, "country_of_origin", "bad_country"),
        (1, {"purchase_date": date.today() + timedelta(days=2)}, "purchase_date", "future_date"),
        (1, {"device_class": "toaster"}, "device_class", "bad_choice"),
        (1, {"status": ""}, "status", "required"),
        (1, {"platform": "cisco_xyz"}, "platform", "bad_choice"),
        (1, {"site_code": "NOPE"}, "site_code", "unknown_site"),
        (1, {"hostname": "x" * 256}, "hostname", "too_long"),
        (0, {"serial": "sn-2"}, "serial", "duplicate_serial"),  # the laptop's, in another spelling
        (1, {"mgmt_ip": "10.1.2.10"}, "mgmt_ip", "duplicate_ip"),  # the printer's, in the same zone
        (1, {"zone": "party_wan", "mgmt_ip": "10.1.1.2"}, "mgmt_ip", "duplicate_ip"),  # moved into the switch's zone
        (1, {"serial": "", "mgmt_ip": ""}, "serial", "no_identity"),
    ],
)
def test_bad_values_are_refused_with_a_code(session, devices, which, given, field, code):
    device_id = devices[which]
    _, version = form_values(session, device_id)
    before = session.get(Device, device_id).model_dump()
    with pytest.raises(InvalidValues) as caught:
        update_device(session, device_id, given, version, actor="lan")
    assert (field, code) in [(e.field, e.code) for e in caught.value.errors]
    session.rollback()
    assert session.get(Device, device_id).model_dump() == before
    assert audit_entries(session, device_id) == []


def test_the_same_address_in_another_zone_is_allowed(session, devices):
    _, version = form_values(session, devices[1])
    update_device(session, devices[1], {"mgmt_ip": "10.1.1.2"}, version, actor="lan")  # the switch's, but in the Internet zone
    session.commit()
    assert session.get(Device, devices[1]).mgmt_ip == "10.1.1.2"


def test_a_device_with_a_mac_may_lose_serial_and_address(session, devices):
    session.add(DeviceMac(device_id=devices[1], mac="aa:bb:cc:dd:ee:01"))
    session.commit()
    _, version = form_values(session, devices[1])
    update_device(session, devices[1], {"serial": "", "mgmt_ip": ""}, version, actor="lan")
    session.commit()
    assert (session.get(Device, devices[1]).serial, session.get(Device, devices[1]).mgmt_ip) == (None, None)


def test_moving_site_takes_the_zone_of_that_site_and_tells_the_old_site(session, devices, province, told):
    device_id = devices[1]
    _, version = form_values(session, device_id)
    update_device(session, device_id, {"site_code": "S2", "zone": "internet"}, version, actor="lan")
    session.commit()
    device = session.get(Device, device_id)
    assert (device.site_id, device.zone_id) == (province["S2"]["site"], province["S2"]["internet"])
    assert told == [({device_id}, {province["S1"]["site"]}, "edit", "lan")]
    (entry,) = audit_entries(session, device_id)
    assert entry.before == {"site_id": province["S1"]["site"], "zone_id": province["S1"]["internet"]}


def test_unknown_device_and_unknown_keys(session, devices):
    with pytest.raises(DeviceNotFound):
        update_device(session, 999_999, {"hostname": "x"}, None, actor="lan")
    with pytest.raises(DeviceEditError):
        update_device(session, devices[0], {"last_seen": "2020-01-01"}, None, actor="lan")
    with pytest.raises(DeviceEditError):
        update_devices(session, devices, {"serial": "X"}, actor="lan")


def test_bulk_edit_audits_each_device_and_tells_once(session, devices, province, told):
    result = update_devices(session, devices, {"status": "in_stock", "assigned_user": "Kho", "site_code": "S2"}, actor="lan")
    session.commit()
    assert set(result) == set(devices)
    for device_id in devices:
        device = session.get(Device, device_id)
        assert (device.status, device.assigned_user, device.site_id) == ("in_stock", "Kho", province["S2"]["site"])
        zone_kind = "party_wan" if device_id == devices[0] else "internet"
        assert device.zone_id == province["S2"][zone_kind]  # each keeps its zone's kind
        (entry,) = audit_entries(session, device_id)
        assert entry.after["status"] == "in_stock" and entry.after["site_id"] == province["S2"]["site"]
    assert told == [(set(devices), {province["S1"]["site"]}, "edit", "lan")]


def test_bulk_edit_is_all_or_nothing(session, devices, province):
    # Moving every device into S1's Party WAN: the laptop's address would then be free, but the
    # switch already holds 10.1.1.2 there... make the printer collide with the switch.
    session.get(Device, devices[2]).mgmt_ip = "10.1.1.2"
    session.commit()
    with pytest.raises(BulkInvalid) as caught:
        update_devices(session, devices, {"zone": "party_wan", "status": "broken"}, actor="lan")
    assert set(caught.value.errors) == {devices[2]}
    session.commit()  # what the caller might do: still nothing was written
    assert {session.get(Device, i).status for i in devices} == {"in_use"}
    assert all(audit_entries(session, i) == [] for i in devices)


def test_a_listener_failure_keeps_the_edit(session, devices, db_url):
    def broken(engine, change):
        raise ValueError("policy file unreadable")

    changes.subscribe(broken)
    try:
        _, version = form_values(session, devices[0])
        update_device(session, devices[0], {"hostname": "sw-x"}, version, actor="lan")
        session.commit()
    finally:
        changes.unsubscribe(broken)
    (outcome,) = changes.committed_outcomes(session)
    assert outcome.failed and "policy file unreadable" in outcome.errors[0]
    with Session(create_engine(db_url)) as fresh:
        assert fresh.get(Device, devices[0]).hostname == "sw-x"


def test_a_key_taken_by_a_writer_in_between_is_refused_by_name(session, devices, monkeypatch):
    """The identity checks passed, then another writer took the serial before the UPDATE: the
    database's constraint refuses it, and the error names the field and the device."""
    import inventory.device_edit as device_edit

    _, version = form_values(session, devices[2])
    real = device_edit._check_identity
    calls = []

    def meanwhile(session_, device_id, after, diff, errors):
        calls.append(device_id)
        if len(calls) == 1:  # the first check: nobody holds SN-NEW yet; then someone takes it
            real(session_, device_id, after, diff, errors)
            session_.execute(Device.__table__.update().where(Device.__table__.c.id == devices[1]).values(serial="SN-NEW"))
            return
        real(session_, device_id, after, diff, errors)

    monkeypatch.setattr(device_edit, "_check_identity", meanwhile)
    with pytest.raises(InvalidValues) as caught:
        update_device(session, devices[2], {"serial": "sn-new"}, version, actor="lan")
    assert [(e.field, e.code, e.params.get("device_id")) for e in caught.value.errors] == [("serial", "duplicate_serial", devices[1])]
    assert session.get(Device, devices[2]).serial is None and audit_entries(session, devices[2]) == []
