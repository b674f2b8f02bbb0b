"""The fundable plan (planners): what the phasing and budget lines buy first, per year, site and
line, the deferred units with their reason and the sites that miss their target; the risk removed
per billion VND across the years (server-drawn SVG); what-if scenarios (compliance.scenarios)
picked, edited, saved and compared side by side. The policy itself is never changed here.

Fitting takes about half a second on a province: the units to buy are kept per data revision,
each plan per (data revision, scenario and its version)."""

from __future__ import annotations

import io
import math
import tempfile
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from compliance import scenarios
from compliance.planner import write_plan_xlsx
from compliance.policy import shipped_policy
from compliance.service import plan_from_inventory
from compliance.workbook import records
from inventory.models import PlanScenario
from inventory.scenarios import ScenarioNameTaken, create_scenario, delete_scenario, list_scenarios, scenario_by_id, update_scenario
from web.access import PLANNER, role_required
from web.charts import SERIES_COLOURS, risk_per_billion_svg
from web.database import cached, cached_fleet, get_session
from web.forms import ActionForm
from web.i18n import current_language
from web.paging import int_arg
from web.procurement import XLSX, number

bp = Blueprint("fundable", __name__, url_prefix="/procurement/theo-von")

POLICY = 0  # the scenario argument that means the policy's own numbers


# ------------------------------------------------------------------------------ plans, cached


def _inputs() -> scenarios.FitInputs:
    today = date.today()
    db, policy = get_session(), shipped_policy()
    return cached(("fundable.inputs", today), lambda: scenarios.fit_inputs(db, policy, today, fleet=cached_fleet(db, policy, today)))


def fitted(row: PlanScenario | None):
    """The fundable plan of `row` (None: the policy), kept until the data or the scenario changes
    (the scenario table moves no data revision: its version is in the key)."""
    policy = shipped_policy()
    key = ("fundable", date.today(), None) if row is None else ("fundable", date.today(), row.id, row.version)
    data = None if row is None else scenarios.ScenarioData.from_json(row.data)
    return cached(key, lambda: scenarios.fit_scenario(_inputs(), data, policy))


def _scenario_arg(name: str) -> PlanScenario | None:
    """The scenario named by the query argument `name` (an id; absent or 0: the policy)."""
    scenario_id = int_arg(request.args, name, POLICY, lo=0)
    if scenario_id == POLICY:
        return None
    row = scenario_by_id(get_session(), scenario_id)
    if row is None:
        abort(404)
    return row


def _year(years: tuple[int, ...]) -> int:
    today = date.today()
    default = today.year if today.year in years else years[0]
    year = int_arg(request.args, "year", default, lo=0)
    return year if year in years else default


def _label(row: PlanScenario | None) -> str:
    return _("Theo chính sách") if row is None else row.name


# ------------------------------------------------------------------------------ what a page shows


def year_view(plan, year: int) -> dict[str, Any]:
    """One year of a plan as records: the money, spending per line, purchases per site, deferred
    units counted per site, class and reason, and the sites that miss a target."""
    frames = plan.shown([year])
    bought = records(frames["bought"].sort_values(["site_code", "device_class"]))
    per_site: dict[str, dict[str, Any]] = {}
    for row in bought:
        site = per_site.setdefault(row["site_code"], {"site_code": row["site_code"], "site_name": row["site_name"], "rows": [], "units": 0, "cost": 0.0, "risk": 0})
        site["rows"].append(row)
        site["units"] += row["units"]
        site["cost"] += row["cost"]
        site["risk"] += row["risk"]
    deferred = frames["deferred"]
    if len(deferred):
        # Per site, class and reason: how many, the riskiest, and how many are bought in a later
        # plan year (and which years); the others are not bought within the plan.
        deferred = (
            deferred.assign(later=deferred["bought_year"].notna(), later_year=[str(int(y)) if pd.notna(y) else "" for y in deferred["bought_year"]])
            .groupby(["site_code", "site_name", "device_class", "reason", "reason_vi"], as_index=False)
            .agg(units=("risk", "size"), top_risk=("risk", "max"), later=("later", "sum"), later_years=("later_year", lambda ys: ", ".join(sorted({y for y in ys if y}))))
            .sort_values(["site_code", "device_class", "reason"])
        )  # fmt: skip
    lines = [dict(r, title=plan.line_titles.get(r["line_id"], r["line_id"])) for r in records(frames["spend"])]
    return {
        "summary": scenarios.year_summary(plan, year),
        "lines": lines,
        "sites": list(per_site.values()),
        "deferred": records(deferred) if len(deferred) else [],
        "missed": records(frames["missed"].sort_values(["site_code", "device_class"])),
    }


