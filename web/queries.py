"""Queries the pages need that the repository modules do not have yet (read-only)."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from compliance.coverage import coverage, share, silent_devices, site_totals
from compliance.state import COMPLIANT, NON_COMPLIANT, STATES, UNKNOWN, state_shares
from compliance.verdicts import DeviceVerdicts
from inventory.choices import Severity, values
from inventory.models import AuditLog, Device, DeviceMac, Finding, Interface, Observation, Site, Subnet, Zone
from inventory.repository import list_sites

SEVERITIES = tuple(values(Severity))  # most severe first


@lru_cache(maxsize=1)
def rule_titles() -> dict[str, dict[str, str]]:
    """rule id -> {"vi": title, "en": title}, from the baseline; {} when the policy does not load."""
    from compliance.policy import PolicyError, load_policy

    try:
        policy = load_policy()
    except (PolicyError, OSError):
        return {}
    return {rule.id: {"vi": rule.title.vi, "en": rule.title.en} for rule in policy.baseline.rules}


def site_status(open_by_severity: dict[str, int], devices: int) -> str:
    """A site's most severe open finding, `ok` with none, `empty` without devices."""
    for severity in SEVERITIES:
        if open_by_severity.get(severity):
            return severity
    return "ok" if devices else "empty"


@dataclass(frozen=True)
class Band:
    """A colour band: a site is in it when at least `min_compliant_pct` of its devices are
    compliant and it has at most `max_critical_per_device` open critical findings per device."""

    name: str  # CSS class band-<name>
    min_compliant_pct: float
    max_critical_per_device: float

    @property
    def bounded(self) -> bool:
        """False for the last band, which takes every site the others do not."""
        return math.isfinite(self.max_critical_per_device)


# The sites' colours, best first: a site takes the first band whose two limits it meets. The one
# place they are defined: the overview, the sites list and their legends read them.
BANDS = (
    Band("good", 90.0, 0.0),
    Band("fair", 60.0, 0.1),
    Band("poor", 30.0, 0.5),
    Band("bad", 0.0, math.inf),
)
EMPTY_BAND = "empty"  # no device: nothing to colour


def band_of(compliant_pct: float | None, critical_per_device: float | None) -> str:
    if compliant_pct is None or critical_per_device is None:
        return EMPTY_BAND
    for band in BANDS:
        if compliant_pct >= band.min_compliant_pct and critical_per_device <= band.max_critical_per_device:
            return band.name
    return BANDS[-1].name


def rank_key(site: dict[str, Any]) -> tuple:
    """Worst first: the lowest compliant share, then the most critical findings per device, then
    the largest non-compliant share; sites without devices last."""
    if site["compliant_pct"] is None:
        return (1, 0.0, 0.0, 0.0, site["code"])
    return (0, site["compliant_pct"], -site["critical_per_device"], -site["non_compliant_pct"], site["code"])


# How long a page may show coverage computed earlier, data unchanged: devices fall silent as time
# passes without any change to the data, so cached views that show coverage key on this period.
COVERAGE_PERIOD_SECONDS = 300


