"""Sites: the list, coloured and sortable by compliance, critical findings per device, coverage,
name, devices and open findings, and exported as CSV/XLSX in the list's order; and one site's
page (shares, coverage per zone, silent devices, findings by rule)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from collectors.queries import recent_scan_runs
from compliance.findings import FindingFilter, list_findings
from inventory import site_edit
from inventory.io.table_export import ExportColumn
from web import queries
from web.access import EVERYONE, EXPORTERS, SITE_EDITORS, may, may_export, role_required
from web.charts import trend_panel
from web.database import cached, get_session
from web.edit_view import VersionedEdit, edit_page
from web.i18n import current_language
from web.labels import label
from web.list_export import check_format, export_response
from web.site_forms import ApprovedForm, SiteForm, SubnetsForm

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


# What the edit tabs say when the values changed since the form was read, or were refused.
STALE_SITE = _l("Đơn vị vừa được người khác sửa sau khi bạn mở biểu mẫu; chưa lưu gì. Biểu mẫu nay hiện giá trị hiện tại: hãy xem lại rồi lưu lại.")
STALE_SUBNETS = _l("Dải mạng của đơn vị vừa được người khác sửa sau khi bạn mở biểu mẫu; chưa lưu gì. Biểu mẫu nay hiện giá trị hiện tại: hãy xem lại rồi lưu lại.")
STALE_APPROVED = _l("Số lượng được duyệt vừa được người khác sửa sau khi bạn mở biểu mẫu; chưa lưu gì. Biểu mẫu nay hiện giá trị hiện tại: hãy xem lại rồi lưu lại.")
SUBNETS_REFUSED = _l("Chưa lưu gì: có dải mạng không hợp lệ, xem thông báo dưới từng ô.")

# The edit tabs, at /sites/<code>/<tab> (endpoints sites.edit, sites.subnets, sites.approved):
# each a web.edit_view page, with the endpoint a saved edit goes back to.
EDIT_TABS: dict[str, tuple[VersionedEdit, str]] = {
    "edit": (VersionedEdit(SiteForm, "sites/edit.html", site_edit.recorded_values, site_edit.update_site, STALE_SITE), "sites.detail"),
    "subnets": (VersionedEdit(SubnetsForm, "sites/subnets.html", site_edit.zone_subnets, site_edit.update_subnets, STALE_SUBNETS, SUBNETS_REFUSED), "sites.subnets"),
    "approved": (VersionedEdit(ApprovedForm, "sites/approved.html", site_edit.approved_quantities, site_edit.update_approved, STALE_APPROVED), "sites.approved"),
}


@role_required(*SITE_EDITORS)
def edit_tab(code: str, tab: str):
    page, back = EDIT_TABS[tab]
    db = get_session()
    site_id, site = _site_or_404(db, code)
    return edit_page(page, db, site_id, back=url_for(back, code=code), site=site, tab=tab)


for _tab in EDIT_TABS:
    bp.add_url_rule(f"/<code>/{_tab}", _tab, edit_tab, methods=["GET", "POST"], defaults={"tab": _tab})
