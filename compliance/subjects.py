"""What the device, site and zone checks look at: plain frozen records built by the engine
from the inventory (or by a benchmark from synthetic data). Checks never query anything."""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from compliance.policy import Policy


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

    @cached_property
    def software(self) -> list[tuple[str, date | None]]:
        raw = self.facts.get("host.software")
        if not raw:
            return []
        out = []
        for name, installed in json.loads(raw):
            out.append((name, date.fromisoformat(installed) if installed else None))
        return out

    def fact_int(self, key: str) -> int | None:
        value = self.facts.get(key)
        return int(value) if value not in (None, "") else None

    @cached_property
    def disks_kb(self) -> list[int]:
        raw = self.facts.get("host.disks")
        return [int(size) for _, size in json.loads(raw)] if raw else []

    def ip_in_zone(self) -> bool | None:
        if not self.mgmt_ip or not self.zone_subnets:
            return None
        return _inside(self.mgmt_ip, self.zone_subnets)


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
    return any(value & mask == network for network, mask in _networks(cidrs))


@dataclass(frozen=True)
class SiteSubject:
    id: int
    code: str
    in_use: Mapping[tuple[str, str], int]  # (zone kind, device class) -> devices in use
    zones: tuple[str, ...] = ("party_wan", "internet")
