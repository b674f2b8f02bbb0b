"""An agent's report into the inventory: the device it is (the same identity rules as every
other source: serial, then MACs, then the agent's own ids), its columns brought up to date, and
every fact that changed kept as an observation of source "agent".

A partial report changes only what it carries. A report whose content is the machine's last
one again changes nothing (an offline file imported twice), beyond when the machine was last
heard of when it came over the network. What the endpoint is not allowed to be is refused:
a machine of another site, or one whose addresses fit no zone of the account's site when the
account names no zone.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import String, event, insert, literal, select, union_all
from sqlmodel import Session

from collectors import vendors
from collectors.agents.records import AgentReport
from inventory.choices import DeviceClass, DeviceSource
from inventory.db import SQLITE_BUSY_TIMEOUT_SECONDS
from inventory.identity import normalize_serial
from inventory.models import AgentAccount, AgentMachine, Device, DeviceMac, Observation, Site, Subnet, Zone, utcnow
from inventory.observations import latest_observations
from inventory.text import clean_text, fit_column

log = logging.getLogger("kiemke.agents")

SOURCE = "agent"

LAPTOP_CHASSIS = ("laptop", "notebook", "portable", "sub notebook", "convertible", "detachable", "hand held")
TABLET_CHASSIS = ("tablet",)
SERVER_CHASSIS = ("rack mount", "blade", "multi-system", "main server")


class AgentRefused(Exception):
    """A report kiemke will not take; the message says why (for the log and the agent)."""


@dataclass
class Stored:
    device_id: int
    site_id: int
    created: bool
    changed: list[str] = field(default_factory=list)  # fact keys and columns that changed
    repeated: bool = False  # the same content as the machine's last report: nothing changed


def _fit(value: str | None, limit: int) -> str | None:
    """fit_column, with surrounding blanks dropped and a blank value as no value (agents send "");
    cleaned before the blanks are dropped, so a control character counts as content."""
    text = clean_text(value).strip() if value is not None else ""
    return fit_column(text, limit) if text else None


def facts_of(report: AgentReport) -> dict[str, str]:
    """The observations a report makes: fact key -> text. Only what the report carries."""
    out: dict[str, str] = {}

    def put(key: str, value: object) -> None:
        if value is not None:
            out[key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)

    put("sys_name", report.hostname)
    put("vendor", report.vendor)
    put("model", report.model)
    put("serial", normalize_serial(report.serial))
    put("os_name", report.os_name)
    put("os_version", report.os_version)
    put("host.os_build", report.os_build)
    put("host.cpu", report.cpu_model)
    put("host.cores", None if report.cores is None else str(report.cores))
    put("host.threads", None if report.threads is None else str(report.threads))
    put("host.ram_kb", None if report.ram_kb is None else str(report.ram_kb))
    if report.storages is not None:
        put("host.disks", [[s.description, s.size_kb, s.kind] for s in report.storages])
    if report.antivirus is not None:
        put("host.antivirus", [
            {"name": a.name, "company": a.company, "version": a.version, "enabled": a.enabled, "up_to_date": a.up_to_date,
             "signature_version": a.signature_version, "signature_date": a.signature_date.isoformat() if a.signature_date else None}
            for a in report.antivirus
        ])  # fmt: skip
    put("host.disk_encryption", report.encryption)
    put("host.encryption_detail", report.encryption_detail)
    put("host.secure_boot", report.secure_boot)
    put("host.firewall", report.firewall)
    put("host.uuid", report.uuid)
    put("agent.deviceid", report.deviceid)
    put("agent.version", report.agent)
    if report.nics is not None:
        put("host.addresses", ",".join(report.addresses))
    return {key: clean_text(value)[:65536] for key, value in out.items()}


def device_class_for(report: AgentReport) -> str:
    """A best guess at the class of a machine nobody recorded, from its chassis and OS."""
    chassis = (report.chassis or "").lower()
    os_name = (report.os_name or "").lower()
    if "server" in os_name or any(word in chassis for word in SERVER_CHASSIS):
        return DeviceClass.SERVER.value
    if any(word in chassis for word in TABLET_CHASSIS):
        return DeviceClass.TABLET.value
    if any(word in chassis for word in LAPTOP_CHASSIS):
        return DeviceClass.LAPTOP.value
    return DeviceClass.DESKTOP.value  # what agents run on: a computer


@dataclass(frozen=True)
class _Placement:
    zone_id: int
    address: str | None  # the report's address inside that zone's subnets


@lru_cache(maxsize=16384)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A subnet's network, parsed once per process (every report reads every subnet)."""
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


