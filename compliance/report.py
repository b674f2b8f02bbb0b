"""Quarterly progress report (TQ IV.2: due before the 23rd of the last month of each quarter).

`build_report` turns plain tables into a `QuarterlyReport`; `write_report_xlsx` and
`compliance.report_pdf.write_report_pdf` print it with the same sections. Definitions, for the quarter [start, end]
(both days included; timestamps with a time zone are read in Vietnam time):

- Compliance: the three states per site and overall (today's state, compliance.state): compliant,
  non-compliant and unknown, each with its share of the devices, always together; a device the
  caller does not say is compliant or non-compliant is unknown, never compliant.
- Coverage (today, compliance.coverage) per site and zone: devices recorded, polled within the
  site's interval, answering, configuration collected (network devices), host facts collected
  (endpoints), evaluated, last evaluation; a compliance figure without its coverage misleads.
- Findings per severity, from each finding's dates (its current status alone says nothing about a
  past quarter). A finding is *closed* at `resolved_at` when its status is "resolved" or "waived";
  an "open" finding is open whatever its `resolved_at` says (it was reopened).
    open_at_end  first_seen <= end and not closed by end (a resolved or waived finding without
                 a date is treated as closed; waivers are accepted exceptions, shown in `waived`)
    opened       start <= first_seen <= end
    resolved     status "resolved" and start <= resolved_at <= end
    waived       status "waived" and first_seen <= end
- Schedule progress for the quarter's year, per class, from the plan's rows of that year:
  counting (stock that counts in that year, from the inventory the plan was built on) against the
  target. `shortfall` ("Còn thiếu nếu từ nay không mua thêm") is the plan's own column, each site's
  max(0, target - counting) added up, so a surplus at one site does not hide a shortfall at another;
  progress % = (target - shortfall) / target. Purchases the plan merely proposes do not count as
  progress.
- Procurement ("Mua sắm dự kiến trong năm"): the plan's units to buy and cost for that year against
  the budget phasing; the very figures of the procurement page for that year (the plan always
  plans from the schedule's first year, compliance.planner).
- Fundable plan (compliance.fundable, when the caller attaches one with `with_fundable`): what the
  quarter's year's money buys first, by site and budget line, what slips to later years and why,
  and which sites then miss that year's 40/80/100% target and by how much.
- Security by level (TQ I.2.3): share of systems whose dossier is "approved" (with `assessed_on`
  empty or on/before the quarter's end) among all systems listed; the target is *more than* 90%.
- Trend: the daily snapshots (compliance.trends, table site_snapshot) taken within the quarter:
  per site and day, and added up per day for the province (shares of its devices that day). Fewer
  than two days recorded: "not enough history yet" (a fresh install), never an invented line.
- Due date: the 22nd of the quarter's last month; overdue when `today` is after it. Whether the
  report was actually sent is not known here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from compliance.planner import STATUS_VI, Plan, class_order, unknown_note
from compliance.policy import SEVERITIES
from compliance.workbook import (
    INT_FORMAT,
    MONEY_FORMAT,
    PCT_FORMAT,
    SHORTFALL_LABEL,
    TO_BUY_LABEL,
    Column,
    SheetWriter,
    class_label,
    column,
    records,
    unknown_column,
    vi_date,
    vi_number,
)
from inventory.choices import LOCAL_TIMEZONE, SEVERITY_LABELS_VI

if TYPE_CHECKING:
    from compliance.fundable import FundablePlan

SECURITY_TARGET_PCT = 90.0  # "more than 90%" (TQ I.2.3)
SEVERITY_ORDER = SEVERITIES
SEVERITY_VI = SEVERITY_LABELS_VI
DOSSIER_VI = {"none": "Chưa có", "drafting": "Đang xây dựng", "submitted": "Đã trình", "approved": "Đã phê duyệt"}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
LOCAL_TZ = LOCAL_TIMEZONE
DUE_DAY = 22  # "before the 23rd"

# Coverage columns (compliance.coverage.COUNTS, repeated here: the report takes plain tables).
COVERAGE_COUNTS = ["devices", "polled_on_time", "answering", "network", "config_collected", "endpoints", "facts_collected", "agent_reported", "evaluated"]
COVERAGE_COLUMNS = ["site_code", "site_name", "zone", *COVERAGE_COUNTS, "last_evaluated"]
# Silent devices (compliance.service.silent_frame): polled but not answering within the interval.
SILENT_COLUMNS = ["site_code", "site_name", "hostname", "mgmt_ip", "device_class", "zone", "last_seen", "silent_days"]
SILENT_PDF_ROWS = 200  # a longer list goes to the workbook only
STATE_WORDS_VI = ("tuân thủ", "không tuân thủ", "chưa rõ")
# Trend columns: one daily snapshot per site (compliance.trends.FIELDS, repeated likewise).
TREND_COUNTS = ["devices", "compliant", "non_compliant", "unknown", "critical", "high", "medium", "low", "polled_on_time", "answering", "config_collected"]
TREND_COLUMNS = ["day", "site_code", "site_name", *TREND_COUNTS]
MIN_TREND_DAYS = 2  # as compliance.trends.enough_history: one day is a point, not a trend
NOT_ENOUGH_HISTORY_VI = "Chưa đủ dữ liệu lịch sử"

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]\s*([1-4])\s*$")


def quarter_bounds(quarter: str) -> tuple[date, date, date]:
    """(first day, last day, due date) of a quarter written "2026Q3" (also "2026-Q3", "2026q3").

    >>> quarter_bounds("2026Q3")
    (datetime.date(2026, 7, 1), datetime.date(2026, 9, 30), datetime.date(2026, 9, 22))
    """
    match = _QUARTER.match(quarter) if isinstance(quarter, str) else None
    if not match:
        raise ValueError(f"invalid quarter {quarter!r}: expected YYYYQn with n from 1 to 4, e.g. 2026Q3")
    year, number = int(match.group(1)), int(match.group(2))
    if year < 1900:
        raise ValueError(f"invalid quarter {quarter!r}: year {year} out of range")
    start = date(year, 3 * number - 2, 1)
    last_month = 3 * number
    end = (date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)) - timedelta(days=1)
    return start, end, date(year, last_month, DUE_DAY)


def quarter_label_vi(quarter: str) -> str:
    """ "Quý III năm 2026" """
    start, _, _ = quarter_bounds(quarter)
    return f"Quý {ROMAN[(start.month + 2) // 3]} năm {start.year}"


@dataclass(frozen=True)
class Share:
    """part of whole, and the percentage (None when whole is 0)."""

    part: int
    whole: int

    @property
    def pct(self) -> float | None:
        return None if self.whole == 0 else round(100 * self.part / self.whole, 2)

    def to_json(self) -> dict[str, Any]:
        return {"part": self.part, "whole": self.whole, "pct": self.pct}


FUNDABLE_SITE_COLUMNS = ["site_code", "site_name", "line_id", "line_vi", "units", "cost", "risk"]
FUNDABLE_REASON_COLUMNS = ["reason", "reason_vi", "units"]
FUNDABLE_MISSED_COLUMNS = ["site_code", "site_name", "device_class", "approved", "target", "in_place", "missing"]


@dataclass(frozen=True, eq=False)  # holds DataFrames
class FundableYear:
    """The fundable plan of one year as the report prints it. Money in million VND.

    by_site: site_code, site_name, line_id, line_vi, units, cost, risk (what the year buys).
    deferred: reason, reason_vi, units (units first needed this year and not bought this year).
    missed: site_code, site_name, device_class, approved, target, in_place, missing (after buying).
    """

    year: int
    money: float  # the year's phasing
    available: float  # with what earlier years carried in
    spent: float
    carried_over: float
    units: int
    risk: int
    by_site: pd.DataFrame
    deferred: pd.DataFrame
    missed: pd.DataFrame
    status: str  # the solver's

    @property
    def deferred_units(self) -> int:
        return int(self.deferred["units"].sum()) if len(self.deferred) else 0

    @property
    def sites_missing(self) -> int:
        return int(self.missed["site_code"].nunique()) if len(self.missed) else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year, "money": self.money, "available": self.available, "spent": self.spent, "carried_over": self.carried_over,
            "units": self.units, "risk": self.risk, "deferred_units": self.deferred_units, "sites_missing": self.sites_missing,
            "by_site": records(self.by_site), "deferred": records(self.deferred), "missed": records(self.missed), "status": self.status,
        }  # fmt: skip


def fundable_year(plan: FundablePlan, year: int) -> FundableYear | None:
    """`plan`'s figures for `year` (None when the plan does not cover it)."""
    if year not in plan.years:
        return None
    frames = plan.shown([year])
    money = records(frames["money"])
    m = money[0] if money else {"money": 0.0, "available": 0.0, "spent": 0.0, "carried_over": 0.0}
    bought = frames["bought"]
    line_vi = dict(plan.line_titles)
    by_site = (
        bought.groupby(["site_code", "site_name", "line_id"], as_index=False)[["units", "cost", "risk"]].sum()
        .assign(line_vi=lambda f: f["line_id"].map(lambda line: line_vi.get(line, line)), cost=lambda f: f["cost"].round(2))
        .sort_values(["site_code", "line_id"], kind="stable").reset_index(drop=True)[FUNDABLE_SITE_COLUMNS]
    )  # fmt: skip
    deferred = frames["deferred"]
    reasons = (
        deferred.groupby(["reason", "reason_vi"], as_index=False).size().rename(columns={"size": "units"})[FUNDABLE_REASON_COLUMNS]
        if len(deferred) else pd.DataFrame(columns=FUNDABLE_REASON_COLUMNS)
    )  # fmt: skip
    return FundableYear(
        year=year, money=float(m["money"]), available=float(m["available"]), spent=float(m["spent"]), carried_over=float(m["carried_over"]),
        units=int(bought["units"].sum()), risk=int(bought["risk"].sum()), by_site=by_site, deferred=reasons,
        missed=frames["missed"][FUNDABLE_MISSED_COLUMNS].reset_index(drop=True), status=plan.status,
    )  # fmt: skip


