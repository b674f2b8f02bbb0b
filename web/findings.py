"""Findings: filtered list, one finding's evidence, and waivers (security officers only)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from compliance.findings import FindingFilter, WaiverError, finding_query, list_findings, severity_counts, waive
from inventory.choices import FindingStatus, Severity, values
from inventory.models import Finding, User
from web import queries
from web.access import EVERYONE, SECURITY_OFFICER, role_required
from web.auth import _safe_next
from web.database import cached, commit, get_session
from web.forms import WaiveForm, flash_errors
from web.paging import Page

bp = Blueprint("findings", __name__, url_prefix="/findings")

MAX_BULK = 1000


def _filter(args) -> FindingFilter:
    status = args.get("status", "open")
    return FindingFilter(
        rule=args.get("rule") or None,
        severity=args.get("severity") if args.get("severity") in values(Severity) else None,
        site=args.get("site") or None,
        status=status if status in values(FindingStatus) else None,  # "all" or anything else: every status
    )


@bp.route("/")
@role_required(*EVERYONE)
def index():
    db = get_session()
    flt = _filter(request.args)
    page = Page.from_args(request.args)
    counts = cached(("findings.counts", flt), lambda: severity_counts(db, flt), store="kiemke.counts")
    rows, total = list_findings(db, flt, page=page.number, per_page=page.per_page, counts=counts)
    return render_template(
        "findings/list.html",
        rows=rows,
        page=page.with_total(total),
        flt=flt,
        status_arg=request.args.get("status", "open"),
        rules=cached("findings.rule_ids", lambda: queries.rule_ids(db)),
        sites=cached("site_codes", lambda: queries.site_codes(db)),
        severities=values(Severity),
        statuses=values(FindingStatus),
        titles=queries.rule_titles(),
        form=WaiveForm(formdata=None),
    )


@bp.route("/<int:finding_id>")
@role_required(*EVERYONE)
def detail(finding_id: int):
    db = get_session()
    row = db.execute(finding_query(FindingFilter()).where(Finding.id == finding_id)).first()
    if row is None:
        abort(404)
    finding, site_code, hostname = row
    return render_template(
        "findings/detail.html",
        finding={**finding.model_dump(), "site_code": site_code, "hostname": hostname},
        titles=queries.rule_titles(),
        form=WaiveForm(formdata=None),
    )


@bp.route("/waive", methods=["POST"])
@role_required(SECURITY_OFFICER, admin=False)
def waive_selected():
    back = _safe_next(request.form.get("next")) or url_for("findings.index")
    form = WaiveForm()
    ids = sorted({int(v) for v in request.form.getlist("ids") if v.isdigit()})[: MAX_BULK + 1]
    if not ids:
        flash(_("Chưa chọn phát hiện nào."), "error")
        return redirect(back)
    if len(ids) > MAX_BULK:
        flash(_("Mỗi lần chỉ miễn trừ tối đa %(n)d phát hiện.", n=MAX_BULK), "error")
        return redirect(back)
    if not form.validate():
        flash_errors(form)
        return redirect(back)
    db = get_session()
    user = db.get(User, current_user.user_id)
    try:
        count = waive(db, ids, reason=form.reason.data, expires=form.expires.data, user=user)
    except WaiverError as exc:
        db.rollback()
        flash(_("Không miễn trừ được: %(reason)s", reason=str(exc)), "error")
        return redirect(back)
    commit()
    flash(
        ngettext("Đã miễn trừ %(num)d phát hiện đến %(date)s.", "Đã miễn trừ %(num)d phát hiện đến %(date)s.", count, date=form.expires.data.isoformat()),
        "info",
    )
    return redirect(back)
