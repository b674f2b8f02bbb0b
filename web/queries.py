"""Queries the pages need that the repository modules do not have yet (read-only)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from inventory.choices import Severity, values
from inventory.models import AuditLog, Device, DeviceMac, Finding, Interface, Observation, Site, Subnet, Zone
from inventory.repository import count_rows, list_sites, one_page

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
    """The colour of a site: its most severe open finding, `ok` with none, `empty` without devices."""
    for severity in SEVERITIES:
        if open_by_severity.get(severity):
            return severity
    return "ok" if devices else "empty"


def sites_with_compliance(session: Session) -> list[dict[str, Any]]:
    """list_sites() plus open findings per severity and a status per site."""
    codes = dict(session.execute(select(Site.id, Site.code)).all())
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    # By site id, without a join: answered from the (status, site_id, severity) index alone.
    query = select(Finding.site_id, Finding.severity, func.count()).where(Finding.status == "open").group_by(Finding.site_id, Finding.severity)
    for site_id, severity, count in session.execute(query):
        if site_id in codes:
            counts[codes[site_id]][severity] = count
    out = []
    for site in list_sites(session):
        by_severity = counts.get(site["code"], {})
        out.append({**site, "open": by_severity, "open_total": sum(by_severity.values()), "status": site_status(by_severity, site["devices"])})
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


def site_detail(session: Session, code: str) -> dict[str, Any] | None:
    site = session.execute(select(Site).where(Site.code == code)).scalar_one_or_none()
    if site is None:
        return None
    zones = []
    for zone in session.execute(select(Zone).where(Zone.site_id == site.id).order_by(Zone.kind.desc())).scalars():
        cidrs = list(session.execute(select(Subnet.cidr).where(Subnet.zone_id == zone.id).order_by(Subnet.id)).scalars())
        devices = session.execute(select(func.count()).select_from(Device).where(Device.zone_id == zone.id)).scalar_one()
        reachable = session.execute(select(func.count()).select_from(Device).where(Device.zone_id == zone.id, Device.reachable.is_(True))).scalar_one()
        polled = session.execute(select(func.count()).select_from(Device).where(Device.zone_id == zone.id, Device.reachable.is_not(None))).scalar_one()
        zones.append({"kind": zone.kind, "subnets": cidrs, "devices": devices, "polled": polled, "reachable": reachable})
    by_class = session.execute(select(Device.device_class, Device.status, func.count()).where(Device.site_id == site.id).group_by(Device.device_class, Device.status)).all()
    classes: dict[str, dict[str, int]] = defaultdict(dict)
    for device_class, status, count in by_class:
        classes[device_class][status] = count
    return {**site.model_dump(), "zones": zones, "classes": dict(sorted(classes.items()))}


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    entity: str | None = None


def list_audit(session: Session, flt: AuditFilter = AuditFilter(), *, page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    query = select(AuditLog)
    if flt.actor:
        query = query.where(AuditLog.actor == flt.actor)
    if flt.action:
        query = query.where(AuditLog.action == flt.action)
    if flt.entity:
        query = query.where(AuditLog.entity == flt.entity)
    total = count_rows(session, query)
    query = one_page(query.order_by(AuditLog.id.desc()), page, per_page)
    return [entry.model_dump() for entry in session.execute(query).scalars()], total


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
