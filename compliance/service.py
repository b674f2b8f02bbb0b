"""Evaluate and keep findings; which devices count toward the replacement schedule."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Engine, select
from sqlmodel import Session

from compliance.lifecycle import counts_toward_schedule, end_of_life_year, unknown_state_condition
from compliance.policy import Policy
from inventory.models import ApprovedQuantity, Device, DeviceCompliance, Finding, Site
from inventory.repository import in_inventory, open_finding_exists


def run_check(engine: Engine, *, actor: str, today: date | None = None, policy: Policy | None = None) -> dict:
    """Evaluate every rule on the whole fleet and bring the findings up to date (`kiemke check`:
    an evaluation of the fleet triggered from the command line); EvaluationError if it failed."""
    from compliance.evaluation import EvaluationError, evaluate_scope

    result = evaluate_scope(engine, trigger="cli", actor=actor, today=today, policy=policy)
    if result["status"] != "ok":
        raise EvaluationError(f"the evaluation failed (run {result['run_id']}): {result['error']}")
    return result


def fleet_frame(session: Session, policy: Policy, today: date) -> pd.DataFrame:
    """One row per non-disposed device: site, class, whether it counts toward the schedule now
    (compliance.lifecycle, the policy's unknown_counts_toward_schedule applied), whether it would
    count but its compliance state is unknown (`unknown`: counted among `counts` when the flag is
    on, left out when it is off), its state (compliant, non_compliant, unknown; never evaluated is
    unknown) and the year it stops counting by service life or OS support."""
    unknown_counts = policy.schedule.unknown_counts_toward_schedule
    rows = []
    # Only the columns needed, as plain Core rows: ORM objects (or even the ORM's row handling)
    # for a 50,000-device fleet cost seconds; "has an open finding" is asked of an index.
    query = select(
        Device.device_class, Device.status, Device.purchase_date, Device.os_name, Device.os_version,
        Site.code, Site.name, Site.kind, open_finding_exists().label("has_open"),
        DeviceCompliance.state, unknown_state_condition().label("state_unknown"),
    ).join(Site, Site.id == Device.site_id).outerjoin(DeviceCompliance, DeviceCompliance.device_id == Device.id).where(in_inventory())  # fmt: skip
    for device_class, status, bought, os_name, os_version, code, name, kind, has_open, state, unknown in session.connection().execute(query).all():
        eol = end_of_life_year(policy, device_class=device_class, bought=bought, os_name=os_name, os_version=os_version)
        counts = counts_toward_schedule(status, has_open, eol, today.year, state_unknown=bool(unknown), unknown_counts=unknown_counts)
        would_count = bool(unknown) and counts_toward_schedule(status, has_open, eol, today.year)
        rows.append((code, name, kind, device_class, counts, would_count, state or "unknown", eol))
    frame = pd.DataFrame(rows, columns=["site_code", "site_name", "site_kind", "device_class", "counts", "unknown", "state", "eol_year"])
    frame["eol_year"] = frame["eol_year"].astype("Int64")
    # bool even when empty: an empty object column used as a mask would select columns instead.
    frame["counts"] = frame["counts"].astype(bool)
    frame["unknown"] = frame["unknown"].astype(bool)
    return frame


def approved_frame(session: Session) -> pd.DataFrame:
    query = select(Site.code, ApprovedQuantity.device_class, ApprovedQuantity.quantity).join(Site, Site.id == ApprovedQuantity.site_id)
    return pd.DataFrame(session.execute(query).all(), columns=["site_code", "device_class", "quantity"])


def plan_from_inventory(session: Session, policy: Policy, today: date, years: Iterable[int] | None = None, *, fleet: pd.DataFrame | None = None):
    """The plan for the inventory as it is over `years` (default: the schedule's plan years);
    `fleet`: fleet_frame(session, policy, today) if the caller has it already."""
    from compliance.planner import build_plan

    sites = pd.DataFrame(session.execute(select(Site.code, Site.name, Site.kind)).all(), columns=["site_code", "site_name", "site_kind"])
    fleet = fleet if fleet is not None else fleet_frame(session, policy, today)
    return build_plan(fleet, approved_frame(session), policy, years, sites=sites)


def report_from_inventory(session: Session, policy: Policy, quarter: str, today: date, *, fleet: pd.DataFrame | None = None):
    """The quarterly report; `fleet`: fleet_frame(session, policy, today) if the caller has it."""
    from compliance.report import build_report, quarter_bounds
    from compliance.trends import trend_frame
    from inventory.models import InformationSystem

    start, end, _ = quarter_bounds(quarter)
    fleet = fleet if fleet is not None else fleet_frame(session, policy, today)
    # The three states, as compliance.state.state_shares counts them (never evaluated: unknown).
    states = {name: fleet["state"].eq(name).astype(int) for name in ("compliant", "non_compliant", "unknown")}
    by_site = fleet.assign(devices=1, **states).groupby(["site_code", "site_name"], as_index=False)[["devices", *states]].sum()
    query = select(Finding.rule_id, Finding.severity, Finding.status, Site.code, Finding.first_seen, Finding.resolved_at).outerjoin(Site, Site.id == Finding.site_id)
    # Plain tuples from Core rows: pandas inspects each ORM row object, seconds for 200,000.
    findings = pd.DataFrame(
        [tuple(row) for row in session.connection().execute(query)],
        columns=["rule_id", "severity", "status", "site_code", "first_seen", "resolved_at"],
    )
    systems = pd.DataFrame(
        session.execute(select(InformationSystem.name, InformationSystem.security_level, InformationSystem.dossier_status, InformationSystem.assessed_on)).all(),
        columns=["name", "security_level", "dossier_status", "assessed_on"],
    )
    plan = plan_from_inventory(session, policy, today, years=(start.year,), fleet=fleet)
    return build_report(
        quarter, compliance_by_site=by_site, findings=findings, plan=plan, security_levels=systems, today=today,
        coverage=coverage_frame(session), trend=trend_frame(session, start, end), silent=silent_frame(session),
    )  # fmt: skip


def silent_frame(session: Session, now: datetime | None = None) -> pd.DataFrame:
    """compliance.coverage.silent_devices of the whole province with the site's code and name:
    site_code, site_name, hostname, mgmt_ip, device_class, zone, last_seen, silent_days (None:
    never answered)."""
    from compliance.coverage import silent_devices
    from compliance.report import SILENT_COLUMNS

    names = {site_id: (code, name) for site_id, code, name in session.execute(select(Site.id, Site.code, Site.name))}
    rows = [
        {"site_code": names[d["site_id"]][0], "site_name": names[d["site_id"]][1], "hostname": d["hostname"], "mgmt_ip": d["mgmt_ip"],
         "device_class": d["device_class"], "zone": d["zone"], "last_seen": d["last_seen"],
         "silent_days": None if d["silent_for"] is None else d["silent_for"].days}
        for d in silent_devices(session, None, now)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=SILENT_COLUMNS)


def coverage_frame(session: Session) -> pd.DataFrame:
    """compliance.coverage's rows (per site and zone, today) with the site's code and name."""
    from compliance.coverage import COUNTS, coverage

    names = {site_id: (code, name) for site_id, code, name in session.execute(select(Site.id, Site.code, Site.name))}
    rows = [
        {"site_code": names[r["site_id"]][0], "site_name": names[r["site_id"]][1], "zone": r["zone"],
         **{key: r[key] for key in COUNTS}, "last_evaluated": r["last_evaluated"]}
        for r in coverage(session) if r["site_id"] in names
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["site_code", "site_name", "zone", *COUNTS, "last_evaluated"])
