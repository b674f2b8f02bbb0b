"""The overview: every site ranked and coloured by its compliance share and critical findings per
device, with its coverage; findings by severity and rule, schedule progress, latest scans."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
from flask import Blueprint, current_app, render_template
from markupsafe import Markup
from sqlmodel import Session

from collectors.fleet.registry import collector_status
from collectors.queries import recent_scan_runs
from compliance.coverage import share, silent_devices
from compliance.lifecycle import counting_in_year
from compliance.planner import Plan
from compliance.policy import Policy, PolicyError, shipped_policy
from compliance.service import approved_frame, fleet_frame, plan_from_inventory
from compliance.state import COMPLIANT, NON_COMPLIANT, STATES, UNKNOWN
from web import queries
from web.access import EVERYONE, role_required
from web.charts import trend_panel
from web.database import cached, cached_fleet, get_session
from web.i18n import current_language

bp = Blueprint("overview", __name__)


def counting_by_site_class(fleet: pd.DataFrame, years: Sequence[int]) -> dict[tuple[str, str], dict[Any, int]]:
    """(site code, class) -> {"now": n, year: n, ...}: devices that count toward the schedule now
    and, without purchases, in each year (compliance.lifecycle decides what counts)."""
    counting = fleet[fleet["counts"]]
    out: dict[tuple[str, str], dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    for (code, cls), group in counting.groupby(["site_code", "device_class"], sort=False):
        counts = out[(code, cls)]
        counts["now"] = len(group)
        for y in years:
            counts[y] = int(counting_in_year(group, y).sum())
    return out


def schedule_progress(
    session: Session, policy: Policy, today: date | None = None, years: Sequence[int] | None = None, fleet: pd.DataFrame | None = None, plan: Plan | None = None
) -> list[dict[str, Any]]:
    """Per schedule group: approved quantity, the share counting now, and per year (default:
    the schedule's plan years) the cumulative target share, the share still counting then
    (without purchases) and the units short. The units short are the plan's `shortfall` column
    (compliance.planner, SHORTFALL_LABEL: missing if nothing is bought from now), added up over
    the group's classes, so the overview and the procurement page say the same; `plan`: the plan
    over those years if the caller has it."""
    today = today or date.today()
    years = policy.schedule.years if years is None else years
    fleet = fleet if fleet is not None else fleet_frame(session, policy, today)
    plan = plan if plan is not None else plan_from_inventory(session, policy, today, years=years, fleet=fleet)
    shortfall = plan.rows.groupby(["device_class", "year"])["shortfall"].sum().to_dict() if len(plan.rows) else {}
    approved = approved_frame(session)
    quantities: dict[tuple[str, str], int] = defaultdict(int)
    for row in approved.itertuples(index=False):
        if row.quantity and row.quantity > 0:
            quantities[(str(row.site_code), str(row.device_class))] += int(row.quantity)
    counting = counting_by_site_class(fleet, years)
    out = []
    for group in policy.schedule.groups:
        pairs = [(key, q) for key, q in quantities.items() if key[1] in group.classes]
        total = sum(q for _, q in pairs)
        now = sum(min(counting.get(key, {}).get("now", 0), q) for key, q in pairs)
        per_year = []
        for y in years:
            share = policy.schedule.cumulative_share(group.classes[0], y) or 0.0
            have = sum(min(counting.get(key, {}).get(y, 0), q) for key, q in pairs)
            short = sum(int(shortfall.get((cls, y), 0)) for cls in group.classes)
            per_year.append({
                "year": y, "target_pct": share, "counting": have,
                "counting_pct": round(100 * have / total, 1) if total else None, "short": short,
            })  # fmt: skip
        out.append({
            "id": group.id, "title": {"vi": group.title.vi, "en": group.title.en}, "classes": list(group.classes),
            "approved": total, "counting": now, "counting_pct": round(100 * now / total, 1) if total else None, "years": per_year,
        })  # fmt: skip
    return out


def _policy() -> Policy | None:
    try:
        return shipped_policy()
    except (PolicyError, OSError):
        return None


def cached_plan(db: Session, policy: Policy, today: date) -> Plan:
    """The procurement plan for today over the schedule's years: the same cache entry and
    computation as the procurement page (web/procurement.py), so both read one plan."""
    return cached(("plan", today), lambda: plan_from_inventory(db, policy, today, years=policy.schedule.years, fleet=cached_fleet(db, policy, today)))


def fleet_shares(sites: list[dict[str, Any]]) -> dict[str, Any]:
    """The three shares over every site's devices together."""
    states = {state: sum(s["states"][state] for s in sites) for state in STATES}
    total = sum(states.values())
    return {"states": states, "compliant_pct": share(states[COMPLIANT], total), "non_compliant_pct": share(states[NON_COMPLIANT], total), "unknown_pct": share(states[UNKNOWN], total)}


def summary(db: Session, today: date) -> dict[str, Any]:
    """Everything on the overview except the latest scans: costly on a large fleet, so cached.
    The sites come ranked worst first (web.queries.rank_key) and coloured by their band."""
    sites = sorted(queries.sites_with_compliance(db), key=queries.rank_key)
    policy = _policy()
    return {
        "sites": sites,
        "fleet": fleet_shares(sites),
        "band_counts": dict(Counter(s["band"] for s in sites)),
        "by_severity": queries.open_findings_by_severity(db),
        "by_rule": queries.findings_by_rule(db),
        "silent": _longest_silent(db, sites),
        "progress": schedule_progress(db, policy, today, fleet=cached_fleet(db, policy, today), plan=cached_plan(db, policy, today)) if policy is not None else [],
    }


SILENT_SHOWN = 10  # the overview names the longest silent; each site page lists all of its own


def _longest_silent(db: Session, sites: list[dict[str, Any]]) -> dict[str, Any]:
    """The province's silent devices: how many, and the longest silent with their site's code."""
    codes = {site["id"]: site["code"] for site in sites}
    devices = silent_devices(db, None)
    return {"count": len(devices), "devices": [d | {"site_code": codes.get(d["site_id"])} for d in devices[:SILENT_SHOWN]]}


@bp.route("/")
@role_required(*EVERYONE)
def index():
    db = get_session()
    today = date.today()
    policy = _policy()
    # Coverage moves with the clock too (a device falls silent without any data change).
    key = (today, queries.coverage_period())
    data = cached(("overview", *key), lambda: summary(db, today))
    ranked = cached(("overview-sites", *key, current_language()), lambda: ranked_sites_html(data))
    return render_template(
        "overview.html",
        **data,
        ranked_sites=ranked,
        titles=queries.rule_titles(),
        scans=recent_scan_runs(db, limit=10),
        progress_years=policy.schedule.years if policy is not None else (),
        trend=cached(("trend", today, current_language()), lambda: trend_panel(db, None, chart_id="trend-province")),
        collectors=_collectors(db),  # read fresh: a collector falls silent without any data change
    )


def _collectors(db: Session) -> list:
    """Every collector's coverage (last contact, the oldest result it still holds), for the block
    shown only on a hub with collectors."""
    return collector_status(db, silent_minutes=current_app.extensions["kiemke.settings"].collector_silent_minutes)


def ranked_sites_html(data: dict[str, Any]) -> Markup:
    """The ranked tiles and the coverage table, rendered once per language and data revision:
    the same for every reader (nothing per user in it), and most of the page's rendering."""
    return Markup(render_template("sites/_overview_sites.html", sites=data["sites"], fleet=data["fleet"], band_counts=data["band_counts"], bands=queries.BANDS))  # noqa: S704 - rendered by Jinja, autoescaped
