"""Device identity: how a row or a collected device is matched to what is recorded.

A serial number identifies a device; without one, a MAC address; without either, its IP
address within its zone. The database enforces the same three keys (see models.Device).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from inventory.models import Device, DeviceMac

_HEX = re.compile(r"[0-9a-fA-F]")


def normalize_mac(value: str) -> str:
    """Any common MAC notation to lower-case colon form.

    >>> normalize_mac("AABB.CCDD.EEFF")
    'aa:bb:cc:dd:ee:ff'
    >>> normalize_mac("aa-bb-cc-dd-ee-ff")
    'aa:bb:cc:dd:ee:ff'
    """
    digits = "".join(_HEX.findall(value))
    stripped = re.sub(r"[\s:.\-]", "", value)
    if len(digits) != 12 or len(stripped) != 12:
        raise ValueError(f"not a MAC address: {value!r}")
    digits = digits.lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def normalize_serial(value: str | None) -> str | None:
    value = (value or "").strip()
    return value.upper() or None


class IdentityConflict(ValueError):
    """The keys of one candidate point at two different recorded devices."""


@dataclass
class IdentityIndex:
    """In-memory index of the three identity keys, for bulk matching."""

    by_serial: dict[str, int] = field(default_factory=dict)
    by_mac: dict[str, int] = field(default_factory=dict)
    by_zone_ip: dict[tuple[int | None, str], int] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> IdentityIndex:
        index = cls()
        for device_id, serial, zone_id, ip in session.execute(select(Device.id, Device.serial, Device.zone_id, Device.mgmt_ip)):
            index.add(device_id, serial=serial, zone_id=zone_id, ip=ip)
        for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac)):
            index.by_mac[mac] = device_id
        return index

    @classmethod
    def load_for(cls, session: Session, *, serials: Iterable[str] = (), macs: Iterable[str] = (), zone_ips: Iterable[tuple[int | None, str]] = ()) -> IdentityIndex:
        """Only the entries these keys can meet: for them, the same answers as `load`.

        A batch of results reads the devices its serials, MACs and (zone, address) pairs name
        instead of the whole fleet (at 50,000 devices the whole index cost more than the batch).
        The keys are unique in the database (serial; MAC; address within a zone), so an entry
        read here is the one `load` would hold; a matched device brings its other keys too. (Two
        devices without a zone at one address have no single answer in `load` either; here the
        later by id wins.)
        """
        index = cls()
        device = select(Device.id, Device.serial, Device.zone_id, Device.mgmt_ip).order_by(Device.id)
        queries = [device.where(Device.serial.in_(chunk)) for chunk in chunks(serials)]
        by_zone: dict[int | None, set[str]] = {}
        for zone_id, ip in zone_ips:
            if ip:
                by_zone.setdefault(zone_id, set()).add(ip)
        for zone_id, ips in by_zone.items():
            # Without a zone, `load` keys the address under None too (NULLs are never equal in SQL).
            in_zone = Device.zone_id.is_(None) if zone_id is None else Device.zone_id == zone_id
            queries += [device.where(in_zone, Device.mgmt_ip.in_(chunk)) for chunk in chunks(ips)]
        for query in queries:
            for device_id, serial, zone_id, ip in session.execute(query):
                index.add(device_id, serial=serial, zone_id=zone_id, ip=ip)
        for chunk in chunks(macs):
            for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac).where(DeviceMac.mac.in_(chunk)).order_by(DeviceMac.id)):
                index.by_mac[mac] = device_id
        return index

    def device_ids(self) -> set[int]:
        return set(self.by_serial.values()) | set(self.by_mac.values()) | set(self.by_zone_ip.values())

    def add(self, device_id: int, *, serial=None, macs=(), zone_id=None, ip=None) -> None:
        if serial:
            self.by_serial[serial] = device_id
        for mac in macs:
            self.by_mac[mac] = device_id
        if ip:
            self.by_zone_ip[(zone_id, ip)] = device_id

    def match(self, *, serial=None, macs=(), zone_id=None, ip=None) -> int | None:
        """The recorded device these keys name, by the rules' order; conflicts raise."""
        candidates: list[tuple[str, int]] = []
        if serial and serial in self.by_serial:
            candidates.append((f"serial {serial}", self.by_serial[serial]))
        for mac in macs:
            if mac in self.by_mac:
                candidates.append((f"MAC {mac}", self.by_mac[mac]))
        if ip and (zone_id, ip) in self.by_zone_ip:
            candidates.append((f"IP {ip}", self.by_zone_ip[(zone_id, ip)]))
        ids = {device_id for _, device_id in candidates}
        if len(ids) > 1:
            described = ", ".join(f"{what} is device #{device_id}" for what, device_id in candidates)
            raise IdentityConflict(f"matches more than one recorded device ({described})")
        return candidates[0][1] if candidates else None


def chunks(values: Iterable, size: int = 500) -> list[list]:
    """Distinct values in lists short enough for one IN (...) on SQLite and PostgreSQL."""
    distinct = sorted({v for v in values if v})
    return [distinct[i : i + size] for i in range(0, len(distinct), size)]
