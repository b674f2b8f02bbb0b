"""Sites: the list, coloured and sortable by compliance, critical findings per device and
coverage; and one site's page (shares, coverage per zone, silent devices, findings by rule)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request
from markupsafe import Markup

from collectors.queries import recent_scan_runs
from compliance.findings import FindingFilter, list_findings
from web import queries
from web.access import EVERYONE, role_required
from web.charts import trend_panel
from web.database import cached, get_session
from web.i18n import current_language

bp = Blueprint("sites", __name__, url_prefix="/sites")


@bp.route("/")
@role_required(*EVERYONE)
def index():
    db = get_session()
    sort = request.args.get("sort", "rank")
    if sort not in queries.SITE_SORTS:
        sort = "rank"
    descending = request.args.get("desc") == "1"
    period = queries.coverage_period()  # coverage moves with the clock, data unchanged
    sites = cached(("sites", period), lambda: queries.sites_with_compliance(db, with_top_rules=True))
    table = cached(("sites-table", period, sort, descending, current_language()), lambda: sites_table_html(sites, sort, descending))
    return render_template("sites/list.html", table=table)


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