class _SiteMap:
    """Subnets of every zone, to tell which site and zone an address belongs to."""

    def __init__(self, session: Session) -> None:
        # One query (every report reads it): each zone with its site's code and its subnets.
        rows = session.execute(select(Zone.id, Zone.site_id, Zone.kind, Site.code, Subnet.cidr).join(Site, Site.id == Zone.site_id).outerjoin(Subnet, Subnet.zone_id == Zone.id)).all()
        self.networks = []
        self.zones: dict[tuple[int, str], int] = {}
        self.site_codes: dict[int, str] = {}
        for zone_id, site_id, kind, code, cidr in rows:
            self.zones[(site_id, kind)] = zone_id
            self.site_codes[site_id] = code
            network = _network(cidr) if cidr is not None else None
            if network is not None:
                self.networks.append((network, zone_id, site_id, kind))

    def place(self, addresses: tuple[str, ...], account: AgentAccount, site_code: str) -> _Placement:
        other_sites: set[int] = set()
        for text in addresses:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            for network, zone_id, site_id, _kind in self.networks:
                if address in network:
                    if site_id == account.site_id:
                        return _Placement(zone_id, text)
                    other_sites.add(site_id)
        if other_sites:
            raise AgentRefused(f"the machine's addresses ({', '.join(addresses)}) belong to another site than {site_code}")
        if account.zone_kind and (account.site_id, account.zone_kind) in self.zones:
            return _Placement(self.zones[(account.site_id, account.zone_kind)], None)
        shown = ", ".join(addresses) or "none"
        raise AgentRefused(f"no address of the machine ({shown}) is in a subnet of site {site_code}, and account {account.name} names no zone")


@dataclass(frozen=True)
class _Known:
    """What the inventory holds already of a report's serial, MACs and UUID."""

    serial_device: int | None = None
    mac_owners: dict[str, int] = field(default_factory=dict)  # MAC -> device id
    uuid_device: int | None = None


def _known(session: Session, report: AgentReport, serial: str | None) -> _Known:
    """One query (a round trip less or two for every report, on PostgreSQL) for the identity
    keys the report carries."""
    parts = []
    if serial:
        parts.append(select(literal("serial", String).label("kind"), Device.serial.label("value"), Device.id.label("device_id")).where(Device.serial == serial))
    if report.macs:
        parts.append(select(literal("mac", String), DeviceMac.mac, DeviceMac.device_id).where(DeviceMac.mac.in_(report.macs)))
    if report.uuid:
        parts.append(select(literal("uuid", String), AgentMachine.uuid, AgentMachine.device_id).where(AgentMachine.uuid == report.uuid))
    if not parts:
        return _Known()
    serial_device, uuid_device, owners = None, None, {}
    for kind, value, device_id in session.execute(union_all(*parts) if len(parts) > 1 else parts[0]):
        if kind == "serial":
            serial_device = device_id
        elif kind == "mac":
            owners[value] = device_id
        elif uuid_device is None or device_id < uuid_device:
            uuid_device = device_id
    return _Known(serial_device, owners, uuid_device)


def _match(known: _Known, machine: AgentMachine | None) -> int | None:
    """The recorded device this report is: serial first, then MACs, then the agent's UUID and
    machine id (machines without a serial: virtual machines)."""
    if known.serial_device is not None:
        return known.serial_device
    owners = set(known.mac_owners.values())
    if len(owners) == 1:
        return owners.pop()
    if len(owners) > 1:
        raise AgentRefused(f"its MAC addresses belong to {len(owners)} different recorded devices ({', '.join(f'#{o}' for o in sorted(owners))})")
    if known.uuid_device is not None:
        return known.uuid_device
    return machine.device_id if machine is not None else None


# SQLite lets one connection write at a time, and a writer that finds the database locked sleeps
# and retries, 1 ms then up to 100 ms apart (SQLite's busy handler): with 20 agents posting at
# once some waited seconds while others went ahead (bench: p95 575 ms, max 2.5 s). The reports of
# one process take turns instead, each from its first read to its transaction's end (p95 374 ms,
# max 0.5 s, and 87 reports/s rather than 70); two reports of one machine then never both
# create it. PostgreSQL needs no turns.
_TURNS: dict[str, threading.Lock] = {}
_TURNS_GUARD = threading.Lock()
_HOLDS_TURN = "kiemke.agent_report_turn"


def _take_turn(session: Session) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or _HOLDS_TURN in session.info:
        return
    with _TURNS_GUARD:
        turn = _TURNS.setdefault(str(bind.url), threading.Lock())
    if not turn.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS):
        return  # SQLite's own busy timeout decides from here
    session.info[_HOLDS_TURN] = turn
    if not event.contains(session, "after_transaction_end", _end_turn):
        event.listen(session, "after_transaction_end", _end_turn)


def _end_turn(session: Session, transaction) -> None:
    if transaction.parent is None and _HOLDS_TURN in session.info:  # committed or rolled back
        session.info.pop(_HOLDS_TURN).release()