def with_fundable(report: QuarterlyReport, plan: FundablePlan) -> QuarterlyReport:
    """`report` with the fundable plan of its year; unchanged when the plan does not cover the year
    (the report's notes already say the procurement plan lacks it)."""
    year = fundable_year(plan, report.year)
    return report if year is None else replace(report, fundable=year)


@dataclass(frozen=True, eq=False)  # holds DataFrames: no value equality
class QuarterlyReport:
    """One quarter's report; frames are described in the module docstring.

    compliance_by_site: site_code, site_name, devices, compliant, compliance_pct, non_compliant,
        non_compliant_pct, unknown, unknown_pct, open_findings.
    coverage: site_code, site_name, zone, compliance.coverage.COUNTS, last_evaluated.
    findings: severity, open_at_end, opened, resolved, waived (one row per severity, in order).
    progress: device_class, approved, share_pct, target, counting, shortfall, progress_pct.
    procurement: device_class, to_buy, cost, unpriced_units; procurement_total: the plan's
        totals row of the year (units, cost, phasing, difference, status) or None.
    security_by_level: security_level, systems, assessed; security_systems: the input, sorted.
    """

    quarter: str
    start: date
    end: date
    due_date: date
    today: date
    compliance: Share  # compliant devices of all
    non_compliant: Share
    unknown: Share
    compliance_by_site: pd.DataFrame
    findings: pd.DataFrame
    progress: pd.DataFrame
    procurement: pd.DataFrame
    procurement_total: dict[str, Any] | None
    security: Share
    security_by_level: pd.DataFrame
    security_systems: pd.DataFrame
    currency: str = "million VND"
    notes: tuple[str, ...] = field(default=())
    coverage: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COVERAGE_COLUMNS))
    unknown_counted: bool = True  # the plan's policy: unknown devices count toward the schedule
    trend: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TREND_COLUMNS))  # per site and day
    silent: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SILENT_COLUMNS))  # today, longest silent first
    fundable: FundableYear | None = None  # the year's fundable plan (`with_fundable`); None: not attached

    @property
    def trend_province(self) -> pd.DataFrame:
        """The quarter's snapshots added up per day: day, TREND_COUNTS and the three shares (%)."""
        return _trend_province(self.trend)

    @property
    def trend_enough(self) -> bool:
        return self.trend["day"].nunique() >= MIN_TREND_DAYS if len(self.trend) else False

    @property
    def states_text(self) -> str:
        """ "15% tuân thủ · 60% không tuân thủ · 25% chưa rõ" (empty fleet: no data)."""
        return states_text(self.compliance, self.non_compliant, self.unknown)

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def overdue(self) -> bool:
        return self.today > self.due_date

    @property
    def days_to_due(self) -> int:
        """Days from `today` to the due date (negative when overdue)."""
        return (self.due_date - self.today).days

    @property
    def security_meets_target(self) -> bool:
        return self.security.pct is not None and self.security.pct > SECURITY_TARGET_PCT

    @property
    def title_vi(self) -> str:
        return f"BÁO CÁO TIẾN ĐỘ {quarter_label_vi(self.quarter).upper()}"

    def to_json(self) -> dict[str, Any]:
        return {
            "quarter": self.quarter, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "due_date": self.due_date.isoformat(), "today": self.today.isoformat(),
            "overdue": self.overdue, "days_to_due": self.days_to_due,
            "compliance": self.compliance.to_json(), "non_compliant": self.non_compliant.to_json(),
            "unknown": self.unknown.to_json(), "compliance_by_site": records(self.compliance_by_site),
            "coverage": records(self.coverage), "unknown_counts_toward_schedule": self.unknown_counted,
            "findings": records(self.findings), "progress": records(self.progress),
            "procurement": records(self.procurement), "procurement_total": self.procurement_total,
            "security": self.security.to_json() | {"target_pct": SECURITY_TARGET_PCT, "meets_target": self.security_meets_target},
            "security_by_level": records(self.security_by_level), "currency": self.currency,
            "trend": records(self.trend_province), "silent": records(self.silent),
            "fundable": None if self.fundable is None else self.fundable.to_json(),
            "notes": list(self.notes),
        }  # fmt: skip


