"""What the hub-side tests share: a province with one site of two zones, a device and credentials
in each zone, a registered collector with real keys, and real frames made with identity/wire."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from collectors.credentials import Scope, add_credential
from collectors.fleet import wire
from collectors.fleet.identity import CollectorKeys, collector_keys
from collectors.fleet.registry import register
from collectors.outcome_json import outcome_to_json
from collectors.records import DeviceFacts, InterfaceRecord, Target
from collectors.runner import Outcome
from inventory import db
from inventory.crypto import Vault
from inventory.models import Device, Province, Site, Subnet, Zone
from inventory.settings import Settings

SITE = "S1"
NETS = {"party_wan": "10.1.0.0/24", "internet": "10.2.0.0/24"}
DEVICES = {"party_wan": ("10.1.0.1", "sw-wan", "SNWAN1"), "internet": ("10.2.0.1", "sw-inet", "SNINET1")}


@dataclass
class Hub:
    engine: object
    settings: Settings
    vault: Vault
    device_ids: dict[str, int]  # zone -> its recorded device


def make_hub(engine, home: Path, *, site_code: str = SITE, province_code: str = "P1") -> Hub:
    settings = Settings(home=home, database_url=str(engine.url.render_as_string(hide_password=False)))
    vault = Vault(settings.credential_key)
    ids = {}
    with db.session_scope(engine) as session:
        province = Province(code=province_code, name="Tỉnh thử")
        session.add(province)
        session.flush()
        site = Site(province_id=province.id, code=site_code, name="Đơn vị thử", kind="commune")
        session.add(site)
        session.flush()
        for kind, cidr in NETS.items():
            zone = Zone(site_id=site.id, kind=kind)
            session.add(zone)
            session.flush()
            session.add(Subnet(zone_id=zone.id, cidr=cidr))
            address, hostname, serial = DEVICES[kind]
            device = Device(device_class="access_switch", site_id=site.id, zone_id=zone.id, hostname=hostname, mgmt_ip=address, serial=serial, vendor="Cisco")
            session.add(device)
            session.flush()
            ids[kind] = device.id
        add_credential(session, vault, name="site-v2c", kind="snmp_v2c", secrets={"community": "c0mmunity-s1"}, scope=Scope(site_id=site.id), actor="test")
        add_credential(session, vault, name="inet-ssh", kind="ssh", username="admin", secrets={"password": "inet-pass"}, scope=Scope(site_id=site.id, zone_kind="internet"),
                       actor="test")  # fmt: skip
        add_credential(session, vault, name="wan-dev", kind="ssh", username="root", secrets={"password": "wan-dev-pass"}, scope=Scope(device_id=ids["party_wan"]),
                       actor="test")  # fmt: skip
        add_credential(session, vault, name="inet-dev", kind="ssh", username="root", secrets={"password": "inet-dev-pass"}, scope=Scope(device_id=ids["internet"]),
                       actor="test")  # fmt: skip
    return Hub(engine, settings, vault, ids)


def collector(hub: Hub, home: Path, name: str, zone: str, *, site: str = SITE) -> CollectorKeys:
    """A collector's keys (made in its own home) registered on the hub for `zone`."""
    keys = collector_keys(Settings(home=home), name)
    with db.session_scope(hub.engine) as session:
        register(session, keys.public_line(), site, zone, "test")
    return keys


def poll_body(addresses: list[str], *, serial_of=None, config: str | None = None) -> dict:
    outcomes = []
    for address in addresses:
        target = Target(address=address, site_code="FORGED", zone="forged")
        serial = serial_of(address) if serial_of else None
        facts = DeviceFacts(address=address, source="snmp", sys_name=f"host-{address}", vendor="Cisco", model="C2960", serial=serial,
                            interfaces=(InterfaceRecord(index=1, name="Gi0/1", mac=f"00:11:22:33:{address.split('.')[1]:0>2}:{address.split('.')[-1]:0>2}"),),
                            running_config=config)  # fmt: skip
        outcomes.append(outcome_to_json(Outcome(target, (facts,), None, ("lab",), 5)))
    now = datetime.now(UTC).isoformat()
    body = {"run": {"kind": "poll", "params": {}, "started_at": now, "finished_at": now, "status": "ok"}, "outcomes": outcomes}
    return json.loads(json.dumps(body, default=str))


def batch(seq: int, body: dict, kind: str = "poll") -> dict:
    return {"seq": seq, "kind": kind, "created_at": datetime.now(UTC).isoformat(), "body": body}


def frame(keys: CollectorKeys, batches: list[dict], status: dict | None = None, *, signer: str | None = None) -> bytes:
    status = status or {"acked_seq": 0, "pending": len(batches), "oldest_unacked_at": datetime.now(UTC).isoformat(), "dropped": 0}
    payload = wire.pack_batches(keys.name, batches, status, datetime.now(UTC))
    return wire.Frame(wire.BATCHES, signer or keys.name, keys.sign(payload), payload).to_bytes()
