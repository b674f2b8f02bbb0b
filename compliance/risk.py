"""The risk of each unit to buy: points from the weights in `policy/risk.yaml`, with their parts.

A unit to buy either replaces a device of the inventory that does not count toward the schedule
(broken, past its service life or OS support, with an open finding, or of unknown state when the
policy does not count those), or fills coverage that is missing (the approved quantity exceeds
the devices the site has). Its risk is the sum of the parts that apply:

    broken              the device it replaces is broken
    past_service_life   per year (started) past the device's service life, up to max_count
    out_of_support      the device's OS or firmware is past end of support
    critical_finding    per open critical finding on the device, up to max_count
    high_finding        per open high finding on the device, up to max_count
    zone_uncovered      the unit gives a zone its only working firewall / access switch
    secret_documents    the unit's class handles Secret documents (tablets)
    unknown_state       the device's compliance state is unknown

Risk is taken as of `today`, not re-aged for later plan years. A unit that replaces no device
gets the coverage parts only (zone_uncovered, secret_documents). `unit_risk` is pure;
`build_units` turns a risk fleet frame and a procurement plan into the units the fundable plan
chooses from (compliance.fundable); `risk_fleet` reads that frame from the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from compliance.lifecycle import end_of_life_year, os_support_end, service_life_end, support_ended
from compliance.policy import Policy, RiskWeights, Text
from inventory.choices import DeviceStatus, ZoneKind, values
from inventory.models import Device, DeviceCompliance, Finding, Site, Zone
from inventory.repository import in_inventory

if TYPE_CHECKING:
    from compliance.planner import Plan

ZONES = tuple(values(ZoneKind))  # each site's two zones, each needing its own firewall and switch
FACTORS = tuple(RiskWeights.model_fields)  # the factors, in the order parts are listed
IN_STOCK = DeviceStatus.IN_STOCK.value

RISK_FLEET_COLUMNS = [
    "device_id", "hostname", "site_code", "site_name", "device_class", "zone", "status", "counts", "eol_year",
    "years_past_life", "out_of_support", "critical", "high", "state",
]  # fmt: skip


@dataclass(frozen=True)
class RiskFacts:
    """What the risk of one unit to buy is computed from."""

    device_class: str
    broken: bool = False
    years_past_life: int = 0
    out_of_support: bool = False
    critical_findings: int = 0
    high_findings: int = 0
    zone_uncovered: bool = False
    state_unknown: bool = False


@dataclass(frozen=True)
class RiskPart:
    """One factor's share of a unit's risk: points = weight x count."""

    factor: str
    count: int
    points: int
    reason: Text


@dataclass(frozen=True)
class UnitRisk:
    total: int
    parts: tuple[RiskPart, ...]

    def explain(self, lang: str = "vi") -> str:
        """ "40 hư hỏng; 16 = 2 x ..." — the parts in words, for tables and workbooks."""
        return "; ".join(f"{p.points} ({p.count} x) {getattr(p.reason, lang)}" if p.count > 1 else f"{p.points} {getattr(p.reason, lang)}" for p in self.parts)


def unit_risk(facts: RiskFacts, weights: RiskWeights) -> UnitRisk:
    """The unit's risk and its parts (factors that add nothing are left out).

    >>> from compliance.policy import shipped_policy
    >>> w = shipped_policy().risk.weights
    >>> r = unit_risk(RiskFacts("laptop", broken=True, years_past_life=2), w)
    >>> r.total == w.broken.points + 2 * w.past_service_life.points, [p.factor for p in r.parts]
    (True, ['broken', 'past_service_life'])
    """
    counts = {
        "broken": int(facts.broken),
        "past_service_life": facts.years_past_life,
        "out_of_support": int(facts.out_of_support),
        "critical_finding": facts.critical_findings,
        "high_finding": facts.high_findings,
        "zone_uncovered": int(facts.zone_uncovered),
        "secret_documents": 1,  # decided by the class alone
        "unknown_state": int(facts.state_unknown),
    }
    parts = []
    for factor in FACTORS:
        weight = getattr(weights, factor)
        if weight.classes and facts.device_class not in weight.classes:
            continue
        count = max(0, counts[factor])
        if weight.max_count is not None:
            count = min(count, weight.max_count)
        if count and weight.points:
            parts.append(RiskPart(factor, count, count * weight.points, weight.reason))
    return UnitRisk(sum(p.points for p in parts), tuple(parts))


def years_past_service_life(bought: date | None, life_years: int, today: date, cap: int = 50) -> int:
    """Years started past the service life on `today` (0 while within it or when unknown).

    >>> years_past_service_life(date(2020, 3, 1), 5, date(2025, 3, 1)), years_past_service_life(date(2019, 3, 1), 5, date(2025, 3, 2))
    (1, 2)
    """
    if bought is None or service_life_end(bought, life_years) > today:
        return 0
    extra = today.year - bought.year - life_years  # the service life's end + extra years is this year
    if service_life_end(bought, life_years + extra) > today:
        extra -= 1
    return min(cap, extra + 1)


# ------------------------------------------------------------------------------ units to buy


@dataclass(frozen=True)
class UnitToBuy:
    """One unit the fundable plan may buy: where, what, from which year, and why (its risk)."""

    site_code: str
    site_name: str
    device_class: str
    available_year: int  # the first plan year it is needed: the device it replaces stops counting
    risk: UnitRisk
    replaces_id: int | None = None  # None: fills missing coverage
    replaces_hostname: str | None = None


def build_units(fleet: pd.DataFrame, plan: Plan, policy: Policy) -> list[UnitToBuy]:
    """Every unit the fundable plan may buy, for the (site, class) rows of `plan` (a plan over the
    schedule's years, compliance.planner.build_plan).

    Per site and class: one unit per device in the inventory that stops counting within the plan
    years (in-stock spares are not replaced), available from the year it stops counting; then
    units for missing coverage, as many as the approved quantity exceeds the devices that count in
    the last plan year plus those replacements, available from the first year.
    `fleet` has RISK_FLEET_COLUMNS (see `risk_fleet`).
    """
    weights = policy.risk.weights
    years = plan.years
    first, last = years[0], years[-1]
    rows = plan.rows
    last_rows = rows[rows["year"] == last]
    counting_last = {(s, c): int(n) for s, c, n in zip(last_rows["site_code"], last_rows["device_class"], last_rows["counting"], strict=True)}
    pairs = rows.drop_duplicates(["site_code", "device_class"])
    # Plain records, grouped once: pandas row access per device costs seconds on a large fleet.
    by_pair: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for d in fleet.to_dict("records"):
        by_pair[(d["site_code"], d["device_class"])].append(d)
    units: list[UnitToBuy] = []
    risks: dict[RiskFacts, UnitRisk] = {}  # a fleet has few distinct combinations of facts

    def risk_of(facts: RiskFacts) -> UnitRisk:
        if facts not in risks:
            risks[facts] = unit_risk(facts, weights)
        return risks[facts]

    for site, cls, site_name, approved in zip(pairs["site_code"], pairs["device_class"], pairs["site_name"], pairs["approved"], strict=True):
        devices = by_pair.get((site, cls), [])
        uncovered = _uncovered_zones(devices, cls, weights)
        replaced: list[UnitToBuy] = []
        for d in devices:
            if d["status"] == IN_STOCK:
                continue
            eol = d["eol_year"]
            stops = first if not d["counts"] else (None if pd.isna(eol) else max(first, int(eol)))
            if stops is None or stops > last:
                continue
            covers = d["zone"] in uncovered
            uncovered.discard(d["zone"])  # one unit gives a zone its firewall; a second does not
            facts = RiskFacts(
                cls, broken=d["status"] == DeviceStatus.BROKEN.value, years_past_life=int(d["years_past_life"]), out_of_support=bool(d["out_of_support"]),
                critical_findings=int(d["critical"]), high_findings=int(d["high"]), zone_uncovered=covers, state_unknown=d["state"] == "unknown",
            )  # fmt: skip
            replaced.append(UnitToBuy(site, site_name, cls, stops, risk_of(facts), int(d["device_id"]), d["hostname"]))
        missing = max(0, int(approved) - counting_last.get((site, cls), 0) - len(replaced))
        zones_left = len(uncovered)
        for k in range(missing):
            facts = RiskFacts(cls, zone_uncovered=k < zones_left)
            units.append(UnitToBuy(site, site_name, cls, first, risk_of(facts)))
        units.extend(replaced)
    return units


def _uncovered_zones(devices: list[dict], cls: str, weights: RiskWeights) -> set[str]:
    """Zones of the site with no device of this class that counts today (only for the classes
    the zone_uncovered weight names)."""
    if cls not in weights.zone_uncovered.classes:
        return set()
    covered = {d["zone"] for d in devices if d["counts"]}
    return {z for z in ZONES if z not in covered}


# ------------------------------------------------------------------------------ from the inventory


def risk_fleet(session: Session, policy: Policy, today: date) -> pd.DataFrame:
    """One row per device in the inventory (disposed left out), RISK_FLEET_COLUMNS: what
    `build_units` needs. `counts` and `eol_year` are compliance.service.fleet_frame's."""
    from compliance.lifecycle import counts_toward_schedule, unknown_state_condition
    from inventory.repository import open_finding_exists

    unknown_counts = policy.schedule.unknown_counts_toward_schedule
    findings: dict[tuple[int, str], int] = defaultdict(int)
    open_by_severity = (
        select(Finding.device_id, Finding.severity, func.count())
        .where(Finding.status == "open", Finding.device_id.is_not(None), Finding.severity.in_(("critical", "high")))
        .group_by(Finding.device_id, Finding.severity)
    )
    for device_id, severity, n in session.connection().execute(open_by_severity):
        findings[(int(device_id), str(severity))] = int(n)
    query = (
        select(
            Device.id,
            Device.hostname,
            Site.code,
            Site.name,
            Device.device_class,
            Zone.kind,
            Device.status,
            Device.purchase_date,
            Device.os_name,
            Device.os_version,
            open_finding_exists().label("has_open"),
            DeviceCompliance.state,
            unknown_state_condition().label("state_unknown"),
        )  # fmt: skip
        .join(Site, Site.id == Device.site_id)
        .outerjoin(Zone, Zone.id == Device.zone_id)
        .outerjoin(DeviceCompliance, DeviceCompliance.device_id == Device.id)
        .where(in_inventory())
        .order_by(Device.id)
    )
    rows = []
    for did, host, code, name, cls, zone, status, bought, os_name, os_version, has_open, state, unknown in session.connection().execute(query):
        eol = end_of_life_year(policy, device_class=cls, bought=bought, os_name=os_name, os_version=os_version)
        counts = counts_toward_schedule(status, bool(has_open), eol, today.year, state_unknown=bool(unknown), unknown_counts=unknown_counts)
        support = os_support_end(policy, os_name, os_version)
        rows.append((
            int(did), host, code, name, cls, zone, status, counts, eol,
            years_past_service_life(bought, policy.service_life.years_for(cls), today),
            support is not None and support_ended(support, today),
            findings.get((int(did), "critical"), 0), findings.get((int(did), "high"), 0), state or "unknown",
        ))  # fmt: skip
    frame = pd.DataFrame(rows, columns=RISK_FLEET_COLUMNS)
    frame["eol_year"] = frame["eol_year"].astype("Int64")
    frame["counts"] = frame["counts"].astype(bool)
    return frame


def risk_frame(units: Iterable[UnitToBuy]) -> pd.DataFrame:
    """The units with their risk and parts, one row each (for tables and the workbook)."""
    return pd.DataFrame(
        [{"site_code": u.site_code, "device_class": u.device_class, "replaces": u.replaces_hostname or u.replaces_id, "risk": u.risk.total,
          **{f: sum(p.points for p in u.risk.parts if p.factor == f) for f in FACTORS}} for u in units],
        columns=["site_code", "device_class", "replaces", "risk", *FACTORS],
    )  # fmt: skip
