"""Procurement (planners): the plan per year by site x class, totals against the budget phasing
(with a server-drawn SVG chart), the budget lines, and the plan workbook."""

from __future__ import annotations

import io
import math
import tempfile
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template, request, send_file
from markupsafe import Markup

from compliance.planner import class_order, summed, write_plan_xlsx
from compliance.planner import with_site_subtotals as planner_subtotals
from compliance.policy import shipped_policy
from compliance.service import plan_from_inventory
from compliance.workbook import SUBTOTAL, records
from web.access import PLANNER, role_required
from web.database import cached, cached_fleet, get_session
from web.filters import number  # the one number format (other pages import it from here too)
from web.i18n import current_language
from web.paging import int_arg

bp = Blueprint("procurement", __name__, url_prefix="/procurement")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def bar_chart(groups: list[dict[str, Any]], series: list[tuple[str, str]], *, width: int = 560, height: int = 240) -> dict[str, Any]:
    """Geometry of a grouped bar chart, drawn as inline SVG by the template (no script, no style).

    groups: [{"label": "2026", "values": {key: number or None}}]; series: [(key, css class)].
    """
    left, right, top, bottom = 64, 10, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for g in groups for v in g["values"].values() if v is not None] + [0])
    scale_max = _nice(peak)
    slot = plot_w / max(1, len(groups))
    bar_w = min(48.0, slot * 0.8 / max(1, len(series)))
    bars, labels = [], []
    for i, group in enumerate(groups):
        x0 = left + i * slot + (slot - bar_w * len(series)) / 2
        for j, (key, css) in enumerate(series):
            value = group["values"].get(key)
            if value is None:
                continue
            h = 0 if scale_max == 0 else plot_h * value / scale_max
            bars.append({"x": round(x0 + j * bar_w, 1), "y": round(top + plot_h - h, 1), "w": round(bar_w - 2, 1), "h": round(h, 1),
                         "css": css, "value": value, "label": group["label"], "key": key})  # fmt: skip
        labels.append({"x": round(left + (i + 0.5) * slot, 1), "y": height - 8, "text": group["label"]})
    ticks = [{"y": round(top + plot_h - plot_h * f, 1), "value": scale_max * f} for f in (0, 0.25, 0.5, 0.75, 1)]
    return {"width": width, "height": height, "left": left, "right": width - right, "top": top, "bottom": top + plot_h,
            "bars": bars, "labels": labels, "ticks": ticks}  # fmt: skip


def _nice(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def plan_years() -> tuple[int, ...]:
    """The plan years of the schedule (schedule.yaml)."""
    return shipped_policy().schedule.years


def _plan():
    """The plan for today's inventory: pandas over the whole fleet, so kept until the data changes."""
    today = date.today()
    db, policy = get_session(), shipped_policy()
    return cached(("plan", today), lambda: plan_from_inventory(db, policy, today, years=policy.schedule.years, fleet=cached_fleet(db, policy, today)))


def year_view(plan, year: int) -> dict[str, Any]:
    """The page's tables and chart for one year, as plain records (kept with the plan)."""
    totals = records(plan.totals)
    chart = bar_chart(
        [{"label": str(t["year"]), "values": {"cost": t["cost"], "phasing": t["phasing"]}} for t in totals],
        [("cost", "bar-cost"), ("phasing", "bar-phasing")],
    )
    rows = records(plan.year_rows(year))
    return {
        "plan": plan,
        "rows": rows,
        "sites": len({r["site_code"] for r in rows}),
        "by_class": [r for r in records(plan.by_class) if r["year"] == year],
        "totals": totals,
        "year_total": next((t for t in totals if t["year"] == year), None),
        "budget": plan.budget,
        "budget_lines": records(plan.budget_lines),
        "chart": chart,
    }


@dataclass(frozen=True)
class PlanFilter:
    """The site and class asked for in the URL ("" for all), kept only when the plan has them."""

    site: str = ""
    device_class: str = ""

    @property
    def active(self) -> bool:
        return bool(self.site or self.device_class)

    def keep(self, row: dict[str, Any]) -> bool:
        return (not self.site or row["site_code"] == self.site) and (not self.device_class or row["device_class"] == self.device_class)

    def args(self) -> dict[str, str]:
        """Query arguments that carry the filter to another link (the year tabs)."""
        return {k: v for k, v in (("site", self.site), ("device_class", self.device_class)) if v}


def plan_filter(args: Any, rows: list[dict[str, Any]]) -> PlanFilter:
    sites = {r["site_code"] for r in rows}
    classes = {r["device_class"] for r in rows}
    site, cls = (args.get("site") or "").strip(), (args.get("device_class") or "").strip()
    return PlanFilter(site if site in sites else "", cls if cls in classes else "")


def with_site_subtotals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """compliance.planner's rows with their site subtotals (the workbook's too), marked for the
    template: {"subtotal": True, ...} for a subtotal row."""
    out = planner_subtotals(rows)  # fresh dicts: renaming the mark in place touches no caller's row
    for row in out:
        row["subtotal"] = row.pop(SUBTOTAL)
    return out


def by_class_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-class table of the filtered rows (the plan's own when nothing is filtered)."""
    classes: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        classes.setdefault(row["device_class"], []).append(row)
    return [{"device_class": cls} | summed(group) for cls, group in classes.items()]


@bp.route("/")
@role_required(PLANNER)
def index():
    today = date.today()
    years = plan_years()
    default = today.year if today.year in years else years[0]
    year = int_arg(request.args, "year", default, lo=0)
    if year not in years:
        year = default
    lang = current_language()
    num = partial(number, lang=lang)  # ~2,500 numbers on a page: the language looked up once

    def view():
        return cached(("procurement", today, year), lambda: year_view(_plan(), year))

    every_row = view()["rows"]
    flt = plan_filter(request.args, every_row)
    rows = [r for r in every_row if flt.keep(r)] if flt.active else every_row
    # The site x class table is most of the page and the same for everyone: kept as HTML. Its
    # rows are asked for inside, so they are never older than the revision it is kept under.
    site_rows = cached(
        ("procurement.rows", today, year, lang, flt),
        lambda: Markup(render_template("procurement/_site_rows.html", rows=with_site_subtotals(rows), num=num)),  # noqa: S704 (rendered from our own template, escaped there)
    )
    sites = sorted({(r["site_code"], r["site_name"]) for r in every_row})
    classes = sorted({r["device_class"] for r in every_row}, key=class_order)
    context = view() | {"by_class": by_class_of(rows)} if flt.active else view()
    return render_template(
        "procurement/index.html", **context, site_rows=site_rows, shown_total=summed(rows), shown_sites=len({r["site_code"] for r in rows}),
        flt=flt, filter_sites=sites, filter_classes=classes, year=year, years=years, num=num, lang=lang,
    )  # fmt: skip


@bp.route("/ke-hoach.xlsx")
@role_required(PLANNER)
def download():
    years = plan_years()
    name = f"ke-hoach-mua-sam-{years[0]}-{years[-1]}.xlsx"

    def write() -> bytes:
        with tempfile.TemporaryDirectory(prefix="kiemke-plan-") as tmp:
            return write_plan_xlsx(_plan(), Path(tmp) / name).read_bytes()

    data = cached(("plan.xlsx", date.today()), write)  # the workbook of the plan as it is now
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)
