"""Queries, written once and shared by the CLI, the web pages, the exports and the API."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import Select, exists, false, func, literal_column, not_, or_, select
from sqlmodel import Session

from inventory.choices import DeviceStatus
from inventory.models import Device, DeviceCompliance, DeviceMac, Finding, Observation, Province, Site, Subnet, Zone
from inventory.revision import current as current_revision


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


def count_rows(session: Session, query: Select) -> int:
    """How many rows a query returns, ignoring its ordering and paging."""
    return session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()


def one_page(query: Select, page: int, per_page: int | None) -> Select:
    """The query limited to one page (1-based); `per_page` None or 0 means every row."""
    return query.offset((max(page, 1) - 1) * per_page).limit(per_page) if per_page else query


def site_by_code(session: Session, code: str) -> Site | None:
    return session.exec(select(Site).where(Site.code == code)).scalars().first()


def zone_subnets(session: Session) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for zone_id, cidr in session.execute(select(Subnet.zone_id, Subnet.cidr).order_by(Subnet.id)):
        out[zone_id].append(cidr)
    return out


def in_inventory():
    """The one condition for "a device the site has": a disposed device stays on record (and in
    the device list) but is counted nowhere: not in site tiles, reports, plans, polls or checks."""
    return Device.status != DeviceStatus.DISPOSED.value


def list_sites(session: Session) -> list[dict[str, Any]]:
    """Sites with their zones' subnets and the count of devices they have (disposed ones left out)."""
    counts = dict(session.execute(select(Device.site_id, func.count()).where(in_inventory()).group_by(Device.site_id)).all())
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
    # Tri-state (None = no filter): True keeps only those that are, False only those that are not.
    compliant: bool | None = None  # no open finding (a device nobody evaluated has none either)
    end_of_life: bool | None = None  # broken, past service life or OS support (compliance.lifecycle)
    compliance: str | None = None  # compliant, non_compliant or unknown (COMPLIANCE_STATES)
    reported_by: str | None = None  # an observation source (REPORTING_SOURCES) that said anything of the device

    def __post_init__(self) -> None:
        # Fail closed: a mistyped state or source must not quietly list every device.
        if self.compliance is not None and self.compliance not in COMPLIANCE_STATES:
            raise ValueError(f"compliance must be one of: {', '.join(COMPLIANCE_STATES)} (not {self.compliance!r})")
        if self.reported_by is not None and self.reported_by not in REPORTING_SOURCES:
            raise ValueError(f"reported_by must be one of: {', '.join(REPORTING_SOURCES)} (not {self.reported_by!r})")

    @classmethod
    def from_mapping(cls, data) -> DeviceFilter:
        """From a query string or form: text fields as given, the tri-state ones from 1/0, yes/no."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = data.get(f.name) or None
            values[f.name] = parse_tristate(raw) if f.name in TRISTATE else raw
        return cls(**values)


TRISTATE = ("compliant", "end_of_life")

# A device's compliance state as its last evaluation left it in device_compliance (written by
# compliance's evaluation; compliance.state.STATES holds the same three). No row: never
# evaluated, so unknown, never compliant.
COMPLIANCE_STATES = ("compliant", "non_compliant", "unknown")
NEVER_EVALUATED = "never evaluated"
# Who writes observations: endpoint agents (collectors.agents), the pollers (collectors.reconcile)
# and the device import's fact columns (inventory.io.importer).
REPORTING_SOURCES = ("agent", "snmp", "ssh", "nmap", "import")
_TRUE = {"1", "true", "yes", "on", "y", "co", "có"}
_FALSE = {"0", "false", "no", "off", "n", "khong", "không"}


def parse_tristate(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


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
    "zone": Zone.kind,
    "serial": Device.serial,
    "status": Device.status,
    "user": Device.assigned_user,
    "os": Device.os_name,
    "origin": Device.country_of_origin,
    "source": Device.source,
}


# The end-of-life filter's SQL is built by its owner and handed in by the caller (compliance's
# `lifecycle.end_of_life_condition`): (session or None, today) -> a condition on Device.
EndOfLifeCondition = Callable[[Session | None, date], Any]


def open_finding_exists():
    """SQL condition: the device has an open finding (answered from the (status, device_id) index)."""
    return exists(select(literal_column("1")).where(Finding.device_id == Device.id, Finding.status == "open"))


def reported_by_condition(source: str):
    """SQL condition: at least one observation of the device came from `source`. The EXISTS walks
    the device's own observations along the (device_id, key) index and stops at the first match."""
    return exists(select(literal_column("1")).where(Observation.device_id == Device.id, Observation.source == source))


