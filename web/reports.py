"""Reports (security officers and planners): the quarterly progress report on the page, and as
XLSX or PDF (compliance.report; the same figures in every form)."""

from __future__ import annotations

import io
import tempfile
from datetime import date
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from compliance.policy import shipped_policy
from compliance.report import SECURITY_TARGET_PCT, quarter_bounds, write_report_xlsx
from compliance.report_pdf import ReportPdfError, write_report_pdf
from compliance.service import report_from_inventory
from compliance.workbook import records
from web.access import PLANNER, SECURITY_OFFICER, role_required
from web.charts import quarter_panel
from web.database import cached, cached_fleet, get_session
from web.i18n import current_language
from web.procurement import number, plan_years

bp = Blueprint("reports", __name__, url_prefix="/reports")

SILENT_SHOWN = 50  # silent devices listed on the page; the workbook lists them all
TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def current_quarter(today: date | None = None) -> str:
    today = today or date.today()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def quarter_choices(today: date | None = None) -> list[str]:
    today = today or date.today()
    years = sorted({*plan_years(), today.year})
    return [f"{y}Q{n}" for y in range(years[0], years[-1] + 1) for n in range(1, 5)]


def _quarter() -> str | None:
    """The quarter asked for, normalised ("2026Q3"); None when it is not a quarter."""
    asked = request.args.get("quarter")
    if not asked:
        return current_quarter()
    try:
        start, _end, _due = quarter_bounds(asked)
    except ValueError:
        return None
    return f"{start.year}Q{(start.month + 2) // 3}"


def _report(quarter: str):
    """The quarter's report on today's inventory, kept until the data changes."""
    db, policy, today = get_session(), shipped_policy(), date.today()
    return cached(("report", quarter, today), lambda: report_from_inventory(db, policy, quarter, today, fleet=cached_fleet(db, policy, today)), store="kiemke.reports")


@bp.route("/")
@role_required(SECURITY_OFFICER, PLANNER)
def index():
    quarter = _quarter()
    if quarter is None:
        flash(_("Quý không hợp lệ: %(q)s (ví dụ 2026Q3).", q=request.args.get("quarter", "")), "error")
        quarter = current_quarter()
    report = _report(quarter)
    choices = quarter_choices()
    if quarter not in choices:
        choices = sorted({*choices, quarter})
    return render_template(
        "reports/index.html",
        report=report,
        quarter=quarter,
        choices=choices,
        compliance_by_site=records(report.compliance_by_site),
        coverage=records(report.coverage),
        silent=records(report.silent),
        silent_shown=SILENT_SHOWN,
        findings=records(report.findings),
        progress=records(report.progress),
        procurement=records(report.procurement),
        total=report.procurement_total,
        security_by_level=records(report.security_by_level),
        security_target=SECURITY_TARGET_PCT,
        num=number,
        lang=current_language(),
        trend=quarter_panel(report),
    )


@bp.route("/bao-cao.<fmt>")
@role_required(SECURITY_OFFICER, PLANNER)
def download(fmt: str):
    if fmt not in TYPES:
        abort(404)
    quarter = _quarter()
    if quarter is None:
        abort(404)
    name = f"bao-cao-{quarter}.{fmt}"

    def write() -> bytes:
        with tempfile.TemporaryDirectory(prefix="kiemke-report-") as tmp:
            return (write_report_pdf if fmt == "pdf" else write_report_xlsx)(_report(quarter), Path(tmp) / name).read_bytes()

    try:
        data = cached(("report.file", quarter, fmt, date.today()), write, store="kiemke.reports")
    except ReportPdfError as exc:
        flash(_("Không tạo được tệp PDF: %(reason)s", reason=str(exc)), "error")
        return redirect(url_for("reports.index", quarter=quarter))
    return send_file(io.BytesIO(data), mimetype=TYPES[fmt], as_attachment=True, download_name=name)
