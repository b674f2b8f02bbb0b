"""Sites: the list, coloured and sortable by compliance, critical findings per device, coverage,
name, devices and open findings, and exported as CSV/XLSX in the list's order; and one site's
page (shares, coverage per zone, silent devices, findings by rule)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from collectors.queries import recent_scan_runs
from compliance.findings import FindingFilter, list_findings
from inventory import site_edit
from inventory.changes import committed_outcomes
from inventory.io.table_export import ExportColumn
from web import queries
from web.access import EVERYONE, EXPORTERS, SITE_EDITORS, may, may_export, role_required
from web.charts import trend_panel
from web.database import cached, commit, get_session
from web.i18n import current_language
from web.labels import label
from web.list_export import check_format, export_response
from web.recheck import tell_evaluation
from web.site_forms import SITE_FIELD_LABELS, SUBNET_FIELD_LABELS, ApprovedForm, SiteForm, SubnetsForm, site_error_text

bp = Blueprint("sites", __name__, url_prefix="/sites")


@bp.route("/")
@role_required(*EVERYONE)
def index():
    sort, descending = _sorting()
    period = queries.coverage_period()  # coverage moves with the clock, data unchanged
    sites = _sites(period)
    table = cached(("sites-table", period, sort, descending, current_language()), lambda: sites_table_html(sites, sort, descending))
    return render_template("sites/list.html", table=table, can_export=may_export(), sort=sort, descending=descending)


def _sorting() -> tuple[str, bool]:
    sort = request.args.get("sort", "rank")
    return (sort if sort in queries.SITE_SORTS else "rank"), request.args.get("desc") == "1"


def _sites(period) -> list[dict]:
    db = get_session()
    return cached(("sites", period), lambda: queries.sites_with_compliance(db, with_top_rules=True))


# The band of a site's colour, in words (as sites/_compliance.html's band_name).
BAND_NAMES = {"good": _l("Tốt"), "fair": _l("Khá"), "poor": _l("Kém"), "bad": _l("Yếu"), "empty": _l("Chưa có thiết bị")}


def export_columns() -> list[ExportColumn]:
    """The sites table's columns as exported (labels, not codes; shares in percent)."""
    columns = [
        ExportColumn(_("Mã"), lambda s: s["code"]),
        ExportColumn(_("Tên"), lambda s: s["name"]),
        ExportColumn(_("Loại"), lambda s: str(label(s["kind"]))),
        ExportColumn(_("Mức"), lambda s: str(BAND_NAMES.get(s["band"], s["band"]))),
        ExportColumn(_("Mạng diện rộng của Đảng"), lambda s: s["party_wan_subnets"]),
        ExportColumn(_("Mạng Internet"), lambda s: s["internet_subnets"]),
        ExportColumn(_("Thiết bị"), lambda s: s["devices"], "int"),
        ExportColumn(_("Tuân thủ (%)"), lambda s: s["compliant_pct"], "decimal"),
        ExportColumn(_("Không tuân thủ (%)"), lambda s: s["non_compliant_pct"], "decimal"),
        ExportColumn(_("Chưa rõ (%)"), lambda s: s["unknown_pct"], "decimal"),
        ExportColumn(_("Nghiêm trọng/thiết bị"), lambda s: s["critical_per_device"], "decimal"),
        ExportColumn(_("Đang phản hồi (%)"), lambda s: s["answering_pct"], "decimal"),
    ]
    for severity in ("critical", "high", "medium", "low"):
        columns.append(ExportColumn(str(label(severity)), lambda s, severity=severity: s["open"].get(severity, 0), "int"))
    columns.append(ExportColumn(_("Ba quy tắc vi phạm nhiều nhất"), lambda s: [f"{r['rule_id']} ({r['open']})" for r in s["top_rules"]]))
    return columns


