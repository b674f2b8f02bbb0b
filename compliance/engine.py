"""Evaluate the whole fleet: load subjects from the inventory, run every applicable rule, and
return the failures. Pure evaluation (`evaluate`) is separate from loading, so a benchmark can
feed it synthetic subjects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session

import compliance.checks  # noqa: F401  (registers every check)
from compliance.checks.base import get_check
from compliance.configparse import NetworkConfigFacts, parse_config
from compliance.policy import Policy, Rule
from compliance.subjects import DeviceSubject, SiteSubject
from inventory.models import ConfigSnapshot, Device, DeviceMac, MacSighting, Site, Zone
from inventory.repository import zone_subnets

PLATFORM_BY_VENDOR = {"Cisco": "cisco_ios", "Fortinet": "fortinet"}


@dataclass(frozen=True)
class Violation:
    rule_id: str
    severity: str
    subject_key: str
    device_id: int | None
    site_id: int | None
    expected: str
    actual: str
    evidence: tuple[str, ...] = ()


@dataclass
class Evaluation:
    violations: list[Violation] = field(default_factory=list)
    devices: int = 0
    sites: int = 0
    checks_run: int = 0
    failing_devices: set[int] = field(default_factory=set)


def _rules_by_family(policy: Policy) -> dict[str, dict[str, list[tuple[Rule, object]]]]:
    """device class -> family -> (rule, check function), resolved once per evaluation."""
    out: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for rule in policy.baseline.rules:
        registered = get_check(rule.check) if rule.enabled else None
        if registered is None:
            continue
        for device_class in rule.applies_to:
            out[device_class][registered.subject].append((rule, registered.func))
    return out


def evaluate(
    devices: Iterable[DeviceSubject],
    sites: Iterable[SiteSubject],
    policy: Policy,
    configs: dict[int, NetworkConfigFacts] | None = None,
    orphan_macs: Iterable[tuple[int, str, frozenset[str]]] = (),
) -> Evaluation:
    """Every failing (rule, subject). `orphan_macs`: (site id, MAC, zones) for MACs that no
    recorded device owns but that were seen at a site."""
    configs = configs or {}
    rules = _rules_by_family(policy)
    result = Evaluation()
    add = result.violations.append
    for device in devices:
        result.devices += 1
        families = rules.get(device.device_class, {})
        for family, subject in (("device", device), ("network_config", configs.get(device.id))):
            if subject is None:
                continue
            for rule, func in families.get(family, ()):
                outcome = func(subject, rule.params)
                result.checks_run += 1
                if outcome.passed is False:
                    add(Violation(rule.id, rule.severity, f"device:{device.id}", device.id, device.site_id, outcome.expected, outcome.actual, tuple(outcome.evidence)))
                    result.failing_devices.add(device.id)
    site_rules = [r for r in policy.baseline.rules if r.enabled and get_check(r.check) and get_check(r.check).subject == "site"]
    for site in sites:
        result.sites += 1
        for rule in site_rules:
            outcome = get_check(rule.check).func(site, rule.params)
            result.checks_run += 1
            if outcome.passed is False:
                add(Violation(rule.id, rule.severity, f"site:{site.id}:{rule.id}", None, site.id, outcome.expected, outcome.actual, tuple(outcome.evidence)))
    if any(r.id == "zone.mac_both_zones" and r.enabled for r in policy.baseline.rules):
        rule = policy.rule("zone.mac_both_zones")
        for site_id, mac, zones in orphan_macs:
            if {"party_wan", "internet"} <= zones:
                add(Violation(rule.id, rule.severity, f"site:{site_id}:mac:{mac}", None, site_id, "MAC seen in one zone only", "an unrecorded MAC seen in both zones", (f"MAC {mac} seen on the Party WAN and the Internet network",)))
    return result


# -- loading from the inventory -------------------------------------------------------------------


@dataclass
class Fleet:
    devices: list[DeviceSubject]
    sites: list[SiteSubject]
    configs: dict[int, NetworkConfigFacts]
    orphan_macs: list[tuple[int, str, frozenset[str]]]
    config_errors: dict[int, str]


def load_fleet(session: Session, policy: Policy, today: date) -> Fleet:
    from collectors.reconcile import latest_observations

    zone_kind = dict(session.execute(select(Zone.id, Zone.kind)).all())
    subnets = zone_subnets(session)
    observations = latest_observations(session)
    macs_of: dict[int, list[str]] = defaultdict(list)
    owner: dict[str, int] = {}
    for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac)):
        macs_of[device_id].append(mac)
        owner[mac] = device_id
    seen: dict[tuple[int, str], set[str]] = defaultdict(set)  # (site, mac) -> zone kinds
    for site_id, mac, zone_id in session.execute(select(MacSighting.site_id, MacSighting.mac, MacSighting.zone_id)):
        seen[(site_id, mac)].add(zone_kind[zone_id])

    devices: list[DeviceSubject] = []
    in_use: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    platforms: dict[int, str] = {}
    for d in session.execute(select(Device).where(Device.status != "disposed")).scalars():
        own_zone = zone_kind.get(d.zone_id)
        zones_seen: set[str] = set()
        multi: list[str] = []
        for mac in macs_of.get(d.id, ()):
            zones = seen.get((d.site_id, mac), set())
            zones_seen |= zones
            if len(zones | ({own_zone} if own_zone else set())) > 1:
                multi.append(mac)
        devices.append(
            DeviceSubject(
                id=d.id, device_class=d.device_class, site_id=d.site_id, zone=own_zone, status=d.status, today=today,
                policy=policy, vendor=d.vendor, model=d.model, os_name=d.os_name, os_version=d.os_version,
                country_of_origin=d.country_of_origin, purchase_date=d.purchase_date, mgmt_ip=d.mgmt_ip,
                zone_subnets=tuple(subnets.get(d.zone_id, ())), facts=observations.get(d.id, {}),
                zones_seen=frozenset(zones_seen | ({own_zone} if own_zone and zones_seen else set())), seen_macs=tuple(multi),
            )  # fmt: skip
        )
        if d.status == "in_use" and own_zone:
            in_use[d.site_id][(own_zone, d.device_class)] += 1
        platform = d.platform or PLATFORM_BY_VENDOR.get(d.vendor or "")
        if platform:
            platforms[d.id] = platform

    sites = [SiteSubject(id=s.id, code=s.code, in_use=dict(in_use[s.id])) for s in session.execute(select(Site)).scalars()]

    configs: dict[int, NetworkConfigFacts] = {}
    errors: dict[int, str] = {}
    latest = select(func.max(ConfigSnapshot.id)).group_by(ConfigSnapshot.device_id).scalar_subquery()
    for device_id, text in session.execute(select(ConfigSnapshot.device_id, ConfigSnapshot.text).where(ConfigSnapshot.id.in_(latest))):
        platform = platforms.get(device_id)
        if platform is None:
            continue
        try:
            configs[device_id] = parse_config(text, platform)
        except ValueError as exc:
            errors[device_id] = str(exc)
    orphans = [(site_id, mac, frozenset(zones)) for (site_id, mac), zones in seen.items() if mac not in owner and len(zones) > 1]
    return Fleet(devices, sites, configs, orphans, errors)


def evaluate_fleet(session: Session, policy: Policy, today: date) -> tuple[Fleet, Evaluation]:
    fleet = load_fleet(session, policy, today)
    return fleet, evaluate(fleet.devices, fleet.sites, policy, fleet.configs, fleet.orphan_macs)

