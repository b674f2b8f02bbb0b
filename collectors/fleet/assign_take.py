"""A collector takes its assignment from the hub (collector side; the hub builds it in
collectors/fleet/assign_give.py): which site and zone it serves, the zone's subnets and recorded
devices, and the credentials for them, sealed to this collector's box key.

Checked before anything is written: the hub's signature (the key is pinned by the first
assignment taken, and a later one signed by another key is refused), the collector's name, a
version newer than the one held, every value's kind. Then, in one transaction: the site, zone,
subnets and devices upserted, the previous assignment's credentials replaced (stored with this
collector's own credential key, as `kiemke credential add` does), the assignment kept in
`collector_identity` without its credentials. A refused assignment changes nothing.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlmodel import Session

from collectors.credentials import SECRET_FIELDS, CredentialError, Scope, add_credential
from collectors.fleet import identity, wire
from collectors.fleet.outbox import IDENTITY_ID
from inventory import audit, db
from inventory.choices import DeviceClass, DeviceSource, DeviceStatus, SiteKind, ZoneKind, values
from inventory.crypto import Vault
from inventory.identity import normalize_serial
from inventory.models import CollectorIdentity, Credential, Device, Province, Site, Subnet, Zone, utcnow
from inventory.settings import Settings

ACTOR = "collector:assignment"
PLACEHOLDER_PROVINCE = ("HUB", "(the hub's province)")
DEVICE_TEXT = {"hostname": 255, "vendor": 100, "model": 200, "serial": 100, "platform": 32, "os_name": 100, "os_version": 100}


class AssignmentError(ValueError):
    """An assignment this collector will not take: one line, no secret. Nothing was changed."""


@dataclass(frozen=True)
class Taken:
    version: int
    site: str
    zone: str
    subnets: int
    devices: int
    credentials: int
    hub_fingerprint: str
    pinned_now: bool  # the first assignment: the hub's key was pinned by this one
    already: bool = False  # not newer than the one held: nothing was changed


def take(engine: Engine, settings: Settings, frame_bytes: bytes) -> Taken:
    """Check and take an assignment frame (a file's or the hub's answer to hello)."""
    frame = _read(frame_bytes)
    with db.session_scope(engine) as session:
        me = session.get(CollectorIdentity, IDENTITY_ID)
        if me is None:
            raise AssignmentError("this database is not a collector's: run `kiemke collector init` first")
        document, hub_public = _verified(frame, me)
        version = document.get("version")
        if type(version) is not int or version < 1:
            raise AssignmentError("the assignment has no version")
        if version < me.assignment_version:
            raise AssignmentError(f"the assignment is older (version {version}) than the one this collector holds (version {me.assignment_version})")
        if version == me.assignment_version:
            return Taken(version, me.site_code or "", me.zone_kind or "", 0, 0, 0, identity.fingerprint(hub_public), False, already=True)
        plan = _checked(document, identity.collector_keys(settings, me.name))
        pinned_now = me.hub_key is None
        site = _upsert_site(session, plan["site"])
        zone = _upsert_zone(session, site, plan["zone"], plan["subnets"])
        devices = _upsert_devices(session, site, zone, plan["devices"])
        _replace_credentials(session, Vault(settings.credential_key), site, plan["credentials"], devices)
        me.hub_key = hub_public
        me.site_code, me.zone_kind = site.code, zone.kind
        me.assignment = {k: v for k, v in document.items() if k != "credentials"} | {"credentials": len(plan["credentials"]), "taken_at": utcnow().isoformat()}
        me.assignment_version = version
        audit.record(session, ACTOR, "take", "collector_assignment", version,
                     after={"site": site.code, "zone": zone.kind, "subnets": plan["subnets"], "devices": len(devices), "credentials": len(plan["credentials"]),
                            "hub_key": identity.fingerprint(hub_public)})  # fmt: skip
        return Taken(version, site.code, zone.kind, len(plan["subnets"]), len(devices), len(plan["credentials"]), identity.fingerprint(hub_public), pinned_now)


def _read(frame_bytes: bytes) -> wire.Frame:
    try:
        return wire.read_frame(frame_bytes, wire.ASSIGNMENT, what="assignment")
    except wire.WireError as exc:
        raise AssignmentError(str(exc)) from None


def _verified(frame: wire.Frame, me: CollectorIdentity) -> tuple[dict, str]:
    """The assignment document, its signature checked: against the pinned hub key, or (the first
    one) against the key it names, which is then pinned."""
    if me.hub_key is not None and not identity.verify(me.hub_key, frame.payload, frame.signature):
        raise AssignmentError(f"the assignment is not signed by the hub this collector is pinned to (key {identity.fingerprint(me.hub_key)})")
    try:
        document = wire.unpack_json(frame.payload, wire.ASSIGNMENT_FORMAT, "assignment")
    except wire.WireError as exc:
        raise AssignmentError(str(exc)) from None
    hub_public = document.get("hub_key")
    if not isinstance(hub_public, str):
        raise AssignmentError("the assignment does not name the hub's key")
    if me.hub_key is not None and hub_public != me.hub_key:
        raise AssignmentError(f"the assignment names another hub key ({identity.fingerprint(hub_public)}) than the pinned one ({identity.fingerprint(me.hub_key)})")
    if me.hub_key is None and not identity.verify(hub_public, frame.payload, frame.signature):
        raise AssignmentError("the assignment's signature does not match the hub key it names (altered?)")
    if document.get("collector") != me.name:
        raise AssignmentError(f"the assignment is for another collector ({str(document.get('collector'))[:64]!r}, this one is {me.name!r})")
    return document, hub_public


# -- checking every value before anything is written -------------------------------------------


def _text(value: Any, what: str, limit: int, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise AssignmentError(f"{what}: text of at most {limit} characters expected")
    return value


def _choice(value: Any, allowed: list[str], what: str) -> str:
    if value not in allowed:
        raise AssignmentError(f"{what}: one of {', '.join(allowed)} expected")
    return value


def _checked(document: dict, keys: identity.CollectorKeys) -> dict:
    site = document.get("site")
    if not isinstance(site, dict):
        raise AssignmentError("the assignment names no site")
    province = site.get("province") if isinstance(site.get("province"), dict) else {"code": PLACEHOLDER_PROVINCE[0], "name": PLACEHOLDER_PROVINCE[1]}
    plan: dict[str, Any] = {
        "site": {
            "code": _text(site.get("code"), "site code", 32, required=True),
            "name": _text(site.get("name"), "site name", 200, required=True),
            "kind": _choice(site.get("kind"), values(SiteKind), "site kind"),
            "province": (_text(province.get("code"), "province code", 32, required=True), _text(province.get("name"), "province name", 200, required=True)),
        },
        "zone": _choice(document.get("zone"), values(ZoneKind), "zone"),
    }
    subnets = document.get("subnets")
    if not isinstance(subnets, list):
        raise AssignmentError("the assignment's subnets are missing")
    try:
        plan["subnets"] = sorted({str(ipaddress.ip_network(c, strict=True)) for c in subnets})
    except (TypeError, ValueError):
        raise AssignmentError("the assignment's subnets are not all networks (CIDR)") from None
    devices = document.get("devices")
    if not isinstance(devices, list):
        raise AssignmentError("the assignment's devices are missing")
    plan["devices"] = [_checked_device(d) for d in devices]
    if len({d["address"] for d in plan["devices"]}) != len(plan["devices"]):
        raise AssignmentError("the assignment names one address twice")
    plan["credentials"] = _opened_credentials(document.get("credentials"), keys, {d["address"] for d in plan["devices"]})
    return plan


def _checked_device(item: Any) -> dict:
    if not isinstance(item, dict):
        raise AssignmentError("a device of the assignment is not an object")
    try:
        address = str(ipaddress.ip_address(item.get("address")))
    except (TypeError, ValueError):
        raise AssignmentError("a device of the assignment has no valid address") from None
    device = {"address": address, "device_class": _choice(item.get("device_class"), values(DeviceClass), f"device {address}: class")}
    for name, limit in DEVICE_TEXT.items():
        device[name] = _text(item.get(name), f"device {address}: {name}", limit)
    device["serial"] = normalize_serial(device["serial"])
    status = item.get("status") or DeviceStatus.IN_USE.value
    device["status"] = _choice(status, values(DeviceStatus), f"device {address}: status")
    return device


def _opened_credentials(sealed: Any, keys: identity.CollectorKeys, addresses: set[str]) -> list[dict]:
    if sealed is None:
        return []
    try:
        items = json.loads(keys.open_sealed(sealed))
    except identity.IdentityError as exc:
        raise AssignmentError(str(exc)) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise AssignmentError("the sealed credentials are not JSON") from None
    if not isinstance(items, list):
        raise AssignmentError("the sealed credentials are not a list")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("secrets"), dict):
            raise AssignmentError("a credential of the assignment is malformed")
        name = _text(item.get("name"), "a credential's name", 100, required=True)
        kind = _choice(item.get("kind"), list(SECRET_FIELDS), f"credential {name!r}: kind")
        secrets = item["secrets"]
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in secrets.items()):
            raise AssignmentError(f"credential {name!r}: secrets must be text")  # never the values themselves
        port, priority = item.get("port"), item.get("priority", 100)
        if (port is not None and (type(port) is not int or not 0 < port < 65536)) or type(priority) is not int:
            raise AssignmentError(f"credential {name!r}: port or priority is not a number")
        address = item.get("device_address")
        if address is not None and address not in addresses:
            raise AssignmentError(f"credential {name!r} is scoped to a device the assignment does not name")
        out.append({
            "name": name, "kind": kind, "secrets": secrets, "username": _text(item.get("username"), f"credential {name!r}: username", 100),
            "port": port, "priority": priority, "device_address": address,
            "zone_kind": None if item.get("zone_kind") is None else _choice(item.get("zone_kind"), values(ZoneKind), f"credential {name!r}: zone"),
            "device_class": None if item.get("device_class") is None else _choice(item.get("device_class"), values(DeviceClass), f"credential {name!r}: class"),
        })  # fmt: skip
    if len({c["name"] for c in out}) != len(out):
        raise AssignmentError("the assignment names one credential twice")
    return out


# -- writing (in the caller's transaction) -------------------------------------------------------


def _upsert_site(session: Session, plan: dict) -> Site:
    province_code, province_name = plan["province"]
    province = session.execute(select(Province).where(Province.code == province_code)).scalar_one_or_none()
    if province is None:
        province = Province(code=province_code, name=province_name)
        session.add(province)
        session.flush()
    site = session.execute(select(Site).where(Site.code == plan["code"])).scalar_one_or_none()
    if site is None:
        site = Site(province_id=province.id, code=plan["code"], name=plan["name"], kind=plan["kind"])
        session.add(site)
    else:
        site.province_id, site.name, site.kind = province.id, plan["name"], plan["kind"]
    session.flush()
    return site


def _upsert_zone(session: Session, site: Site, kind: str, subnets: list[str]) -> Zone:
    zone = session.execute(select(Zone).where(Zone.site_id == site.id, Zone.kind == kind)).scalar_one_or_none()
    if zone is None:
        zone = Zone(site_id=site.id, kind=kind)
        session.add(zone)
        session.flush()
    # The hub's list is the zone's list: discovery sweeps exactly these.
    session.execute(delete(Subnet).where(Subnet.zone_id == zone.id, Subnet.cidr.not_in(subnets)))
    held = set(session.execute(select(Subnet.cidr).where(Subnet.zone_id == zone.id)).scalars())
    session.add_all(Subnet(zone_id=zone.id, cidr=c) for c in subnets if c not in held)
    session.flush()
    return zone


def _upsert_devices(session: Session, site: Site, zone: Zone, planned: list[dict]) -> dict[str, int]:
    """The assignment's devices, matched by address in the zone, else by serial; a device the hub
    named before and no longer does is disposed of here (kept, never polled). Devices this
    collector discovered itself stay as they are. Returns {address: device id}."""
    by_address = {d.mgmt_ip: d for d in session.execute(select(Device).where(Device.zone_id == zone.id, Device.mgmt_ip.is_not(None))).scalars()}
    ids: dict[str, int] = {}
    for plan in planned:
        device = by_address.get(plan["address"])
        serial_holder = session.execute(select(Device).where(Device.serial == plan["serial"])).scalar_one_or_none() if plan["serial"] else None
        if device is None:
            device = serial_holder
        elif serial_holder is not None and serial_holder.id != device.id:
            serial_holder.serial = None  # the hub says this serial is the device at this address
            session.flush()
        if device is None:
            device = Device(site_id=site.id, zone_id=zone.id, device_class=plan["device_class"], source=DeviceSource.RECORDED.value)
            session.add(device)
        device.site_id, device.zone_id, device.mgmt_ip = site.id, zone.id, plan["address"]
        for name in ("device_class", "status", *DEVICE_TEXT):
            setattr(device, name, plan[name])
        device.updated_at = utcnow()
        session.flush()
        ids[plan["address"]] = device.id
    for address, device in by_address.items():
        if address not in ids and device.source != DeviceSource.DISCOVERED.value and device.status != DeviceStatus.DISPOSED.value:
            device.status = DeviceStatus.DISPOSED.value
    session.flush()
    return ids


def _replace_credentials(session: Session, vault: Vault, site: Site, credentials: list[dict], devices: dict[str, int]) -> None:
    for old in session.execute(select(Credential)).scalars():
        audit.record(session, ACTOR, "delete", "credential", old.id, before=audit.snapshot(old))
        session.delete(old)
    session.flush()
    for c in credentials:
        scope = Scope(site_id=site.id, zone_kind=c["zone_kind"], device_class=c["device_class"], device_id=devices.get(c["device_address"]) if c["device_address"] else None)
        try:
            add_credential(session, vault, name=c["name"], kind=c["kind"], secrets=c["secrets"], username=c["username"], port=c["port"], priority=c["priority"],
                           scope=scope, actor=ACTOR)  # fmt: skip
        except CredentialError as exc:
            raise AssignmentError(f"a credential of the assignment: {exc}") from None
