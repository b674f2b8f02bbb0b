"""A collector takes its assignment: the hub's key pinned by the first; a tampered, foreign,
older or otherwise wrong one refused, changing nothing; credentials opened and stored encrypted."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from collectors.fleet import identity, wire
from collectors.fleet.assign_take import AssignmentError, take
from inventory import db
from inventory.crypto import Vault
from inventory.models import CollectorIdentity, Credential, Device, Subnet, Zone
from tests.collectors.fleet.collector_kit import FakeHub, credential, make_collector, snapshot

pytestmark = pytest.mark.db

DEVICES = [
    {"address": "10.77.0.1", "hostname": "xa01-fw", "device_class": "firewall", "vendor": "Fortinet", "serial": "fgt-1"},
    {"address": "10.77.0.2", "hostname": "xa01-sw", "device_class": "access_switch", "serial": "SW-2"},
]


@pytest.fixture
def kit(engine, db_url, tmp_path):
    return make_collector(engine, db_url, tmp_path / "collector")


def _credentials():
    return [credential("xa-v2c"), credential("xa-ssh", "ssh", zone_kind="internet"), credential("fw-only", "snmp_v3", device_address="10.77.0.1", port=1161)]


def test_first_assignment_pins_the_hub_and_stores_everything(kit):
    hub = FakeHub()
    taken = take(kit.engine, kit.settings, hub.assignment(kit, devices=DEVICES, credentials=_credentials()))
    assert (taken.version, taken.site, taken.zone, taken.devices, taken.credentials, taken.pinned_now) == (1, "XA01", "internet", 2, 3, True)
    assert taken.hub_fingerprint == identity.fingerprint(hub.public)
    vault = Vault(kit.settings.credential_key)
    with db.session_scope(kit.engine) as session:
        me = session.get(CollectorIdentity, 1)
        assert me.hub_key == hub.public and (me.site_code, me.zone_kind, me.assignment_version) == ("XA01", "internet", 1)
        assert me.assignment["credentials"] == 3 and "community" not in json.dumps(me.assignment)  # kept without the secrets
        zone = session.execute(select(Zone)).scalar_one()
        assert zone.kind == "internet"
        assert list(session.execute(select(Subnet.cidr).where(Subnet.zone_id == zone.id)).scalars()) == ["10.77.0.0/24"]
        devices = {d.mgmt_ip: d for d in session.execute(select(Device)).scalars()}
        assert set(devices) == {"10.77.0.1", "10.77.0.2"} and devices["10.77.0.1"].serial == "FGT-1" and devices["10.77.0.1"].zone_id == zone.id
        stored = {c.name: c for c in session.execute(select(Credential)).scalars()}
        assert set(stored) == {"xa-v2c", "xa-ssh", "fw-only"}
        # Encrypted at rest with the collector's own credential key, and opened to what the hub sealed.
        assert b"xa-v2c-community" not in stored["xa-v2c"].secret_token
        assert vault.open(stored["xa-v2c"].secret_token)["community"].get_secret_value() == "xa-v2c-community"
        assert stored["fw-only"].device_id == devices["10.77.0.1"].id and stored["fw-only"].port == 1161
        assert stored["xa-ssh"].zone_kind == "internet" and stored["xa-ssh"].site_id == zone.site_id


def test_a_newer_assignment_replaces_credentials_and_retires_devices_it_no_longer_names(kit):
    hub = FakeHub()
    take(kit.engine, kit.settings, hub.assignment(kit, devices=DEVICES, credentials=_credentials()))
    again = take(kit.engine, kit.settings, hub.assignment(kit, devices=DEVICES, credentials=_credentials()))
    assert again.already  # the same version: nothing to do
    moved = [DEVICES[0] | {"hostname": "xa01-fw-new"}]
    taken = take(kit.engine, kit.settings, hub.assignment(kit, version=2, devices=moved, credentials=[credential("only-one")], subnets=["10.77.0.0/25"]))
    assert (taken.version, taken.pinned_now, taken.credentials) == (2, False, 1)
    with db.session_scope(kit.engine) as session:
        assert list(session.execute(select(Credential.name)).scalars()) == ["only-one"]
        devices = {d.mgmt_ip: (d.hostname, d.status) for d in session.execute(select(Device)).scalars()}
        assert devices == {"10.77.0.1": ("xa01-fw-new", "in_use"), "10.77.0.2": ("xa01-sw", "disposed")}
        assert list(session.execute(select(Subnet.cidr)).scalars()) == ["10.77.0.0/25"]
    with pytest.raises(AssignmentError, match="older"):
        take(kit.engine, kit.settings, hub.assignment(kit, version=1, devices=DEVICES))


def _refused(kit, frame: bytes, match: str) -> None:
    before = snapshot(kit.engine)
    with pytest.raises(AssignmentError, match=match):
        take(kit.engine, kit.settings, frame)
    assert snapshot(kit.engine) == before


def test_refused_assignments_change_nothing(kit):
    hub = FakeHub()
    take(kit.engine, kit.settings, hub.assignment(kit, devices=DEVICES, credentials=_credentials()))
    # Tampered: a subnet changed after signing.
    frame = hub.assignment(kit, version=2, devices=DEVICES)
    _refused(kit, frame.replace(b"10.77.0.0/24", b"10.99.0.0/24"), "not signed by the hub")
    # Another hub's key, naming itself: the pinned key decides.
    other = FakeHub()
    _refused(kit, other.assignment(kit, version=2), "not signed by the hub this collector is pinned to")
    # Signed by the pinned hub but naming another key.
    _refused(kit, hub.frame(wire.ASSIGNMENT, hub.assignment_document(kit, version=2, hub_key=other.public)), "another hub key")
    # For another collector.
    _refused(kit, hub.frame(wire.ASSIGNMENT, hub.assignment_document(kit, version=2, collector="c-other")), "another collector")
    # Credentials sealed to another collector's box key.
    stranger = identity.collector_keys(type(kit.settings)(home=kit.settings.home / "stranger"), "c-other")
    _refused(kit, hub.assignment(kit, version=2, credentials=_credentials(), box_key=stranger.box_public), "not sealed to this collector")
    # Values that are not what they should be; a credential of a device the assignment does not name.
    _refused(kit, hub.assignment(kit, version=2, devices=[DEVICES[0] | {"device_class": "toaster"}]), "class")
    _refused(kit, hub.assignment(kit, version=2, subnets=["10.77.0.1/24"]), "CIDR")
    _refused(kit, hub.assignment(kit, version=2, devices=DEVICES[1:], credentials=_credentials()), "does not name")
    _refused(kit, hub.assignment(kit, version=2, credentials=[credential("weak", "snmp_v3") | {"secrets": {"auth_key": "short", "priv_key": "short"}}]), "8 characters")
    _refused(kit, b"KIEMKE-COLLECTOR-ACK/1\nhub\nxx\n{}", "not a kiemke collector file of this kind")


def test_the_first_assignment_must_match_the_key_it_names(kit):
    hub, other = FakeHub(), FakeHub()
    document = hub.assignment_document(kit)
    payload = wire.pack_json(document)
    forged = wire.Frame(wire.ASSIGNMENT, "hub", identity.hub_sign(other.key, payload), payload).to_bytes()
    _refused(kit, forged, "does not match the hub key it names")
    with db.session_scope(kit.engine) as session:
        assert session.get(CollectorIdentity, 1).hub_key is None


def test_a_database_that_is_not_a_collectors_takes_no_assignment(engine, tmp_path):
    from inventory.settings import Settings

    with pytest.raises(AssignmentError, match="not a collector"):
        take(engine, Settings(home=tmp_path / "h"), b"KIEMKE-COLLECTOR-ASSIGNMENT/1\nhub\nxx\n{}")
