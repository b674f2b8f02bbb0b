"""Coverage: how much of a site's inventory the compliance figures actually rest on.

Per site and zone, over the devices in the inventory (disposed ones are counted nowhere):

- devices          the devices recorded in that zone (a device with no zone: zone None);
- polled_on_time   its last poll (`last_polled`, answered or not) is no older than the site's
                   poll interval (`Site.poll_interval_minutes`);
- answering        its last answer to a collector (`last_seen`) is no older than that interval;
- network / config_collected   network devices (compliance reads their running-config), and how
                   many of them have at least one configuration snapshot;
- endpoints / facts_collected  endpoints, and how many have host facts (an observation `host.*`,
                   which the endpoint rules read);
- agent_reported   endpoints whose facts an endpoint agent reported (an observation of source
                   "agent": GLPI Agent, FusionInventory; collectors.agents), online or imported;
- evaluated / last_evaluated   devices with a compliance state (an evaluation covered them), and
                   the latest such evaluation.

A *silent* device was polled but has not answered within its site's poll interval; it has been
silent since its last answer (or has never answered). One aggregate query per call, whatever the
number of sites: the overview, the site page and the quarterly report read the same function.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlmodel import Session

from inventory.choices import ENDPOINT_CLASSES, NETWORK_CLASSES
from inventory.models import ConfigSnapshot, Device, DeviceCompliance, Observation, Site, Zone, utcnow
from inventory.repository import in_inventory

HOST_FACT_PREFIX = "host."
AGENT_SOURCE = "agent"
COUNTS = ("devices", "polled_on_time", "answering", "network", "config_collected", "endpoints", "facts_collected", "agent_reported", "evaluated")


def _as_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC))


def _cutoff(session: Session, site_ids: Collection[int] | None, now: datetime):
    """A SQL expression: the oldest last_polled/last_seen that is still within the device's site's
    poll interval (one CASE branch per distinct interval, not per site)."""
    query = select(Site.id, Site.poll_interval_minutes)
    if site_ids is not None:
        query = query.where(Site.id.in_(list(site_ids)))
    by_interval: dict[int, list[int]] = defaultdict(list)
    for site_id, minutes in session.execute(query):
        by_interval[int(minutes)].append(site_id)
    if not by_interval:
        return None
    branches = [(Device.site_id.in_(ids), literal(now - timedelta(minutes=minutes), Device.last_polled.type)) for minutes, ids in sorted(by_interval.items())]
    return case(*branches, else_=None)


def coverage(session: Session, site_ids: Collection[int] | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per (site, zone kind) that has devices: site_id, zone (kind or None), the COUNTS,
    and last_evaluated (UTC, None if none was evaluated). `site_ids` None: every site."""
    now = now or utcnow()
    cutoff = _cutoff(session, site_ids, now)
    if cutoff is None:
        return []
    has_config = exists().where(ConfigSnapshot.device_id == Device.id)
    has_facts = exists().where(Observation.device_id == Device.id, Observation.key.like(HOST_FACT_PREFIX + "%"))
    has_agent = exists().where(Observation.device_id == Device.id, Observation.source == AGENT_SOURCE)
    network = Device.device_class.in_([c.value for c in NETWORK_CLASSES])
    endpoint = Device.device_class.in_([c.value for c in ENDPOINT_CLASSES])

    def count(condition) -> Any:
        return func.sum(case((condition, 1), else_=0))

    query = (
        select(
            Device.site_id, Zone.kind, func.count(),
            count(Device.last_polled >= cutoff), count(Device.last_seen >= cutoff),
            count(network), count(and_(network, has_config)), count(endpoint), count(and_(endpoint, has_facts)),
            count(and_(endpoint, has_agent)),
            count(DeviceCompliance.id.is_not(None)), func.max(DeviceCompliance.evaluated_at),
        )
        .outerjoin(Zone, Zone.id == Device.zone_id)
        .outerjoin(DeviceCompliance, DeviceCompliance.device_id == Device.id)
        .where(in_inventory())
        .group_by(Device.site_id, Zone.kind)
    )  # fmt: skip
    if site_ids is not None:
        query = query.where(Device.site_id.in_(list(site_ids)))
    rows = []
    for site_id, zone, *numbers, last_evaluated in session.execute(query):
        rows.append({"site_id": site_id, "zone": zone, **{k: int(v or 0) for k, v in zip(COUNTS, numbers, strict=True)}, "last_evaluated": _as_utc(last_evaluated)})
    rows.sort(key=lambda r: (r["site_id"], r["zone"] or ""))
    return rows


def site_totals(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """coverage() rows added up per site (last_evaluated: the latest of its zones)."""
    totals: dict[int, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(row["site_id"], {"site_id": row["site_id"], **dict.fromkeys(COUNTS, 0), "last_evaluated": None})
        for key in COUNTS:
            total[key] += row[key]
        if row["last_evaluated"] is not None and (total["last_evaluated"] is None or row["last_evaluated"] > total["last_evaluated"]):
            total["last_evaluated"] = row["last_evaluated"]
    return totals


def share(part: int, whole: int) -> float | None:
    """part of whole in percent, one decimal; None when there is nothing to cover."""
    return round(100 * part / whole, 1) if whole else None


def silent_devices(session: Session, site_id: int | None, now: datetime | None = None) -> list[dict[str, Any]]:
    """The devices of one site (None: of every site) that were polled but have not answered
    within their site's poll interval, the longest silent first (never answered: first of all):
    id, site_id, hostname, mgmt_ip, device_class, zone, last_seen, last_polled, silent_for
    (timedelta; None when it never answered)."""
    now = _as_utc(now or utcnow())
    query = (
        select(Device.id, Device.site_id, Device.hostname, Device.mgmt_ip, Device.device_class, Zone.kind, Device.last_seen, Device.last_polled,
               Site.poll_interval_minutes)
        .join(Site, Site.id == Device.site_id)
        .outerjoin(Zone, Zone.id == Device.zone_id)
        .where(in_inventory(), Device.last_polled.is_not(None))
    )  # fmt: skip
    if site_id is not None:
        # One site: its interval bounds the query (the whole province filters each row below).
        minutes = session.execute(select(Site.poll_interval_minutes).where(Site.id == site_id)).scalar_one_or_none()
        if minutes is None:
            return []
        query = query.where(Device.site_id == site_id, or_(Device.last_seen.is_(None), Device.last_seen < now - timedelta(minutes=minutes)))
    out = []
    for device_id, device_site, hostname, ip, device_class, zone, last_seen, last_polled, minutes in session.execute(query):
        seen = _as_utc(last_seen)
        if seen is not None and seen >= now - timedelta(minutes=minutes):
            continue
        out.append({
            "id": device_id, "site_id": device_site, "hostname": hostname, "mgmt_ip": ip, "device_class": device_class, "zone": zone,
            "last_seen": seen, "last_polled": _as_utc(last_polled), "silent_for": None if seen is None else now - seen,
        })  # fmt: skip
    out.sort(key=lambda d: (d["last_seen"] is not None, d["last_seen"] or datetime.min.replace(tzinfo=UTC), d["id"]))
    return out