def build_report(
    quarter: str,
    *,
    compliance_by_site: pd.DataFrame,
    findings: pd.DataFrame,
    plan: Plan,
    security_levels: pd.DataFrame,
    today: date | None = None,
    coverage: pd.DataFrame | None = None,
    trend: pd.DataFrame | None = None,
    silent: pd.DataFrame | None = None,
) -> QuarterlyReport:
    """Assemble the quarter's figures (see the module docstring for every definition).

    compliance_by_site: site_code, site_name, devices, compliant and, optionally, non_compliant and
    unknown (missing: a device not said compliant or non-compliant is unknown).
    coverage: per site and zone, COVERAGE_COLUMNS (compliance.service.coverage_frame); None: none.
    trend: daily snapshots per site, TREND_COLUMNS (compliance.service.trend_frame); only the
    quarter's days are kept; None: none.
    silent: today's silent devices, SILENT_COLUMNS (compliance.service.silent_frame); None: none."""
    start, end, due = quarter_bounds(quarter)
    year = start.year
    notes: list[str] = []
    _require(compliance_by_site, ("site_code", "site_name", "devices", "compliant"), "compliance_by_site")
    _require(findings, ("rule_id", "severity", "status", "site_code", "first_seen", "resolved_at"), "findings")
    _require(security_levels, ("name", "security_level", "dossier_status", "assessed_on"), "security_levels")

    windows = _finding_windows(findings, start, end)
    by_site = _compliance_by_site(compliance_by_site, windows)
    whole = int(by_site["devices"].sum())
    overall = Share(int(by_site["compliant"].sum()), whole)
    non_compliant = Share(int(by_site["non_compliant"].sum()), whole)
    unknown = Share(int(by_site["unknown"].sum()), whole)
    coverage = _coverage(coverage)

    if year not in plan.years:
        notes.append(f"Kế hoạch không có năm {year} (có: {', '.join(map(str, plan.years))}): không có tiến độ và mua sắm.")
    progress = _progress(plan, year)
    procurement = plan.by_class[plan.by_class["year"] == year][["device_class", "to_buy", "cost", "unpriced_units"]]
    procurement = procurement.reset_index(drop=True)
    total_rows = records(plan.totals[plan.totals["year"] == year])
    procurement_total = total_rows[0] if total_rows else None

    security, by_level, systems = _security(security_levels, end)
    quarter_name = f"{year}Q{(start.month + 2) // 3}"
    return QuarterlyReport(
        quarter=quarter_name, start=start, end=end, due_date=due, today=today or date.today(),
        compliance=overall, non_compliant=non_compliant, unknown=unknown, compliance_by_site=by_site,
        findings=_findings_by_severity(windows), coverage=coverage, unknown_counted=plan.unknown_counted,
        progress=progress, procurement=procurement, procurement_total=procurement_total,
        security=security, security_by_level=by_level, security_systems=systems,
        currency=plan.budget.currency, notes=tuple(notes), trend=_trend(trend, start, end), silent=_silent(silent),
    )  # fmt: skip


# ------------------------------------------------------------------------------ figures


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


def _local_days(values: pd.Series) -> pd.Series:
    """Dates/timestamps/ISO strings as naive day timestamps (Vietnam time for aware ones)."""
    if len(values) == 0:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    parsed = pd.to_datetime(values, errors="raise", utc=_has_tz(values))
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    return parsed.dt.normalize()


def _has_tz(values: pd.Series) -> bool:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return True
    return any(getattr(v, "tzinfo", None) is not None for v in values.dropna())