@bp.route("/export.<fmt>")
@role_required(*EXPORTERS)
def export(fmt: str):
    """The sites list as shown (its order too), to read and print."""
    check_format(fmt)
    sort, descending = _sorting()
    rows = queries.sort_sites(_sites(queries.coverage_period()), sort, descending)
    return export_response(export_columns(), rows, fmt, name="don-vi", title=_("Đơn vị"))


def sites_table_html(sites: list[dict], sort: str, descending: bool) -> Markup:
    """The sorted table, rendered once per sort, language and data revision: nothing per user in it."""
    html = render_template("sites/_table.html", sites=queries.sort_sites(sites, sort, descending), sort=sort, descending=descending, bands=queries.BANDS)
    return Markup(html)  # noqa: S704 - rendered by Jinja, autoescaped


@bp.route("/<code>")
@role_required(*EVERYONE)
def detail(code: str):
    db = get_session()
    site = cached(("site", code, queries.coverage_period()), lambda: queries.site_detail(db, code))
    if site is None:
        abort(404)
    findings, open_total = list_findings(db, FindingFilter(site=code, status="open"), per_page=50)
    return render_template(
        "sites/detail.html",
        site=site,
        findings=findings,
        open_total=open_total,
        scans=recent_scan_runs(db, limit=20, site=code),
        titles=queries.rule_titles(),
        trend=cached(("trend", code, date.today(), current_language()), lambda: trend_panel(db, [site["id"]], chart_id="trend-site")),
    )


# ------------------------------------------------------------------------------ edit
# The edits themselves are inventory.site_edit's: these views carry the forms and word the outcome.


@bp.app_context_processor
def _site_editing() -> dict:
    # For the site page's "Sửa" tab: shown only to those who may open the edit forms.
    return {"may_edit_sites": lambda: may(*SITE_EDITORS)}


def _site_or_404(db, code: str) -> tuple[int, dict]:
    site_id = site_edit.site_id_of(db, code)
    if site_id is None:
        abort(404)
    return site_id, {"id": site_id, "code": code, "name": site_edit.recorded_values(db, site_id)["name"]}


def _shown_site_value(key: str, value) -> str:
    return "" if value in (None, "") else str(label(value)) if key == "kind" else str(value)


def _after_site_commit(db, changes: list, back: str):
    commit()
    flash(_("Đã lưu %(n)d thay đổi.", n=len(changes)) if changes else _("Không có gì thay đổi."), "info")
    for outcome in committed_outcomes(db):
        tell_evaluation(outcome)
    return redirect(back)


@bp.route("/<code>/edit", methods=["GET", "POST"])
@role_required(*SITE_EDITORS)
def edit(code: str):
    db = get_session()
    site_id, site = _site_or_404(db, code)
    stored = site_edit.recorded_values(db, site_id)

    def page(form: SiteForm, status: int = 200, conflict: list[dict] | None = None):
        return render_template("sites/edit.html", site=site, form=form, conflict=conflict), status

    if request.method == "GET":
        return page(SiteForm.from_stored(stored, site_edit.version_of(stored)))
    form = SiteForm()  # CSRFProtect checked the token already
    typed = form.site_values()
    try:
        changes = site_edit.update_site(db, site_id, typed, form.version.data or "", actor=current_user.username)
    except site_edit.EditConflict:
        db.rollback()
        stored = site_edit.recorded_values(db, site_id)
        differing = [
            {"label": SITE_FIELD_LABELS[key], "typed": _shown_site_value(key, typed.get(key)), "current": _shown_site_value(key, stored.get(key))}
            for key in SITE_FIELD_LABELS
            if _shown_site_value(key, typed.get(key)) != _shown_site_value(key, stored.get(key))
        ]
        flash(_("Đơn vị vừa được người khác sửa sau khi bạn mở biểu mẫu; chưa lưu gì. Biểu mẫu nay hiện giá trị hiện tại: hãy xem lại rồi lưu lại."), "error")
        return page(SiteForm.from_stored(stored, site_edit.version_of(stored)), 409, conflict=differing)
    except site_edit.InvalidValues as exc:
        db.rollback()
        form.add_site_errors(exc.errors)
        return page(form, 400)
    return _after_site_commit(db, changes, url_for("sites.detail", code=code))


