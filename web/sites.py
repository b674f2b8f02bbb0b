"""Sites: the list, coloured and sortable by compliance, critical findings per device and
coverage; and one site's page (shares, coverage per zone, silent devices, findings by rule)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from collectors.queries import recent_scan_runs
from compliance.findings import FindingFilter, list_findings
from web import queries
from web.access import EVERYONE, role_required
from web.database import cached, get_session

bp = Blueprint("sites", __name__, url_prefix="/sites")


@bp.route("/")
@role_required(*EVERYONE)
def index():
    db = get_session()
    sort = request.args.get("sort", "rank")
    if sort not in queries.SITE_SORTS:
        sort = "rank"
    descending = request.args.get("desc") == "1"
    sites = cached("sites", lambda: queries.sites_with_compliance(db))
    return render_template(
        "sites/list.html",
        sites=queries.sort_sites(sites, sort, descending),
        sort=sort,
        descending=descending,
        bands=queries.BANDS,
        titles=queries.rule_titles(),
    )


@bp.route("/<code>")
@role_required(*EVERYONE)
def detail(code: str):
    db = get_session()
    site = queries.site_detail(db, code)
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
    )
