"""The overview: compliance of every site at a glance, findings by severity and rule, latest scans."""

from __future__ import annotations

from flask import Blueprint, render_template

from collectors.queries import recent_scan_runs
from web import queries
from web.access import EVERYONE, role_required
from web.database import get_session

bp = Blueprint("overview", __name__)


@bp.route("/")
@role_required(*EVERYONE)
def index():
    db = get_session()
    sites = queries.sites_with_compliance(db)
    return render_template(
        "overview.html",
        sites=sites,
        by_severity=queries.open_findings_by_severity(db),
        by_rule=queries.findings_by_rule(db),
        titles=queries.rule_titles(),
        scans=recent_scan_runs(db, limit=10),
        status_counts={s: sum(1 for site in sites if site["status"] == s) for s in ("critical", "high", "medium", "low", "ok", "empty")},
    )
