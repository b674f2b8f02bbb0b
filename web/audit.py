"""The audit log: who changed what (admin and security officer)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from web import queries
from web.access import SECURITY_OFFICER, role_required
from web.database import get_session
from web.paging import Page

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@role_required(SECURITY_OFFICER)
def index():
    db = get_session()
    flt = queries.AuditFilter(actor=request.args.get("actor") or None, action=request.args.get("action") or None, entity=request.args.get("entity") or None)
    page = Page.from_args(request.args)
    rows, total = queries.list_audit(db, flt, page=page.number, per_page=page.per_page)
    return render_template("audit.html", rows=rows, page=page.with_total(total), flt=flt, vocabulary=queries.audit_vocabulary(db))
