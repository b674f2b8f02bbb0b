"""Reports (security officers and planners): the quarterly progress report on the page, and as
XLSX or PDF (compliance.report; the same figures in every form)."""

from __future__ import annotations

import io
import tempfile
from datetime import date
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional

from compliance.policy import shipped_policy
from compliance.report import SECURITY_TARGET_PCT, QuarterlyReport, quarter_bounds, with_fundable, write_report_xlsx
from compliance.report_pdf import ReportPdfError, write_report_pdf
from compliance.service import report_from_inventory
from compliance.workbook import records
from inventory import audit
from inventory.atomic_file import FileWriteError
from inventory.letterhead import MAX_LENGTH, Letterhead, load_letterhead, save_letterhead
from web.access import ADMIN, PLANNER, SECURITY_OFFICER, role_required
from web.charts import quarter_panel
from web.database import cached, cached_fleet, commit, get_session
from web.forms import flash_field_errors
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


def _report(quarter: str) -> QuarterlyReport:
    """The quarter's report on today's inventory with the fundable plan of its year (the policy's
    money, as the fundable plan page shows it), kept until the data changes."""
    db, policy, today = get_session(), shipped_policy(), date.today()

    def build() -> QuarterlyReport:
        from web.fundable import fitted  # the fundable plan page keeps the policy's plan cached

        return with_fundable(report_from_inventory(db, policy, quarter, today, fleet=cached_fleet(db, policy, today)), fitted(None))

    return cached(("report", quarter, today), build, store="kiemke.reports")


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

    letterhead = _letterhead()

    def write() -> bytes:
        with tempfile.TemporaryDirectory(prefix="kiemke-report-") as tmp:
            if fmt == "pdf":
                return write_report_pdf(_report(quarter), Path(tmp) / name, letterhead=letterhead).read_bytes()
            return write_report_xlsx(_report(quarter), Path(tmp) / name).read_bytes()

    try:
        # The letterhead is part of the key: an edited one is printed at once.
        data = cached(("report.file", quarter, fmt, date.today(), letterhead.key()), write, store="kiemke.reports")
    except ReportPdfError as exc:
        flash(_("Không tạo được tệp PDF: %(reason)s", reason=str(exc)), "error")
        return redirect(url_for("reports.index", quarter=quarter))
    return send_file(io.BytesIO(data), mimetype=TYPES[fmt], as_attachment=True, download_name=name)


def _home() -> Path:
    return current_app.extensions["kiemke.settings"].home


def _letterhead() -> Letterhead:
    return load_letterhead(_home())


class LetterheadForm(FlaskForm):
    parent_agency = StringField(_l("Cơ quan chủ quản"), validators=[Optional(), Length(max=MAX_LENGTH)])
    agency = StringField(_l("Cơ quan báo cáo"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    document_number = StringField(_l("Số văn bản"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    place = StringField(_l("Địa danh"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    document_date = DateField(_l("Ngày văn bản (để trống: ngày in báo cáo)"), validators=[Optional()])

    def letterhead(self) -> Letterhead:
        return Letterhead(
            parent_agency=(self.parent_agency.data or "").strip(),
            agency=self.agency.data.strip(),
            document_number=self.document_number.data.strip(),
            place=self.place.data.strip(),
            document_date=self.document_date.data.isoformat() if self.document_date.data else "",
        )


@bp.route("/tieu-de")
@role_required(ADMIN)
def letterhead():
    saved = _letterhead()
    form = LetterheadForm(data={**vars(saved), "document_date": saved.dated(date.today()) if saved.document_date else None})
    return render_template("reports/letterhead.html", form=form, defaults=Letterhead())


@bp.route("/tieu-de", methods=["POST"])
@role_required(ADMIN)
def save_letterhead_view():
    form = LetterheadForm()
    if not form.validate_on_submit():
        flash_field_errors(form)
        return render_template("reports/letterhead.html", form=form, defaults=Letterhead()), 400
    before, after = _letterhead(), form.letterhead()
    try:
        save_letterhead(_home(), after)
    except FileWriteError as exc:
        flash(_("Không lưu được tiêu đề báo cáo: %(reason)s", reason=str(exc)), "error")
        return render_template("reports/letterhead.html", form=form, defaults=Letterhead()), 500
    audit.record(get_session(), current_user.username, "update", "report_letterhead", None, before=vars(before), after=vars(after))
    commit()
    flash(_("Đã lưu tiêu đề báo cáo."), "info")
    return redirect(url_for("reports.letterhead"))