def coverage_period() -> int:
    return int(time.time() // COVERAGE_PERIOD_SECONDS)


# The sites list's sort keys (query argument `sort`); None values (no devices) always last.
SITE_SORTS = {
    "rank": None,
    "code": "code",
    "compliance": "compliant_pct",
    "critical": "critical_per_device",
    "coverage": "answering_pct",
    "name": "name",
    "devices": "devices",
    "open": "open_total",
}


def sort_sites(sites: list[dict[str, Any]], sort: str, descending: bool = False) -> list[dict[str, Any]]:
    field = SITE_SORTS.get(sort)
    if field is None:
        ranked = sorted(sites, key=rank_key)
        return ranked[::-1] if descending else ranked
    present = sorted((s for s in sites if s[field] is not None), key=lambda s: (s[field], s["code"]), reverse=descending)
    return present + sorted((s for s in sites if s[field] is None), key=lambda s: s["code"])


def top_failing_rules(session: Session, limit: int = 3) -> dict[int, list[dict[str, Any]]]:
    """site id -> its `limit` rules with the most open findings: [{rule_id, open}], most first."""
    query = select(Finding.site_id, Finding.rule_id, func.count()).where(Finding.status == "open", Finding.site_id.is_not(None)).group_by(Finding.site_id, Finding.rule_id)
    by_site: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for site_id, rule_id, count in session.execute(query):
        by_site[site_id].append((count, rule_id))
    return {site_id: [{"rule_id": r, "open": n} for n, r in sorted(rules, key=lambda x: (-x[0], x[1]))[:limit]] for site_id, rules in by_site.items()}


def sites_with_compliance(session: Session, now: datetime | None = None, *, with_top_rules: bool = False) -> list[dict[str, Any]]:
    """list_sites() plus, per site: open findings per severity and a status (its most severe);
    the three compliance shares (compliance.state: a device never evaluated is unknown, never
    compliant) in counts and percent; open critical findings per device; the colour band;
    coverage (compliance.coverage, summed over zones); with `with_top_rules`, its top three
    failing rules (a scan of the open findings: only the sites list asks). A fixed number of
    aggregate queries, whatever the number of sites."""
    ids = {code: site_id for site_id, code in session.execute(select(Site.id, Site.code))}
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    # By site id, without a join: answered from the (status, site_id, severity) index alone.
    query = select(Finding.site_id, Finding.severity, func.count()).where(Finding.status == "open").group_by(Finding.site_id, Finding.severity)
    for site_id, severity, count in session.execute(query):
        counts[site_id][severity] = count
    shares = state_shares(session)
    covered = site_totals(coverage(session, now=now))
    top = top_failing_rules(session) if with_top_rules else {}
    out = []
    for site in list_sites(session):
        site_id = ids[site["code"]]
        by_severity = counts.get(site_id, {})
        states = shares.get(site_id, dict.fromkeys(STATES, 0))
        total = sum(states.values())
        cover = covered.get(site_id, {})
        critical = by_severity.get("critical", 0)
        row = {
            **site, "id": site_id, "open": by_severity, "open_total": sum(by_severity.values()), "status": site_status(by_severity, site["devices"]),
            "states": states, "compliant_pct": share(states[COMPLIANT], total), "non_compliant_pct": share(states[NON_COMPLIANT], total),
            "unknown_pct": share(states[UNKNOWN], total), "critical_per_device": round(critical / total, 2) if total else None,
            "coverage": cover, "answering_pct": share(cover.get("answering", 0), cover.get("devices", 0)),
            "polled_pct": share(cover.get("polled_on_time", 0), cover.get("devices", 0)), "top_rules": top.get(site_id, []),
        }  # fmt: skip
        row["band"] = band_of(row["compliant_pct"], row["critical_per_device"])
        out.append(row)
    return out


def open_findings_by_severity(session: Session) -> dict[str, int]:
    query = select(Finding.severity, func.count()).where(Finding.status == "open").group_by(Finding.severity)
    found = dict(session.execute(query).all())
    return {severity: found.get(severity, 0) for severity in SEVERITIES}


def findings_by_rule(session: Session) -> list[dict[str, Any]]:
    """Per rule: its severity and how many findings are open, waived and resolved."""
    query = select(Finding.rule_id, Finding.severity, Finding.status, func.count()).group_by(Finding.rule_id, Finding.severity, Finding.status)
    rules: dict[str, dict[str, Any]] = {}
    for rule_id, severity, status, count in session.execute(query):
        row = rules.setdefault(rule_id, {"rule_id": rule_id, "severity": severity, "open": 0, "waived": 0, "resolved": 0})
        row[status] = row.get(status, 0) + count
    order = {s: n for n, s in enumerate(SEVERITIES)}
    return sorted(rules.values(), key=lambda r: (order.get(r["severity"], 9), -r["open"], r["rule_id"]))


def rule_ids(session: Session) -> list[str]:
    return list(session.execute(select(Finding.rule_id).distinct().order_by(Finding.rule_id)).scalars())


def site_codes(session: Session) -> list[tuple[str, str]]:
    return [tuple(row) for row in session.execute(select(Site.code, Site.name).order_by(Site.code))]


def vendors(session: Session) -> list[str]:
    query = select(Device.vendor).where(Device.vendor.is_not(None)).distinct().order_by(Device.vendor)
    return [v for v in session.execute(query).scalars() if v]


def device_detail(session: Session, device_id: int) -> dict[str, Any] | None:
    row = session.execute(select(Device, Site.code, Site.name, Zone.kind).join(Site, Site.id == Device.site_id).outerjoin(Zone, Zone.id == Device.zone_id).where(Device.id == device_id)).first()
    if row is None:
        return None
    device, code, name, zone = row
    macs = list(session.execute(select(DeviceMac.mac).where(DeviceMac.device_id == device_id).order_by(DeviceMac.id)).scalars())
    return {**device.model_dump(), "site_code": code, "site_name": name, "zone": zone, "macs": macs}


def device_rule_verdicts(session: Session, device_id: int) -> DeviceVerdicts | None:
    """Each rule's verdict on the device as its data is now (compliance.verdicts); None when the
    policy does not load (the page says so) or the device is unknown."""
    from compliance.policy import PolicyError, shipped_policy
    from compliance.verdicts import device_verdicts

    try:
        policy = shipped_policy()
    except (PolicyError, OSError):
        return None
    return device_verdicts(session, device_id, policy, date.today())


def device_interfaces(session: Session, device_id: int) -> list[dict[str, Any]]:
    query = select(Interface).where(Interface.device_id == device_id).order_by(Interface.if_index)
    return [i.model_dump() for i in session.execute(query).scalars()]


def latest_observations(session: Session, device_id: int) -> list[dict[str, Any]]:
    """The latest value of each observed key."""
    latest = select(Observation.key, func.max(Observation.id).label("id")).where(Observation.device_id == device_id).group_by(Observation.key).subquery()
    query = select(Observation).join(latest, latest.c.id == Observation.id).order_by(Observation.key)
    return [o.model_dump() for o in session.execute(query).scalars()]


def observation_history(session: Session, device_id: int, *, limit: int = 100) -> list[dict[str, Any]]:
    query = select(Observation).where(Observation.device_id == device_id).order_by(Observation.id.desc()).limit(limit)
    return [o.model_dump() for o in session.execute(query).scalars()]


def site_detail(session: Session, code: str, now: datetime | None = None) -> dict[str, Any] | None:
    """One site: its zones with their subnets and coverage (compliance.coverage), the three
    compliance shares, its silent devices, its devices per class and status, and its open
    findings grouped by rule."""
    site = session.execute(select(Site).where(Site.code == code)).scalar_one_or_none()
    if site is None:
        return None
    covered = {row["zone"]: row for row in coverage(session, [site.id], now=now)}
    zones = []
    for zone in session.execute(select(Zone).where(Zone.site_id == site.id).order_by(Zone.kind.desc())).scalars():
        cidrs = list(session.execute(select(Subnet.cidr).where(Subnet.zone_id == zone.id).order_by(Subnet.id)).scalars())
        zones.append({"kind": zone.kind, "subnets": cidrs, **covered.pop(zone.kind, {"devices": 0})})
    if None in covered:  # devices recorded without a zone
        zones.append({"kind": None, "subnets": [], **covered.pop(None)})
    states = state_shares(session, [site.id])[site.id]
    total = sum(states.values())
    by_class = session.execute(select(Device.device_class, Device.status, func.count()).where(Device.site_id == site.id).group_by(Device.device_class, Device.status)).all()
    classes: dict[str, dict[str, int]] = defaultdict(dict)
    for device_class, status, count in by_class:
        classes[device_class][status] = count
    return {
        **site.model_dump(), "zones": zones, "classes": dict(sorted(classes.items())),
        "states": states, "compliant_pct": share(states[COMPLIANT], total), "non_compliant_pct": share(states[NON_COMPLIANT], total),
        "unknown_pct": share(states[UNKNOWN], total), "silent": silent_devices(session, site.id, now), "by_rule": site_findings_by_rule(session, site.id),
    }  # fmt: skip


def site_findings_by_rule(session: Session, site_id: int) -> list[dict[str, Any]]:
    """The site's open findings grouped by rule: rule_id, severity, open and devices (distinct),
    most severe first, then the most findings."""
    query = (
        select(Finding.rule_id, Finding.severity, func.count(), func.count(Finding.device_id.distinct()))
        .where(Finding.status == "open", Finding.site_id == site_id).group_by(Finding.rule_id, Finding.severity)
    )  # fmt: skip
    order = {s: n for n, s in enumerate(SEVERITIES)}
    rows = [{"rule_id": r, "severity": sev, "open": n, "devices": d} for r, sev, n, d in session.execute(query)]
    return sorted(rows, key=lambda r: (order.get(r["severity"], 9), -r["open"], r["rule_id"]))


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    entity: str | None = None


def audit_vocabulary(session: Session) -> dict[str, list[str]]:
    return {
        "action": list(session.execute(select(AuditLog.action).distinct().order_by(AuditLog.action)).scalars()),
        "entity": list(session.execute(select(AuditLog.entity).distinct().order_by(AuditLog.entity)).scalars()),
    }


def config_snapshot(session: Session, device_id: int, snapshot_id: int) -> dict[str, Any] | None:
    from inventory.models import ConfigSnapshot

    snap = session.get(ConfigSnapshot, snapshot_id)
    if snap is None or snap.device_id != device_id:
        return None
    return snap.model_dump()