def _finding_windows(findings: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Per finding: severity, site_code and the four booleans of the module docstring."""
    first = _local_days(findings["first_seen"])
    closed_on = _local_days(findings["resolved_at"])
    status = findings["status"].astype(str).str.lower()
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    closing = status.isin(["resolved", "waived"])
    closed_by_end = closing & (closed_on.isna() | (closed_on <= hi))
    seen_by_end = first.notna() & (first <= hi)
    return pd.DataFrame({
        "severity": findings["severity"].astype(str).str.lower(),
        "site_code": findings["site_code"],
        "open_at_end": seen_by_end & ~closed_by_end,
        "opened": first.notna() & (first >= lo) & (first <= hi),
        "resolved": status.eq("resolved") & closed_on.notna() & (closed_on >= lo) & (closed_on <= hi),
        "waived": status.eq("waived") & seen_by_end,
    }, index=findings.index)  # fmt: skip


def _findings_by_severity(windows: pd.DataFrame) -> pd.DataFrame:
    columns = ["open_at_end", "opened", "resolved", "waived"]
    extra = sorted(set(windows["severity"]) - set(SEVERITY_ORDER))
    out = []
    for severity in (*SEVERITY_ORDER, *extra):
        part = windows[windows["severity"] == severity]
        out.append({"severity": severity} | {c: int(part[c].sum()) for c in columns})
    return pd.DataFrame(out, columns=["severity", *columns])


def _pct(part: pd.Series, whole: pd.Series) -> pd.Series:
    return pd.Series([None if w == 0 else round(100 * p / w, 2) for p, w in zip(part, whole, strict=True)], index=part.index, dtype="float64")


def _compliance_by_site(frame: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    out = frame[["site_code", "site_name", "devices", "compliant"]].copy()
    for key in ("devices", "compliant"):
        out[key] = pd.to_numeric(out[key]).fillna(0).astype("int64")
    out["non_compliant"] = pd.to_numeric(frame["non_compliant"]).fillna(0).astype("int64") if "non_compliant" in frame.columns else 0
    bad = out[(out["compliant"] > out["devices"]) | (out["compliant"] < 0)]
    if len(bad):
        raise ValueError(f"compliance_by_site: compliant outside 0..devices at {', '.join(map(str, bad['site_code']))}")
    # Whatever is neither compliant nor non-compliant is unknown: never counted as compliant.
    rest = out["devices"] - out["compliant"] - out["non_compliant"]
    out["unknown"] = pd.to_numeric(frame["unknown"]).fillna(0).astype("int64") if "unknown" in frame.columns else rest
    bad = out[(out["non_compliant"] < 0) | (out["unknown"] < 0) | (out["unknown"] != rest)]
    if len(bad):
        raise ValueError(f"compliance_by_site: compliant + non_compliant + unknown is not devices at {', '.join(map(str, bad['site_code']))}")
    for key in ("compliant", "non_compliant", "unknown"):
        out[f"{'compliance' if key == 'compliant' else key}_pct"] = _pct(out[key], out["devices"])
    out = out[["site_code", "site_name", "devices", "compliant", "compliance_pct", "non_compliant", "non_compliant_pct", "unknown", "unknown_pct"]]
    open_by_site = windows[windows["open_at_end"]].groupby("site_code").size()
    out["open_findings"] = out["site_code"].map(open_by_site).fillna(0).astype("int64")
    return out.sort_values("site_code").reset_index(drop=True)


def _coverage(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    _require(frame, COVERAGE_COLUMNS, "coverage")
    out = frame[COVERAGE_COLUMNS].copy()
    for key in COVERAGE_COUNTS:
        out[key] = pd.to_numeric(out[key]).fillna(0).astype("int64")
    out["_zone"] = out["zone"].fillna("")
    return out.sort_values(["site_code", "_zone"]).drop(columns="_zone").reset_index(drop=True)


def _silent(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(columns=SILENT_COLUMNS)
    _require(frame, SILENT_COLUMNS, "silent")
    return frame[SILENT_COLUMNS].reset_index(drop=True)


def _trend(frame: pd.DataFrame | None, start: date, end: date) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(columns=TREND_COLUMNS)
    _require(frame, TREND_COLUMNS, "trend")
    out = frame[TREND_COLUMNS].copy()
    out["day"] = [pd.Timestamp(d).date() for d in out["day"]]
    out = out[[start <= d <= end for d in out["day"]]] if len(out) else out
    for key in TREND_COUNTS:
        out[key] = pd.to_numeric(out[key]).fillna(0).astype("int64")
    return out.sort_values(["day", "site_code"]).reset_index(drop=True)


def _trend_province(trend: pd.DataFrame) -> pd.DataFrame:
    if trend.empty:
        return pd.DataFrame(columns=["day", *TREND_COUNTS, "compliance_pct", "non_compliant_pct", "unknown_pct"])
    out = trend.groupby("day", as_index=False)[TREND_COUNTS].sum()
    for key in ("compliant", "non_compliant", "unknown"):
        out[f"{'compliance' if key == 'compliant' else key}_pct"] = _pct(out[key], out["devices"])
    return out.reset_index(drop=True)


def _progress(plan: Plan, year: int) -> pd.DataFrame:
    columns = ["device_class", "approved", "share_pct", "target", "counting", "unknown", "shortfall", "progress_pct"]
    rows = plan.year_rows(year)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    grouped = (
        rows.groupby("device_class", sort=False)
        .agg(
            approved=("approved", "sum"), share_pct=("share_pct", "max"), target=("target", "sum"), counting=("counting", "sum"), unknown=("unknown", "sum"), shortfall=("shortfall", "sum")
        )  # fmt: skip
        .reset_index()
    )
    grouped["progress_pct"] = [None if t == 0 else round(100 * (t - s) / t, 2) for t, s in zip(grouped["target"], grouped["shortfall"], strict=True)]
    grouped["progress_pct"] = grouped["progress_pct"].astype("float64")
    grouped = grouped.iloc[sorted(range(len(grouped)), key=lambda i: class_order(grouped["device_class"].iloc[i]))]
    return grouped[columns].reset_index(drop=True)


def _security(levels: pd.DataFrame, end: date) -> tuple[Share, pd.DataFrame, pd.DataFrame]:
    status = levels["dossier_status"].astype(str).str.lower()
    assessed_on = _local_days(levels["assessed_on"])
    assessed = status.eq("approved") & (assessed_on.isna() | (assessed_on <= pd.Timestamp(end)))
    work = levels.assign(assessed=assessed.to_numpy(), security_level=pd.to_numeric(levels["security_level"]))
    by_level = work.groupby("security_level", dropna=False).agg(systems=("name", "size"), assessed=("assessed", "sum")).reset_index().astype({"systems": "int64", "assessed": "int64"})
    systems = work.sort_values(["security_level", "name"]).reset_index(drop=True)
    return Share(int(assessed.sum()), len(levels)), by_level, systems


# ------------------------------------------------------------------------------ printed sections


def states_text(compliant: Share, non_compliant: Share, unknown: Share) -> str:
    """The three shares together, in that order: "15% tuân thủ · 60% không tuân thủ · 25% chưa rõ"."""
    if compliant.whole == 0:
        return "không có số liệu"
    return " · ".join(f"{vi_number(s.pct, 2)}% {word}" for s, word in zip((compliant, non_compliant, unknown), STATE_WORDS_VI, strict=True))


def _coverage_text(report: QuarterlyReport) -> str:
    cov = report.coverage
    whole = int(cov["devices"].sum()) if len(cov) else 0
    if whole == 0:
        return "không có số liệu"
    answering, evaluated = int(cov["answering"].sum()), int(cov["evaluated"].sum())
    return f"{vi_number(100 * answering / whole, 2)}% đang phản hồi · {vi_number(100 * evaluated / whole, 2)}% đã được đánh giá"


def _coverage_rows(report: QuarterlyReport) -> list[dict[str, Any]]:
    rows = []
    for r in records(report.coverage):
        last = r["last_evaluated"]
        rows.append(r | {
            "zone_vi": "(chưa xếp vùng)" if r["zone"] is None else class_label(r["zone"]),
            "last_evaluated_vi": "chưa đánh giá" if last is None else vi_date(pd.Timestamp(last).tz_convert(LOCAL_TZ).date() if pd.Timestamp(last).tzinfo else pd.Timestamp(last).date()),
        })  # fmt: skip
    return rows


def _silent_rows(report: QuarterlyReport) -> list[dict[str, Any]]:
    rows = []
    for r in records(report.silent):
        last = r["last_seen"]
        rows.append(r | {
            "class_vi": class_label(r["device_class"]) if r["device_class"] else "",
            "zone_vi": "(chưa xếp vùng)" if r["zone"] is None else class_label(r["zone"]),
            "last_seen_vi": "chưa bao giờ" if last is None else vi_date(pd.Timestamp(last).tz_convert(LOCAL_TZ).date() if pd.Timestamp(last).tzinfo else pd.Timestamp(last).date()),
            "silent_days_vi": "—" if r["silent_days"] is None else vi_number(r["silent_days"]),
        })  # fmt: skip
    return rows


def _pct_text(share: Share) -> str:
    return "không có số liệu" if share.pct is None else f"{vi_number(share.part)}/{vi_number(share.whole)} = {vi_number(share.pct, 2)}%"


@dataclass(frozen=True)
class Section:
    """One printed table: a sheet in the workbook, a titled table in the PDF."""

    sheet: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    totals_label: str | None = None
    totals: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    in_pdf: bool = True  # False: the workbook only (a table too long to print)


def _summary_rows(report: QuarterlyReport) -> list[dict[str, Any]]:
    f = records(report.findings)
    open_total = sum(r["open_at_end"] for r in f)
    critical = next((r["open_at_end"] for r in f if r["severity"] == "critical"), 0)
    progress = records(report.progress)
    target = sum(r["target"] for r in progress)
    short = sum(r["shortfall"] for r in progress)
    p = report.procurement_total
    due = f"Trước ngày 23/{report.due_date.month:02d}/{report.due_date.year} (hạn chót {vi_date(report.due_date)})"
    due_state = (
        f"Quá hạn {-report.days_to_due} ngày" if report.overdue
        else "Đến hạn hôm nay" if report.days_to_due == 0 else f"Còn {report.days_to_due} ngày"
    )  # fmt: skip
    rows = [
        {"item": "Kỳ báo cáo", "value": f"Từ {vi_date(report.start)} đến {vi_date(report.end)}", "note": ""},
        {"item": "Hạn gửi báo cáo", "value": due, "note": f"{due_state} (tính đến {vi_date(report.today)})"},
        {"item": "Tình trạng tuân thủ của thiết bị", "value": report.states_text,
         "note": f"Trên {vi_number(report.compliance.whole)} thiết bị; thiết bị chưa được đánh giá tính là chưa rõ, không bao giờ là tuân thủ"},
        {"item": "Độ bao phủ dữ liệu", "value": _coverage_text(report), "note": "Thiết bị đang phản hồi và đã được đánh giá / tổng số thiết bị (chi tiết: mục III)"},
        {"item": "Phát hiện còn mở cuối quý", "value": vi_number(open_total), "note": f"Trong đó nghiêm trọng: {vi_number(critical)}"},
        {"item": f"Tiến độ trang bị năm {report.year}",
         "value": "không có số liệu" if target == 0 else f"{vi_number(100 * (target - short) / target, 2)}%",
         "note": f"Chỉ tiêu {vi_number(target)}; {SHORTFALL_LABEL.lower()}: {vi_number(short)} thiết bị"},
    ]  # fmt: skip
    if p is not None:
        phasing = "không có phân kỳ" if p["phasing"] is None else f"phân kỳ vốn {vi_number(p['phasing'], 2)} triệu đồng"
        rows.append({
            "item": f"{TO_BUY_LABEL} {report.year}",
            "value": f"{vi_number(p['units'])} thiết bị, {vi_number(p['cost'], 2)} triệu đồng",
            "note": f"{phasing.capitalize()}; {STATUS_VI[p['status']].lower()}",
        })  # fmt: skip
    if (f := report.fundable) is not None:
        rows.append({
            "item": f"Mua sắm theo khả năng vốn năm {f.year}",
            "value": f"{vi_number(f.units)} thiết bị, {vi_number(f.spent, 2)} triệu đồng",
            "note": f"Vốn có thể dùng {vi_number(f.available, 2)} triệu đồng; hoãn {vi_number(f.deferred_units)} thiết bị; "
                    f"{vi_number(f.sites_missing)} đơn vị chưa đạt chỉ tiêu (mục VI.1, VI.2)",
        })  # fmt: skip
    rows.append({
        "item": "Hệ thống thông tin được xác định cấp độ (hồ sơ được phê duyệt)",
        "value": _pct_text(report.security),
        "note": f"Mục tiêu trên {vi_number(SECURITY_TARGET_PCT)}%: {'Đạt' if report.security_meets_target else 'Chưa đạt'}",
    })  # fmt: skip
    return rows


def report_sections(report: QuarterlyReport) -> list[Section]:
    """The report's tables in print order, shared by the XLSX and PDF writers."""
    y = report.year
    findings_rows = [r | {"severity_vi": SEVERITY_VI.get(r["severity"], r["severity"])} for r in records(report.findings)]
    progress_rows = [r | {"class_vi": class_label(r["device_class"])} for r in records(report.progress)]
    procurement_rows = [r | {"class_vi": class_label(r["device_class"])} for r in records(report.procurement)]
    p = report.procurement_total
    procurement_notes: tuple[str, ...] = ()
    if p is not None and p["phasing"] is not None:
        procurement_notes = (
            f"Phân kỳ vốn năm {y}: {vi_number(p['phasing'], 2)} triệu đồng; chênh lệch (thành tiền - phân kỳ): "
            f"{vi_number(p['difference'], 2)} triệu đồng ({STATUS_VI[p['status']].lower()}). Phân kỳ gồm cả các hạng mục "
            "không phải thiết bị.",
        )  # fmt: skip
    if p is not None and p["unpriced_units"]:
        procurement_notes += (f"{vi_number(p['unpriced_units'])} thiết bị chưa có đơn giá, chưa tính vào thành tiền.",)
    systems = [
        {"name": r["name"], "security_level": r["security_level"],
         "dossier_vi": DOSSIER_VI.get(str(r["dossier_status"]).lower(), r["dossier_status"]),
         "assessed_on": "" if r["assessed_on"] is None else vi_date(pd.Timestamp(r["assessed_on"]).date()),
         "assessed_vi": "Có" if r["assessed"] else "Chưa"}
        for r in records(report.security_systems)
    ]  # fmt: skip
    coverage_notes = (
        "Độ bao phủ tính đến ngày lập báo cáo: một tỷ lệ tuân thủ chỉ đáng tin khi dữ liệu đủ. Thăm dò đúng chu kỳ và đang "
        "phản hồi: trong chu kỳ thăm dò của đơn vị; đã thu cấu hình: trong số thiết bị mạng; đã thu thông tin máy: trong số "
        "thiết bị đầu cuối; đã đánh giá: thiết bị có trạng thái tuân thủ.",
    )
    if report.coverage.empty:
        coverage_notes += ("Không có số liệu độ bao phủ.",)
    trend_notes = _trend_notes(report)
    province_trend = [r | {"day_vi": vi_date(date.fromisoformat(r["day"]))} for r in records(report.trend_province)]
    site_trend = [r | {"day_vi": vi_date(date.fromisoformat(r["day"]))} for r in records(report.trend)] if report.trend_enough else []
    level_rows = [r | {"level_vi": "Chưa xác định" if r["security_level"] is None else f"Cấp độ {int(r['security_level'])}"} for r in records(report.security_by_level)]
    return [
        Section(
            "Tổng hợp",
            "I. Tổng hợp",
            [
                Column("Nội dung", "item", 42),
                Column("Kết quả", "value", 40),
                Column("Ghi chú", "note", 44),
            ],
            _summary_rows(report),
            notes=report.notes,
        ),  # fmt: skip
        Section(
            "Tuân thủ theo đơn vị",
            "II. Tình trạng tuân thủ theo đơn vị (tuân thủ · không tuân thủ · chưa rõ)",
            [
                column("site_code"),
                column("site_name", 28),
                Column("Số thiết bị", "devices", 10, INT_FORMAT, total=True),
                Column("Tuân thủ", "compliant", 10, INT_FORMAT, total=True),
                Column("Tuân thủ (%)", "compliance_pct", 10, PCT_FORMAT),
                Column("Không tuân thủ", "non_compliant", 10, INT_FORMAT, total=True),
                Column("Không tuân thủ (%)", "non_compliant_pct", 10, PCT_FORMAT),
                Column("Chưa rõ", "unknown", 10, INT_FORMAT, total=True),
                Column("Chưa rõ (%)", "unknown_pct", 10, PCT_FORMAT),
                Column("Phát hiện còn mở", "open_findings", 10, INT_FORMAT, total=True),
            ],
            records(report.compliance_by_site),
            "Tổng cộng",
            {"compliance_pct": report.compliance.pct, "non_compliant_pct": report.non_compliant.pct, "unknown_pct": report.unknown.pct},
            notes=(
                f"Toàn tỉnh: {report.states_text}. Tuân thủ: mọi quy tắc áp dụng đã được đánh giá trên dữ liệu còn mới và đạt; "
                "không tuân thủ: có quy tắc không đạt; chưa rõ: còn lại (chưa thu thập, dữ liệu cũ, chưa đánh giá). "
                "Thiết bị chưa rõ không bao giờ được tính là tuân thủ.",
            ),
        ),  # fmt: skip
        Section(
            "Độ bao phủ dữ liệu",
            "III. Độ bao phủ dữ liệu theo đơn vị và vùng mạng",
            [
                column("site_code"),
                Column("Vùng mạng", "zone_vi", 18),
                Column("Số thiết bị", "devices", 9, INT_FORMAT, total=True),
                Column("Thăm dò đúng chu kỳ", "polled_on_time", 9, INT_FORMAT, total=True),
                Column("Đang phản hồi", "answering", 9, INT_FORMAT, total=True),
                Column("Thiết bị mạng", "network", 9, INT_FORMAT, total=True),
                Column("Đã thu cấu hình", "config_collected", 9, INT_FORMAT, total=True),
                Column("Thiết bị đầu cuối", "endpoints", 9, INT_FORMAT, total=True),
                Column("Đã thu thông tin máy", "facts_collected", 9, INT_FORMAT, total=True),
                Column("Tác nhân báo cáo", "agent_reported", 9, INT_FORMAT, total=True),
                Column("Đã đánh giá", "evaluated", 9, INT_FORMAT, total=True),
                Column("Lần đánh giá gần nhất", "last_evaluated_vi", 12, align="center"),
            ],
            _coverage_rows(report),
            "Tổng cộng",
            notes=coverage_notes,
        ),  # fmt: skip
        Section(
            "Thiết bị không phản hồi",
            "Thiết bị không phản hồi (đã thăm dò, quá chu kỳ thăm dò của đơn vị chưa trả lời)",
            [
                column("site_code"),
                Column("Tên thiết bị", "hostname", 22),
                Column("Địa chỉ quản lý", "mgmt_ip", 16),
                Column("Loại thiết bị", "class_vi", 18),
                Column("Vùng mạng", "zone_vi", 18),
                Column("Phản hồi lần cuối", "last_seen_vi", 14, align="center"),
                Column("Số ngày không phản hồi", "silent_days_vi", 12, align="right"),
            ],
            _silent_rows(report),
            notes=(f"{vi_number(len(report.silent))} thiết bị không phản hồi tại ngày lập báo cáo." if len(report.silent) else "Không có thiết bị nào không phản hồi.",),
            in_pdf=len(report.silent) <= SILENT_PDF_ROWS,
        ),  # fmt: skip
        Section(
            "Phát hiện",
            "IV. Phát hiện (vi phạm) theo mức độ",
            [
                Column("Mức độ", "severity_vi", 18),
                Column("Còn mở cuối quý", "open_at_end", 14, INT_FORMAT, total=True),
                Column("Phát sinh trong quý", "opened", 14, INT_FORMAT, total=True),
                Column("Đã khắc phục trong quý", "resolved", 14, INT_FORMAT, total=True),
                Column("Được miễn trừ", "waived", 14, INT_FORMAT, total=True),
            ],
            findings_rows,
            "Tổng cộng",
        ),  # fmt: skip
        Section(
            "Tiến độ trang bị",
            f"V. Tiến độ trang bị thiết bị năm {y} theo lộ trình",
            [
                column("class_vi"),
                column("approved"),
                column("share_pct"),
                column("target"),
                column("counting"),
                unknown_column(report.unknown_counted),
                column("shortfall"),
                Column("Tỷ lệ hoàn thành (%)", "progress_pct", 12, PCT_FORMAT),
            ],
            progress_rows,
            "Tổng cộng",
            _progress_total(report),
            notes=(unknown_note(report.unknown_counted),),
        ),  # fmt: skip
        Section(
            "Mua sắm",
            f"VI. {TO_BUY_LABEL} {y} (theo kế hoạch mua sắm)",
            [
                column("class_vi"),
                column("to_buy"),
                column("cost"),
            ],
            procurement_rows,
            "Tổng cộng",
            notes=procurement_notes,
        ),  # fmt: skip
        *_fundable_sections(report),
        Section(
            "Cấp độ ATTT",
            "VII. Bảo đảm an toàn hệ thống thông tin theo cấp độ",
            [
                Column("Cấp độ", "level_vi", 18),
                Column("Số hệ thống", "systems", 12, INT_FORMAT, total=True),
                Column("Hồ sơ được phê duyệt", "assessed", 14, INT_FORMAT, total=True),
            ],
            level_rows,
            "Tổng cộng",
            notes=(
                f"Tỷ lệ hệ thống có hồ sơ cấp độ được phê duyệt: {_pct_text(report.security)}; mục tiêu trên "
                f"{vi_number(SECURITY_TARGET_PCT)}% ({'Đạt' if report.security_meets_target else 'Chưa đạt'}).",
            ),
        ),  # fmt: skip
        Section(
            "Danh sách hệ thống",
            "VIII. Danh sách hệ thống thông tin",
            [
                Column("Tên hệ thống", "name", 40),
                Column("Cấp độ", "security_level", 10, INT_FORMAT, align="center"),
                Column("Trạng thái hồ sơ", "dossier_vi", 18),
                Column("Ngày phê duyệt", "assessed_on", 14),
                Column("Tính vào tỷ lệ", "assessed_vi", 12),
            ],
            systems,
        ),  # fmt: skip
        Section(
            "Xu hướng",
            "IX. Xu hướng trong quý: toàn tỉnh theo ngày",
            [TREND_DAY_COLUMN, *_trend_columns("devices", "compliance_pct", "non_compliant_pct", "unknown_pct", "critical", "high", "answering")],
            province_trend if report.trend_enough else [],
            notes=trend_notes,
        ),  # fmt: skip
        Section(
            "Xu hướng theo đơn vị",
            "X. Xu hướng trong quý theo đơn vị (ảnh chụp hằng ngày)",
            [TREND_DAY_COLUMN, column("site_code"), *_trend_columns(*TREND_COUNTS)],
            site_trend,
            notes=trend_notes,
            in_pdf=False,
        ),  # fmt: skip
    ]


FUNDABLE_PDF_ROWS = 200  # a longer list of sites missing their target goes to the workbook only


def _fundable_sections(report: QuarterlyReport) -> list[Section]:
    """VI.1 what the year's money buys by site and budget line, with the money and what slips;
    VI.2 the sites that then miss the year's target (none when no fundable plan is attached)."""
    f = report.fundable
    if f is None:
        return []
    slips = "; ".join(f"{r['reason_vi'].lower()}: {vi_number(r['units'])}" for r in records(f.deferred))
    notes = (
        f"Vốn phân kỳ năm {f.year}: {vi_number(f.money, 2)} triệu đồng; vốn có thể dùng (kể cả phần chuyển sang): "
        f"{vi_number(f.available, 2)}; đã dùng: {vi_number(f.spent, 2)}; chuyển sang năm sau: {vi_number(f.carried_over, 2)}.",
        f"Hoãn sang năm sau hoặc chưa mua được trong giai đoạn: {vi_number(f.deferred_units)} thiết bị" + (f" ({slips})." if slips else "."),
        "Chọn thiết bị giảm rủi ro nhiều nhất trong vốn phân kỳ, kinh phí từng hạng mục và số lượng được duyệt; chi tiết: kế hoạch "
        "mua sắm theo khả năng vốn (tệp Excel của kế hoạch mua sắm).",
    )  # fmt: skip
    missed_rows = [r | {"class_vi": class_label(r["device_class"])} for r in records(f.missed)]
    return [
        Section(
            "Theo khả năng vốn",
            f"VI.1. Mua sắm theo khả năng vốn năm {f.year}: theo đơn vị và hạng mục kinh phí",
            [
                column("site_code"),
                column("site_name", 26),
                Column("Hạng mục kinh phí", "line_vi", 30),
                Column("Số thiết bị", "units", 10, INT_FORMAT, total=True),
                Column("Thành tiền (triệu đồng)", "cost", 16, MONEY_FORMAT, total=True),
                Column("Rủi ro được giảm (điểm)", "risk", 12, INT_FORMAT, total=True),
            ],
            records(f.by_site),
            "Tổng cộng",
            notes=notes,
        ),
        Section(
            "Chưa đạt chỉ tiêu",
            f"VI.2. Đơn vị chưa đạt chỉ tiêu năm {f.year} sau khi mua theo khả năng vốn",
            [
                column("site_code"),
                column("site_name", 26),
                column("class_vi", 20),
                column("approved"),
                column("target"),
                column("in_place"),
                column("missing"),
            ],
            missed_rows,
            "Tổng cộng",
            notes=(
                f"{vi_number(f.sites_missing)} đơn vị chưa đạt chỉ tiêu năm {f.year}, thiếu {vi_number(int(f.missed['missing'].sum()) if len(f.missed) else 0)} thiết bị."
                if len(f.missed)
                else f"Mọi đơn vị đạt chỉ tiêu năm {f.year}.",
            ),  # fmt: skip
            in_pdf=len(missed_rows) <= FUNDABLE_PDF_ROWS,
        ),
    ]


TREND_DAY_COLUMN = Column("Ngày", "day_vi", 12, align="center")
TREND_HEADERS = {
    "devices": "Số thiết bị", "compliant": "Tuân thủ", "non_compliant": "Không tuân thủ", "unknown": "Chưa rõ",
    "compliance_pct": "Tuân thủ (%)", "non_compliant_pct": "Không tuân thủ (%)", "unknown_pct": "Chưa rõ (%)",
    **{severity: SEVERITY_VI[severity] for severity in SEVERITY_ORDER},
    "polled_on_time": "Thăm dò đúng chu kỳ", "answering": "Đang phản hồi", "config_collected": "Đã thu cấu hình",
}  # fmt: skip


def _trend_columns(*keys: str) -> list[Column]:
    return [Column(TREND_HEADERS[key], key, 9, PCT_FORMAT if key.endswith("_pct") else INT_FORMAT) for key in keys]


def _trend_notes(report: QuarterlyReport) -> tuple[str, ...]:
    days = report.trend["day"].nunique() if len(report.trend) else 0
    if not report.trend_enough:
        return (f"{NOT_ENOUGH_HISTORY_VI}: cần ảnh chụp hằng ngày của ít nhất {MIN_TREND_DAYS} ngày trong quý (đã có {days}).",)
    return (
        f"{days} ngày có ảnh chụp trong quý (ngày không có ảnh chụp bị bỏ qua, không tính là 0). Tỷ lệ trên số thiết bị của "
        "ngày đó; phát hiện: số đang mở vào ngày chụp; chi tiết theo đơn vị: sheet “Xu hướng theo đơn vị” của tệp Excel.",
    )


def _progress_total(report: QuarterlyReport) -> dict[str, Any]:
    target = int(report.progress["target"].sum()) if len(report.progress) else 0
    short = int(report.progress["shortfall"].sum()) if len(report.progress) else 0
    return {"progress_pct": None if target == 0 else round(100 * (target - short) / target, 2)}


# ------------------------------------------------------------------------------ XLSX


def write_report_xlsx(report: QuarterlyReport, path: Path | str) -> Path:
    """One printable sheet per section ("Tổng hợp", "Tuân thủ theo đơn vị", ...)."""
    from openpyxl import Workbook

    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    for section in report_sections(report):
        ws = wb.create_sheet(section.sheet)
        writer = SheetWriter(ws, len(section.columns))
        writer.title(report.title_vi)
        writer.title(f"Từ ngày {vi_date(report.start)} đến ngày {vi_date(report.end)}", size=12, bold=False, italic=True)
        writer.blank()
        writer.note(section.title, bold=True)
        writer.table(section.columns, section.rows, totals_label=section.totals_label, totals=section.totals)
        for note in section.notes:
            writer.note(note)
        writer.finish(landscape=len(section.columns) > 4)
    wb.save(path)
    return path