def compliance_condition(state: str):
    """SQL condition: the device is in `state` (answered from device_compliance's unique
    device_id index). Unknown is "no row saying otherwise": never evaluated counts there."""
    other = DeviceCompliance.state != state if state == "unknown" else DeviceCompliance.state == state
    found = exists(select(literal_column("1")).where(DeviceCompliance.device_id == Device.id, other))
    return not_(found) if state == "unknown" else found


def device_conditions(flt: DeviceFilter, session: Session | None = None, *, today: date | None = None, end_of_life: EndOfLifeCondition | None = None) -> list:
    """The filter as conditions on the device table alone (the site and the zone by subqueries on
    their code and kind), so counting needs no join. The end-of-life filter takes its condition
    from the caller (`end_of_life`, called with `session` and `today` only when the filter asks
    for it)."""
    conditions: list = []
    if flt.site:
        conditions.append(Device.site_id == select(Site.id).where(Site.code == flt.site).scalar_subquery())
    if flt.zone:
        conditions.append(Device.zone_id.in_(select(Zone.id).where(Zone.kind == flt.zone)))
    if flt.device_class:
        conditions.append(Device.device_class == flt.device_class)
    if flt.vendor:
        conditions.append(func.lower(Device.vendor) == flt.vendor.lower())
    if flt.status:
        conditions.append(Device.status == flt.status)
    if flt.source:
        conditions.append(Device.source == flt.source)
    if flt.origin:
        conditions.append(Device.country_of_origin == flt.origin.upper())
    if flt.q:
        like = f"%{flt.q.lower()}%"
        conditions.append(
            or_(
                func.lower(Device.hostname).like(like),
                Device.mgmt_ip.like(like),
                func.lower(Device.serial).like(like),
                func.lower(Device.model).like(like),
                func.lower(Device.assigned_user).like(like),
            )
        )
    if flt.compliant is not None:
        conditions.append(not_(open_finding_exists()) if flt.compliant else open_finding_exists())
    if flt.compliance is not None:
        # A disposed device is in no state (it is evaluated and counted nowhere).
        conditions += [compliance_condition(flt.compliance), in_inventory()]
    if flt.reported_by is not None:
        conditions.append(reported_by_condition(flt.reported_by))
    if flt.end_of_life is not None:
        if end_of_life is None:
            raise ValueError("the end-of-life filter needs its condition: pass end_of_life= (compliance.lifecycle.end_of_life_condition)")
        condition = end_of_life(session, today or date.today())
        # A NULL purchase date or OS makes a part unknown, not true: coalesce to false.
        condition = func.coalesce(condition, false())
        conditions.append(condition if flt.end_of_life else not_(condition))
    return conditions


def _with_site_and_zone(query: Select) -> Select:
    # Every device has a site (a required foreign key): the inner join drops none.
    return query.join(Site, Site.id == Device.site_id).outerjoin(Zone, Zone.id == Device.zone_id)


def device_query(flt: DeviceFilter, session: Session | None = None, *, today: date | None = None, end_of_life: EndOfLifeCondition | None = None) -> Select:
    """The filtered devices as (Device, site_code, zone_kind) rows (see device_conditions)."""
    query = _with_site_and_zone(select(Device, Site.code.label("site_code"), Zone.kind.label("zone_kind")))
    return query.where(*device_conditions(flt, session, today=today, end_of_life=end_of_life))


def count_devices(session: Session, flt: DeviceFilter = DeviceFilter(), *, today: date | None = None, end_of_life: EndOfLifeCondition | None = None) -> int:
    conditions = device_conditions(flt, session, today=today, end_of_life=end_of_life)
    return session.execute(select(func.count()).select_from(Device).where(*conditions)).scalar_one()


def counted_devices(session: Session, flt: DeviceFilter = DeviceFilter(), *, today: date | None = None, end_of_life: EndOfLifeCondition | None = None) -> tuple[int | None, int]:
    """(data revision, count): the count with the revision read just before counting, for a
    caller that keeps the count (list_devices' `counted_at`). A change committed between the two
    readings moves the revision past the one returned, so no later reading ever matches it."""
    return current_revision(session), count_devices(session, flt, today=today, end_of_life=end_of_life)


def compliance_counts(session: Session, flt: DeviceFilter = DeviceFilter(), *, today: date | None = None, end_of_life: EndOfLifeCondition | None = None) -> dict[str, int]:
    """{compliant: n, non_compliant: n, unknown: n} over the filtered devices the inventory has
    (a disposed one stays listed but is counted nowhere, as in compliance.state.state_shares)."""
    listed = select(Device.id).where(*device_conditions(flt, session, today=today, end_of_life=end_of_life), in_inventory()).subquery()
    state = func.coalesce(DeviceCompliance.state, "unknown")
    query = select(state, func.count()).select_from(listed).outerjoin(DeviceCompliance, DeviceCompliance.device_id == listed.c.id).group_by(state)
    counts = dict.fromkeys(COMPLIANCE_STATES, 0)
    for name, count in session.execute(query):
        counts[name] += count
    return counts