@bp.route("/<code>/subnets", methods=["GET", "POST"])
@role_required(*SITE_EDITORS)
def subnets(code: str):
    db = get_session()
    site_id, site = _site_or_404(db, code)

    def page(form: SubnetsForm, status: int = 200, conflict: list[dict] | None = None):
        return render_template("sites/subnets.html", site=site, form=form, conflict=conflict), status

    def fresh() -> SubnetsForm:
        stored = site_edit.zone_subnets(db, site_id)
        return SubnetsForm.from_stored(stored, site_edit.version_of(stored))

    if request.method == "GET":
        return page(fresh())
    form = SubnetsForm()
    typed = form.typed()
    try:
        changes = site_edit.update_subnets(db, site_id, typed, form.version.data or "", actor=current_user.username)
    except site_edit.EditConflict:
        db.rollback()
        stored = site_edit.zone_subnets(db, site_id)
        differing = [
            {"label": SUBNET_FIELD_LABELS[zone], "typed": "\n".join(site_edit.split_cidrs(typed[zone])), "current": "\n".join(stored[zone])}
            for zone in SUBNET_FIELD_LABELS
            if site_edit.split_cidrs(typed[zone]) != stored[zone]
        ]
        flash(_("Dải mạng của đơn vị vừa được người khác sửa sau khi bạn mở biểu mẫu; chưa lưu gì. Biểu mẫu nay hiện giá trị hiện tại: hãy xem lại rồi lưu lại."), "error")
        return page(fresh(), 409, conflict=differing)
    except site_edit.InvalidValues as exc:
        db.rollback()
        form.add_subnet_errors(exc.errors)
        flash(_("Chưa lưu gì: có dải mạng không hợp lệ, xem thông báo dưới từng ô."), "error")
        return page(form, 400)
    return _after_site_commit(db, changes, url_for("sites.subnets", code=code))


@bp.route("/<code>/approved", methods=["GET", "POST"])
@role_required(*SITE_EDITORS)
def approved(code: str):
    db = get_session()
    site_id, site = _site_or_404(db, code)
    stored = site_edit.approved_quantities(db, site_id)

    def page(typed: dict, version: str, status: int = 200, errors: dict | None = None, conflict: list[dict] | None = None):
        form = ApprovedForm(formdata=None, data={"version": version})
        return render_template("sites/approved.html", site=site, form=form, typed=typed, errors=errors or {}, conflict=conflict), status

    if request.method == "GET":
        return page({cls: str(n) for cls, n in stored.items()}, site_edit.version_of(stored))
    form = ApprovedForm()
    typed = ApprovedForm.typed(request.form)
    try:
        changes = site_edit.update_approved(db, site_id, typed, form.version.data or "", actor=current_user.username)
    except site_edit.EditConflict:
        db.rollback()
        stored = site_edit.approved_quantities(db, site_id)
        differing = [{"label": label(cls), "typed": typed[cls], "current": str(stored[cls])} for cls in stored if typed[cls].strip() != str(stored[cls])]
        flash(_("Số lượng được duyệt vừa được người khác sửa sau khi bạn mở biểu mẫu; chưa lưu gì. Biểu mẫu nay hiện giá trị hiện tại: hãy xem lại rồi lưu lại."), "error")
        return page({cls: str(n) for cls, n in stored.items()}, site_edit.version_of(stored), 409, conflict=differing)
    except site_edit.InvalidValues as exc:
        db.rollback()
        errors = {e.field: site_error_text(e.code, e.params) for e in exc.errors}
        return page(typed, form.version.data or "", 400, errors=errors)
    return _after_site_commit(db, changes, url_for("sites.approved", code=code))