def chart(plans: list[tuple[str, Any]], years: list[int], num) -> dict[str, Any]:
    """The risk-per-billion chart of `plans` ([(label, plan)]) and its legend."""
    series = [(label, scenarios.risk_per_billion(plan)) for label, plan in plans]
    shown = [f"{y}: {num(v, 1)}" if v is not None else f"{y}: —" for y in years for v in [series[0][1].get(y)]]
    words = {
        "title": _("Rủi ro giảm được trên mỗi tỷ đồng, theo năm"),
        "desc": _("Điểm rủi ro các thiết bị mua trong năm loại bỏ, chia cho kinh phí (tỷ đồng). %(label)s: %(values)s.", label=series[0][0], values="; ".join(shown)),
    }
    svg = risk_per_billion_svg(series, years, words=words, fmt=lambda v: num(v, 1))
    return {"svg": svg, "legend": [(label, SERIES_COLOURS[i % len(SERIES_COLOURS)]) for i, (label, _values) in enumerate(series)]}


@bp.route("/")
@role_required(PLANNER)
def index():
    policy = shipped_policy()
    years = scenarios.plan_years(policy)
    year = _year(years)
    row = _scenario_arg("scenario")
    plan = fitted(row)
    num = partial(number, lang=current_language())
    return render_template(
        "fundable/index.html", plan=plan, view=year_view(plan, year), year=year, years=years, scenario=row, label=_label(row),
        scenario_list=list_scenarios(get_session()), chart=chart([(_label(row), plan)], list(years), num), num=num, lang=current_language(),
    )  # fmt: skip


@bp.route("/so-sanh")
@role_required(PLANNER)
def compare():
    """Two plans side by side (each the policy or a scenario): the year's numbers, spending per
    line, and the site x class purchases where they differ."""
    policy = shipped_policy()
    years = scenarios.plan_years(policy)
    year = _year(years)
    a, b = _scenario_arg("a"), _scenario_arg("b")
    plan_a, plan_b = fitted(a), fitted(b)
    num = partial(number, lang=current_language())
    view_a, view_b = year_view(plan_a, year), year_view(plan_b, year)
    return render_template(
        "fundable/compare.html", a=a, b=b, label_a=_label(a), label_b=_label(b), year=year, years=years,
        view_a=view_a, view_b=view_b, lines=_side_by_side_lines(view_a, view_b), diff=_side_by_side(plan_a, plan_b, year),
        chart=chart([(_label(a), plan_a), (_label(b), plan_b)], list(years), num),
        scenario_list=list_scenarios(get_session()), num=num, lang=current_language(),
    )  # fmt: skip


def _side_by_side_lines(view_a: dict, view_b: dict) -> list[dict[str, Any]]:
    lines: dict[str, dict[str, Any]] = {}
    for side, view in (("a", view_a), ("b", view_b)):
        for line in view["lines"]:
            entry = lines.setdefault(line["line_id"], {"title": line["title"], "a": 0.0, "b": 0.0, "units_a": 0, "units_b": 0})
            entry[side] += line["spend"]
            entry[f"units_{side}"] += line["units"]
    return list(lines.values())


