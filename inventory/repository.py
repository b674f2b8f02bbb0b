"""Queries, written once and shared by the CLI, the web pages, the exports and the API."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlmodel import Session

from inventory.models import Device, DeviceMac, Province, Site, Subnet, Zone


def default_province(session: Session) -> Province:
    province = session.exec(select(Province).order_by(Province.id)).scalars().first()
    if province is None:
        province = Province(code="DEFAULT", name="Tỉnh")
        session.add(province)
        session.flush()
    return province


def site_zone_index(session: Session) -> dict[tuple[int, str], int]:
    """(site id, zone kind) -> zone id."""
    return {(site_id, kind): zone_id for zone_id, site_id, kind in session.execute(select(Zone.id, Zone.site_id, Zone.kind))}


def site_by_code(session: Session, code: str) -> Site | None:
    return session.exec(select(Site).where(Site.code == code)).scalars().first()


def zone_subnets(session: Session) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for zone_id, cidr in session.execute(select(Subnet.zone_id, Subnet.cidr).order_by(Subnet.id)):
        out[zone_id].append(cidr)
    return out


def list_sites(session: Session) -> list[dict[str, Any]]:
    """Sites with their zones' subnets and device counts."""
    counts = dict(session.execute(select(Device.site_id, func.count()).group_by(Device.site_id)).all())
    subnets = zone_subnets(session)
    zones: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for zone in session.exec(select(Zone)).scalars():
        zones[zone.site_id][zone.kind] = subnets.get(zone.id, [])
    out = []
    for site in session.exec(select(Site).order_by(Site.kind.desc(), Site.code)).scalars():
        out.append(
            {
                "code": site.code,
                "name": site.name,
                "kind": site.kind,
                "party_wan_subnets": zones[site.id].get("party_wan", []),
                "internet_subnets": zones[site.id].get("internet", []),
                "poll_interval_minutes": site.poll_interval_minutes,
                "devices": counts.get(site.id, 0),
            }
        )
    return out


@dataclass(frozen=True)
class DeviceFilter:
    """The device list's filters; every field optional. Same meaning on every surface."""

    site: str | None = None  # site code
    zone: str | None = None
    device_class: str | None = None
    vendor: str | None = None
    status: str | None = None
    source: str | None = None
    origin: str | None = None  # country code
    q: str | None = None  # free text over hostname, IP, serial, model, user

    @classmethod
    def from_mapping(cls, data) -> DeviceFilter:
        names = {f.name for f in fields(cls)}
        return cls(**{key: (data.get(key) or None) for key in names})


SORTABLE = {
    "id": Device.id,
    "hostname": Device.hostname,
    "class": Device.device_class,
    "vendor": Device.vendor,
    "model": Device.model,
    "ip": Device.mgmt_ip,
    "purchase_date": Device.purchase_date,
    "last_seen": Device.last_seen,
    "site": Site.code,
}


def device_query(flt: DeviceFilter) -> Select:
    query = select(Device, Site.code.label("site_code"), Zone.kind.label("zone_kind")).join(Site, Site.id == Device.site_id)
    query = query.outerjoin(Zone, Zone.id == Device.zone_id)
    if flt.site:
        query = query.where(Site.code == flt.site)
    if flt.zone:
        query = query.where(Zone.kind == flt.zone)
    if flt.device_class:
        query = query.where(Device.device_class == flt.device_class)
    if flt.vendor:
        query = query.where(func.lower(Device.vendor) == flt.vendor.lower())
    if flt.status:
        query = query.where(Device.status == flt.status)
    if flt.source:
        query = query.where(Device.source == flt.source)
    if flt.origin:
        query = query.where(Device.country_of_origin == flt.origin.upper())
    if flt.q:
        like = f"%{flt.q.lower()}%"
        query = query.where(
            or_(
                func.lower(Device.hostname).like(like),
                Device.mgmt_ip.like(like),
                func.lower(Device.serial).like(like),
                func.lower(Device.model).like(like),
                func.lower(Device.assigned_user).like(like),
            )
        )
    return query


def list_devices(
    session: Session,
    flt: DeviceFilter = DeviceFilter(),
    *,
    sort: str = "id",
    descending: bool = False,
    page: int = 1,
    per_page: int | None = 50,
) -> tuple[list[dict[str, Any]], int]:
    """One page of devices as plain dicts, and the total count under the filter."""
    query = device_query(flt)
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    column = SORTABLE.get(sort, Device.id)
    query = query.order_by(column.desc() if descending else column.asc(), Device.id)
    if per_page:
        query = query.offset((max(page, 1) - 1) * per_page).limit(per_page)
    rows = session.execute(query).all()
    macs: dict[int, list[str]] = defaultdict(list)
    ids = [row.Device.id for row in rows]
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac).where(DeviceMac.device_id.in_(chunk)).order_by(DeviceMac.id)):
            macs[device_id].append(mac)
    out = []
    for row in rows:
        device = row.Device
        item = device.model_dump(exclude={"created_at", "updated_at"})
        item.update(site_code=row.site_code, zone=row.zone_kind, macs=macs.get(device.id, []))
        out.append(item)
    return out, total