def share_percent(count: int, total: int) -> str:
    """A share as whole percent for display ("15%"); a share that is not zero never shows as 0%,
    nor a partial one as 100%: "<1%", ">99%". "–" when there is nothing to share."""
    if total <= 0:
        return "–"
    value = 100 * count / total
    if 0 < value < 0.5:
        return "<1%"
    if 99.5 <= value < 100:
        return ">99%"
    return f"{round(value)}%"


def compliance_of(session: Session, device_ids: list[int]) -> dict[int, dict[str, Any]]:
    """device id -> {state, reasons, evaluated_at, data_as_of}; a device never evaluated is
    unknown with the reason "never evaluated"."""
    found: dict[int, dict[str, Any]] = {}
    columns = (DeviceCompliance.device_id, DeviceCompliance.state, DeviceCompliance.reasons, DeviceCompliance.evaluated_at, DeviceCompliance.data_as_of)
    for start in range(0, len(device_ids), 5000):
        chunk = device_ids[start : start + 5000]
        for device_id, state, reasons, evaluated_at, data_as_of in session.execute(select(*columns).where(DeviceCompliance.device_id.in_(chunk))):
            found[device_id] = {"state": state, "reasons": list(reasons or []), "evaluated_at": evaluated_at, "data_as_of": data_as_of}
    never = {"state": "unknown", "reasons": [NEVER_EVALUATED], "evaluated_at": None, "data_as_of": None}
    return {device_id: found.get(device_id) or dict(never, reasons=[NEVER_EVALUATED]) for device_id in device_ids}


# The columns a listed device carries (what Device.model_dump gave, read as plain columns: no
# ORM object per row), then its site code and zone kind.
_LISTED = tuple(column for column in Device.__table__.c if column.name not in ("created_at", "updated_at"))


def list_devices(
    session: Session,
    flt: DeviceFilter = DeviceFilter(),
    *,
    sort: str = "id",
    descending: bool = False,
    page: int = 1,
    per_page: int | None = 50,
    today: date | None = None,
    end_of_life: EndOfLifeCondition | None = None,
    total: int | None = None,
    counted_at: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of devices as plain dicts, and the total count under the filter (counted
    unless the caller already knows it: the web keeps counts until the data changes).
    `counted_at`: the data revision the caller's `total` was counted at (counted_devices), which
    lets a page read from the other end trust it. `end_of_life`: the condition the end-of-life
    filter needs (see device_conditions)."""
    conditions = device_conditions(flt, session, today=today, end_of_life=end_of_life)
    query = _with_site_and_zone(select(*_LISTED, Site.code.label("site_code"), Zone.kind.label("zone"))).where(*conditions)
    exact = total is None
    if exact:
        total = count_devices(session, flt, today=today, end_of_life=end_of_life)
    column = SORTABLE.get(sort, Device.id)
    offset = (max(page, 1) - 1) * (per_page or 0)
    if per_page and offset > total // 2:
        # A page past the middle is read from the other end (the order mirrored, NULLs too):
        # the database sorts a few rows instead of skipping most of them. That takes the exact
        # total: one kept from before a change would shift the rows. A kept one is exact when
        # the data revision after the read is still the one it was counted at (every change
        # moves the revision in its own transaction); else, or unknown, it is counted again.
        mirrored = query.order_by(column.asc() if descending else column.desc(), Device.id.desc())

        def from_the_end(total: int) -> list:
            reverse_offset = max(0, total - offset - per_page)
            return list(reversed(session.execute(mirrored.offset(reverse_offset).limit(max(0, total - offset - reverse_offset))).all()))

        if not exact and counted_at is None:
            total = count_devices(session, flt, today=today, end_of_life=end_of_life)
        rows = from_the_end(total)
        if not exact and counted_at is not None and current_revision(session) != counted_at:
            total = count_devices(session, flt, today=today, end_of_life=end_of_life)
            rows = from_the_end(total)
    else:
        rows = session.execute(one_page(query.order_by(column.desc() if descending else column.asc(), Device.id), page, per_page)).all()
    macs: dict[int, list[str]] = defaultdict(list)
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac).where(DeviceMac.device_id.in_(chunk)).order_by(DeviceMac.id)):
            macs[device_id].append(mac)
    states = compliance_of(session, ids)
    out = []
    for row in rows:
        item = dict(row._mapping)
        item["macs"] = macs.get(item["id"], [])
        # A disposed device is in no compliance state: None, not "unknown".
        item["compliance"] = None if item["status"] == DeviceStatus.DISPOSED.value else states[item["id"]]
        out.append(item)
    return out, total
