"""The collector side's test kit: a collector's home on the test database, and a stand-in hub
that signs assignment and acknowledgement frames the way the hub does (wire.py's formats)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from collectors.fleet import identity, runtime, wire
from inventory import db
from inventory.models import CollectorIdentity, Credential, Device, OutboxEntry, Site, Subnet
from inventory.settings import Settings

NAME = "c-test"


@dataclass
class CollectorKit:
    settings: Settings
    engine: Engine
    keys: identity.CollectorKeys


def make_collector(engine: Engine, db_url: str, home: Path, *, name: str = NAME, hub_url: str | None = None) -> CollectorKit:
    settings = Settings(home=home, database_url=db_url)
    runtime.init(settings, name, hub_url)
    return CollectorKit(settings, engine, identity.collector_keys(settings, name))


SITE = {"code": "XA01", "name": "Xã Một", "kind": "commune", "province": {"code": "P1", "name": "Tỉnh Một"}}


@dataclass
class FakeHub:
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public(self) -> str:
        return identity.hub_public(self.key)

    def frame(self, magic: str, document: dict) -> bytes:
        payload = wire.pack_json(document)
        return wire.Frame(magic, "hub", identity.hub_sign(self.key, payload), payload).to_bytes()

    def assignment_document(self, kit: CollectorKit, *, version: int = 1, devices: list[dict] | None = None, credentials: list[dict] | None = None,
                            subnets: list[str] | None = None, zone: str = "internet", box_key: str | None = None, **overrides) -> dict:  # fmt: skip
        sealed = identity.seal_to(box_key or kit.keys.box_public, json.dumps(credentials).encode()) if credentials else None
        document = {
            "format": wire.ASSIGNMENT_FORMAT, "collector": kit.keys.name, "version": version, "issued_at": datetime.now(UTC), "hub_key": self.public,
            "site": SITE, "zone": zone, "subnets": subnets if subnets is not None else ["10.77.0.0/24"],
            "devices": devices if devices is not None else [{"address": "10.77.0.1", "hostname": "xa01-fw", "device_class": "firewall", "serial": "fgt-1"}],
            "credentials": sealed, "policy_version": "p1", "rules_version": "r1",
        }  # fmt: skip
        return document | overrides

    def assignment(self, kit: CollectorKit, **kwargs) -> bytes:
        return self.frame(wire.ASSIGNMENT, self.assignment_document(kit, **kwargs))

    def ack(self, name: str, acked_seq: int, refused: list[dict] | None = None) -> bytes:
        document = {"format": wire.ACK_FORMAT, "collector": name, "acked_seq": acked_seq, "refused": refused or [], "issued_at": datetime.now(UTC)}
        return self.frame(wire.ACK, document)


def credential(name: str, kind: str = "snmp_v2c", **fields) -> dict:
    secrets = {"snmp_v2c": {"community": f"{name}-community"}, "snmp_v3": {"auth_key": f"{name}-auth-key", "priv_key": f"{name}-priv-key"},
               "ssh": {"password": f"{name}-password"}}[kind]  # fmt: skip
    base = {"name": name, "kind": kind, "username": None if kind == "snmp_v2c" else "kiemke", "port": None, "priority": 100, "zone_kind": None,
            "device_class": None, "device_address": None, "secrets": secrets}  # fmt: skip
    return base | fields


def snapshot(engine: Engine) -> dict:
    """What an assignment writes, to show a refused one wrote nothing."""
    with db.session_scope(engine) as session:
        me = session.get(CollectorIdentity, 1)
        return {
            "identity": (me.hub_key, me.site_code, me.zone_kind, me.assignment_version, json.dumps(me.assignment, sort_keys=True, default=str)),
            "sites": sorted(session.execute(select(Site.code, Site.name)).all()),
            "subnets": sorted(session.execute(select(Subnet.cidr)).scalars()),
            "devices": sorted(session.execute(select(Device.mgmt_ip, Device.hostname, Device.serial, Device.status)).all(), key=str),
            "credentials": sorted(session.execute(select(Credential.name, Credential.secret_token)).all()),
            "outbox": list(session.execute(select(OutboxEntry.seq).order_by(OutboxEntry.seq)).scalars()),
        }


@contextmanager
def snmp_lab(devices: list, workdir: Path) -> Iterator[object]:
    """snmpsim agents for `devices` (each test module its own loopback network and port)."""
    from collectors.lab.snmp_agents import SnmpLab

    lab = SnmpLab(devices, workdir)
    lab.start(timeout=60)
    try:
        yield lab
    finally:
        lab.stop()
