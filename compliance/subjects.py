"""What the device, site and zone checks look at: plain frozen records built by the engine
from the inventory (or by a benchmark from synthetic data). Checks never query anything."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compliance.policy import Policy


class _cached_property:  # noqa: N801 (named like the functools decorator it replaces)
    """`functools.cached_property` without its lock (Python 3.11 takes one at every first access,
    3.12 dropped it): the value depends on frozen fields only, so a race computes it twice at worst."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func
        self.attrname = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.attrname = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.attrname] = self.func(instance)
        return value


@dataclass(frozen=True)
class DeviceSubject:
    id: int
    device_class: str
    site_id: int
    zone: str | None
    status: str
    today: date
    policy: Policy = field(repr=False, compare=False)
    vendor: str | None = None
    model: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    country_of_origin: str | None = None
    purchase_date: date | None = None
    mgmt_ip: str | None = None
    zone_subnets: tuple[str, ...] = ()
    facts: Mapping[str, str] = field(default_factory=dict)  # latest collected observations
    zones_seen: frozenset[str] = frozenset()  # zones of its site where its MACs were seen
    seen_macs: tuple[str, ...] = ()  # its MACs that were seen in more than one zone
    seen_at: tuple[str, ...] = ()  # for each of those: the switches and ports that learnt it

    @_cached_property
    def software(self) -> list[tuple[str, date | None]]:
        raw = self.facts.get("host.software")
        if not raw:
            return []
        out = []
        for name, installed in _json(raw):
            out.append((name, date.fromisoformat(installed) if installed else None))
        return out

    def fact_int(self, key: str) -> int | None:
        value = self.facts.get(key)
        return int(value) if value not in (None, "") else None

    @_cached_property
    def disks(self) -> list[tuple[str, int, str | None]]:
        """(description, size in KB, "SSD"/"HDD" or None where not reported): SNMP reports
        [description, size], an agent [description, size, kind]."""
        raw = self.facts.get("host.disks")
        return [(str(entry[0]), int(entry[1]), entry[2] if len(entry) > 2 else None) for entry in _json(raw)] if raw else []

    @_cached_property
    def disks_kb(self) -> list[int]:
        return [size for _, size, _ in self.disks]

    @_cached_property
    def antivirus(self) -> list[dict[str, Any]] | None:
        """The anti-virus products an agent reported (name, enabled, up_to_date, signature_date
        ...), or None when no agent reported any section of them."""
        raw = self.facts.get("host.antivirus")
        return None if raw is None else [entry for entry in _json(raw) if isinstance(entry, dict) and entry.get("name")]

    def ip_in_zone(self) -> bool | None:
        if not self.mgmt_ip or not self.zone_subnets:
            return None
        return _inside(self.mgmt_ip, self.zone_subnets)


_raw_decode = json.JSONDecoder().raw_decode


def _json(raw: str) -> object:
    """`json.loads(raw)`: straight to the C scanner when the whole text is one JSON value."""
    try:
        value, end = _raw_decode(raw)
    except (ValueError, TypeError):
        return json.loads(raw)  # leading whitespace, bytes, or invalid: json.loads says which
    return value if end == len(raw) else json.loads(raw)


@lru_cache(maxsize=4096)
def _networks(cidrs: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """(network address, mask) pairs as integers: membership is then two integer operations."""
    out = []
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr)
        out.append((int(net.network_address), int(net.netmask)))
    return tuple(out)


def _inside(ip: str, cidrs: tuple[str, ...]) -> bool:
    try:
        value = int.from_bytes(socket.inet_aton(ip), "big")
    except OSError:
        return any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in cidrs)  # IPv6
    for network, mask in _networks(cidrs):  # noqa: SIM110 (hot path: a loop beats any() over a generator)
        if value & mask == network:
            return True
    return False


@dataclass(frozen=True)
class SiteSubject:
    id: int
    code: str
    in_use: Mapping[tuple[str, str], int]  # (zone kind, device class) -> devices in use
    zones: tuple[str, ...] = ("party_wan", "internet")