def store_report(session: Session, report: AgentReport, account: AgentAccount, *, content_sha256: str, online: bool, now: datetime | None = None) -> Stored:
    """Put `report` into the inventory (not committed: the caller commits). Raises AgentRefused."""
    _take_turn(session)
    now = now or utcnow()
    machine = session.execute(select(AgentMachine).where(AgentMachine.deviceid == report.deviceid)).scalar_one_or_none()
    device = session.get(Device, machine.device_id) if machine is not None and machine.content_sha256 == content_sha256 else None
    if device is not None and device.site_id == account.site_id:  # a repeat, and only for its own site's account
        if online:
            device.last_seen = now
            machine.last_report_at = now
        return Stored(device.id, device.site_id, created=False, repeated=True)
    sites = _SiteMap(session)
    site_code = sites.site_codes.get(account.site_id) or session.get(Site, account.site_id).code
    placement = sites.place(report.addresses, account, site_code)
    serial = normalize_serial(_fit(report.serial, 100))
    known = _known(session, report, serial)
    device_id = _match(known, machine)
    created = False
    if device_id is None:
        device = _create(session, report, account, placement, serial, now)
        created = True
    else:
        device = session.get(Device, device_id)
        if device.site_id != account.site_id:
            raise AgentRefused(f"the machine is device #{device.id}, recorded at another site than {site_code}")
    changed = _update(session, device, report, serial, now)
    _own_macs(session, device, report, known)
    changed += _observe(session, device, report, now, created=created)
    if machine is None:
        machine = AgentMachine(deviceid=report.deviceid, device_id=device.id, first_report_at=now)
        session.add(machine)
    machine.device_id = device.id
    machine.account_id = account.id
    machine.uuid = _fit(report.uuid, 64) or machine.uuid
    machine.agent = _fit(report.agent, 100) or machine.agent
    machine.protocol = report.protocol
    machine.last_report_at = now
    machine.content_sha256 = content_sha256
    session.flush()
    return Stored(device.id, device.site_id, created=created, changed=changed)


def _create(session: Session, report: AgentReport, account: AgentAccount, placement: _Placement, serial: str | None, now: datetime) -> Device:
    """A new device; `serial` is no recorded device's (_match looked)."""
    ip = placement.address
    if ip and session.execute(select(Device.id).where(Device.zone_id == placement.zone_id, Device.mgmt_ip == ip)).first() is not None:
        ip = None
    vendor = _fit(report.vendor, 100)
    model = _fit(report.model, 200)
    device = Device(
        device_class=device_class_for(report), site_id=account.site_id, zone_id=placement.zone_id, hostname=_fit(report.hostname, 255),
        mgmt_ip=ip, vendor=vendor, model=model, serial=serial, os_name=_fit(report.os_name, 100), os_version=_fit(report.os_version, 100),
        country_of_origin=vendors.origin_for(vendor, model), source=DeviceSource.DISCOVERED.value, first_seen=now, last_seen=now,
        notes=f"reported by an endpoint agent (account {account.name})",
    )  # fmt: skip
    session.add(device)
    session.flush()
    return device


def _update(session: Session, device: Device, report: AgentReport, serial: str | None, now: datetime) -> list[str]:
    updates = {"hostname": _fit(report.hostname, 255), "vendor": _fit(report.vendor, 100), "model": _fit(report.model, 200)}
    if report.os_name:
        updates.update(os_name=_fit(report.os_name, 100), os_version=_fit(report.os_version, 100))
    if serial and serial != device.serial:
        taken = session.execute(select(Device.id).where(Device.serial == serial, Device.id != device.id)).first()
        if taken is None:
            updates["serial"] = serial
    changed = []
    for key, value in updates.items():
        if value and getattr(device, key) != value:
            setattr(device, key, value)
            changed.append(key)
    if not device.country_of_origin:
        origin = vendors.origin_for(device.vendor, device.model)
        if origin:
            device.country_of_origin = origin
            changed.append("country_of_origin")
    if changed:
        device.updated_at = now
    device.first_seen = device.first_seen or now
    device.last_seen = now
    return changed


def _own_macs(session: Session, device: Device, report: AgentReport, known: _Known) -> None:
    for mac in report.macs:
        if mac not in known.mac_owners:  # already this device's, or another's: never steal a MAC
            session.add(DeviceMac(device_id=device.id, mac=mac))


def _observe(session: Session, device: Device, report: AgentReport, now: datetime, *, created: bool) -> list[str]:
    current = {} if created else latest_observations(session, [device.id]).get(device.id, {})
    rows = [{"device_id": device.id, "observed_at": now, "source": SOURCE, "key": key, "value": value} for key, value in facts_of(report).items() if current.get(key) != value]
    if rows:  # one INSERT for all: ORM objects cost a report a third of its time, and nobody reads them back here
        session.execute(insert(Observation), rows)
    return [row["key"] for row in rows]