def _side_by_side(plan_a, plan_b, year: int) -> list[dict[str, Any]]:
    """Site x class units bought in `year` by each plan, the rows where they differ."""
    got: dict[tuple[str, str], dict[str, Any]] = {}
    for side, plan in (("a", plan_a), ("b", plan_b)):
        for row in records(plan.bought[plan.bought["year"] == year]):
            entry = got.setdefault((row["site_code"], row["device_class"]), {"site_code": row["site_code"], "site_name": row["site_name"], "device_class": row["device_class"], "a": 0, "b": 0})
            entry[side] += row["units"]
    return [e for _key, e in sorted(got.items()) if e["a"] != e["b"]]


@bp.route("/ke-hoach-theo-von.xlsx")
@role_required(PLANNER)
def download():
    """The plan workbook with the fundable sheets of the plan shown (the policy's or a
    scenario's): compliance.planner.write_plan_xlsx, as `kiemke plan --fit --out`."""
    row = _scenario_arg("scenario")
    today = date.today()
    db, policy = get_session(), shipped_policy()
    years = scenarios.plan_years(policy)
    name = f"ke-hoach-theo-von-{years[0]}-{years[-1]}" + (f"-phuong-an-{row.id}" if row is not None else "") + ".xlsx"

    def write() -> bytes:
        plan = cached(("fundable.plan", today), lambda: plan_from_inventory(db, policy, today, years=years, fleet=cached_fleet(db, policy, today)))
        with tempfile.TemporaryDirectory(prefix="kiemke-fundable-") as tmp:
            return write_plan_xlsx(plan, Path(tmp) / name, fitted(row)).read_bytes()

    key = ("fundable.xlsx", today, None) if row is None else ("fundable.xlsx", today, row.id, row.version)
    return send_file(io.BytesIO(cached(key, write)), mimetype=XLSX, as_attachment=True, download_name=name)


# ------------------------------------------------------------------------------ scenarios


def _fields(policy) -> dict[str, Any]:
    """What the edit form shows, in order: years, classes, lines (with titles), target groups."""
    budget = policy.budget.plan(scenarios.BUDGET_PLAN)
    return {
        "years": scenarios.plan_years(policy),
        "classes": [cls for cls, p in policy.prices.unit_prices.items() if p is not None],
        "lines": [line for line in budget.lines if line.classes],
        "groups": list(policy.schedule.groups),
    }


def _number(raw: str | None) -> float:
    """A number typed in either language's format (1.234,5 or 1,234.5 or 1234.5); NaN when it is
    not one (compliance.scenarios.validate then says so)."""
    text = (raw or "").strip().replace(" ", "").replace("\u00a0", "")
    if "," in text and "." in text:  # the last separator is the decimal one
        text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") else text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _from_form(policy) -> scenarios.ScenarioData:
    f = _fields(policy)
    form = request.form
    return scenarios.ScenarioData(
        phasing={y: _number(form.get(f"phasing-{y}")) for y in f["years"]},
        prices={cls: _number(form.get(f"price-{cls}")) for cls in f["classes"]},
        lines={line.id: _number(form.get(f"line-{line.id}")) for line in f["lines"]},
        targets={g.id: {y: _number(form.get(f"target-{g.id}-{y}")) for y in f["years"]} for g in f["groups"]},
    )


def _text(t) -> str:
    return t.en if current_language() == "en" else t.vi


@bp.route("/phuong-an/moi", methods=["GET", "POST"])
@role_required(PLANNER)
def new_scenario():
    """A new scenario: a copy of the policy's numbers (or of another scenario's), then edited."""
    db, policy = get_session(), shipped_policy()
    form = ActionForm()
    others = list_scenarios(db)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        name = (request.form.get("name") or "").strip()
        source = scenario_by_id(db, int_arg(request.form, "copy_of", POLICY, lo=0)) if int_arg(request.form, "copy_of", POLICY, lo=0) else None
        problem = scenarios.valid_name(name)
        if problem is None:
            data = source.data if source is not None else scenarios.from_policy(policy).to_json()
            try:
                row = create_scenario(db, name, data, current_user.username)
                db.commit()
            except ScenarioNameTaken:
                db.rollback()
                problem_text = _("Đã có phương án tên «%(name)s».", name=name)
            else:
                flash(_("Đã tạo phương án «%(name)s» từ %(source)s.", name=row.name, source=_label(source)), "info")
                return redirect(url_for("fundable.edit_scenario", scenario_id=row.id))
        else:
            problem_text = _text(problem)
        return render_template("fundable/new.html", form=form, others=others, name=name, errors=[problem_text]), 400
    return render_template("fundable/new.html", form=form, others=others, name="", errors=[])


@bp.route("/phuong-an/<int:scenario_id>", methods=["GET", "POST"])
@role_required(PLANNER)
def edit_scenario(scenario_id: int):
    db, policy = get_session(), shipped_policy()
    row = scenario_by_id(db, scenario_id)
    if row is None:
        abort(404)
    form = ActionForm()
    original = scenarios.from_policy(policy)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        data = _from_form(policy)
        name = (request.form.get("name") or "").strip()
        problems = [_text(p) for p in ([scenarios.valid_name(name)] if scenarios.valid_name(name) else []) + scenarios.validate(data, policy)]
        if not problems:
            try:
                changed = update_scenario(db, row, data.to_json(), current_user.username, name=name)
                db.commit()
            except ScenarioNameTaken:
                db.rollback()
                problems = [_("Đã có phương án tên «%(name)s».", name=name)]
            else:
                flash(_("Đã lưu phương án «%(name)s».", name=row.name) if changed else _("Không có thay đổi."), "info")
                return redirect(url_for("fundable.index", scenario=row.id, year=request.form.get("year", "")))
        return render_template("fundable/edit.html", form=form, row=row, name=name, values=_form_values(data), policy_values=_form_values(original),
                               errors=problems, **_fields(policy), lang=current_language()), 400  # fmt: skip
    data = scenarios.ScenarioData.from_json(row.data)
    return render_template("fundable/edit.html", form=form, row=row, name=row.name, values=_form_values(data), policy_values=_form_values(original),
                           errors=[], **_fields(policy), lang=current_language())  # fmt: skip


def _form_values(data: scenarios.ScenarioData) -> dict[str, str]:
    """The form's fields as typed values ('' for what is not a number, so it shows empty)."""

    def show(value: float) -> str:
        return "" if value is None or not math.isfinite(value) else f"{value:g}" if abs(value) < 1e15 else str(value)

    values = {f"phasing-{y}": show(v) for y, v in data.phasing.items()}
    values |= {f"price-{c}": show(v) for c, v in data.prices.items()}
    values |= {f"line-{i}": show(v) for i, v in data.lines.items()}
    values |= {f"target-{g}-{y}": show(v) for g, by_year in data.targets.items() for y, v in by_year.items()}
    return values


@bp.route("/phuong-an/<int:scenario_id>/xoa", methods=["GET", "POST"])
@role_required(PLANNER)
def remove_scenario(scenario_id: int):
    """Delete a scenario, after a confirmation page (the policy is not touched)."""
    db = get_session()
    row = scenario_by_id(db, scenario_id)
    if row is None:
        abort(404)
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        name = row.name
        delete_scenario(db, row, current_user.username)
        db.commit()
        flash(_("Đã xóa phương án «%(name)s».", name=name), "info")
        return redirect(url_for("fundable.index"))
    return render_template("fundable/delete.html", form=form, row=row)


# ------------------------------------------------------------------------------ the quarterly report


def report_section(quarter: str) -> dict[str, Any] | None:
    """The fundable plan (the policy's) of the quarter's year, for the quarterly report's page
    (web/templates/fundable/_report_section.html); None when the year is outside the plan."""
    policy = shipped_policy()
    try:
        year = int(str(quarter)[:4])
    except ValueError:
        return None
    if year not in scenarios.plan_years(policy):
        return None
    plan = fitted(None)
    view = year_view(plan, year)
    return {"year": year, "summary": view["summary"], "lines": view["lines"], "missed_sites": sorted({(m["site_code"], m["site_name"]) for m in view["missed"]})}


@bp.app_template_global("fundable_report_section")
def _report_section_global(quarter: str) -> dict[str, Any] | None:
    return report_section(quarter)
