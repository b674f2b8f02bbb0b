"""Findings: the filtered, sorted list and its export, one finding's evidence, and waivers
(security officers only): grant one for the ticked findings or for every one the filter
matches, revoke one, extend one, each after a confirmation that says what will happen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField
from wtforms.validators import InputRequired, ValidationError

from compliance.findings import (
    SORT_KEYS,
    FindingFilter,
    WaiverError,
    extend_waiver,
    finding_query,
    list_findings,
    matching_finding_ids,
    resolve_search,
    revoke_waiver,
    severity_counts,
    waive,
)
from inventory.choices import FindingStatus, Severity, values
from inventory.io.table_export import ExportColumn
from inventory.models import Finding, User
from web import queries
from web.access import EVERYONE, EXPORTERS, SECURITY_OFFICER, may_export, role_required
from web.auth import _safe_next
from web.check_texts import check_text
from web.database import cached, commit, get_session
from web.filters import rule_title
from web.forms import WaiveForm
from web.i18n import day_text
from web.labels import label
from web.list_export import check_format, export_response
from web.paging import Page
from web.procurement import number

bp = Blueprint("findings", __name__, url_prefix="/findings")

MAX_BULK = 5000  # findings one waiver may cover ("all matching" included); each is audit-logged
MAX_EXPORT = 50_000  # rows in one exported file; more: narrow the filter
FILTER_ARGS = ("q", "rule", "severity", "site", "status")


class DayField(DateField):
    """A date field whose "not a date" message is in the page's language (WTForms' own is English)."""

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Ngày không hợp lệ; hãy chọn ngày trên lịch (năm-tháng-ngày).")) from None


class ConfirmedWaiveForm(WaiveForm):
    """The waiver form with its confirmation step: `expected` is the count the person confirmed."""

    expires = DayField(_l("Hết hạn ngày"), validators=[InputRequired(message=_l("Cần chọn ngày hết hạn."))])
    expected = HiddenField()
    confirm = HiddenField()


class ExtendWaiverForm(FlaskForm):
    expires = DayField(_l("Hết hạn mới ngày"), validators=[InputRequired(message=_l("Cần chọn ngày hết hạn mới."))])

    def validate_expires(self, field) -> None:
        if field.data is not None and field.data <= date.today():
            raise ValidationError(_l("Ngày hết hạn phải sau hôm nay."))


def _filter(args) -> FindingFilter:
    status = args.get("status", "open")
    flt = FindingFilter(
        rule=args.get("rule") or None,
        severity=args.get("severity") if args.get("severity") in values(Severity) else None,
        site=args.get("site") or None,
        status=status if status in values(FindingStatus) else None,  # "all" or anything else: every status
        q=(args.get("q") or "").strip()[:200] or None,
    )
    if flt.q is None:
        return flt
    db = get_session()
    return cached(("findings.search", flt), lambda: resolve_search(db, flt), store="kiemke.counts")  # until the data changes


def _sorting(args) -> tuple[str, bool]:
    sort = args.get("sort", "severity")
    return (sort if sort in SORT_KEYS else "severity"), args.get("desc") == "1"


def _filter_args(args) -> dict[str, str]:
    """The list's filter as query arguments (what a waiver of "all matching" carries along)."""
    return {k: args[k] for k in FILTER_ARGS if args.get(k)}


def _list_args(args) -> dict[str, str]:
    """The list's filter and order as query arguments (what its export links and returns carry)."""
    return {k: v for k, v in args.items() if k in (*FILTER_ARGS, "sort", "desc")}


def _rule_choices(db) -> list[tuple[str, str]]:
    """The rules that have findings, as (id, title in this language), by title."""
    titled = [(rule_id, rule_title(rule_id) or rule_id) for rule_id in cached("findings.rule_ids", lambda: queries.rule_ids(db))]
    return sorted(titled, key=lambda pair: pair[1].casefold())


def _shown(rows: list[dict]) -> list[dict]:
    """The rows with what the table shows of their rule and check texts (shown_rule,
    shown_expected, shown_actual), each worked out once per page: a page repeats a few rules and
    texts, and recognising a text tries the known shapes one after another."""
    texts: dict[str | None, str] = {}
    titles: dict[str, str] = {}
    for f in rows:
        for key in ("expected", "actual"):
            if f[key] not in texts:
                texts[f[key]] = check_text(f[key])
            f[f"shown_{key}"] = texts[f[key]]
        if f["rule_id"] not in titles:
            titles[f["rule_id"]] = rule_title(f["rule_id"]) or f["rule_id"]
        f["shown_rule"] = titles[f["rule_id"]]
    return rows


def _describe(flt: FindingFilter) -> str:
    """The filter in words, for the confirmation of a waiver of every finding it matches."""
    parts = []
    if flt.q:
        parts.append(_("tìm “%(q)s”", q=flt.q))
    if flt.rule:
        parts.append(_("quy tắc: %(rule)s", rule=rule_title(flt.rule) or flt.rule))
    if flt.severity:
        parts.append(_("mức độ: %(severity)s", severity=label(flt.severity)))
    if flt.site:
        parts.append(_("đơn vị: %(site)s", site=flt.site))
    parts.append(_("trạng thái: %(status)s", status=label(flt.status) if flt.status else _("(tất cả)")))
    return _("Bộ lọc: %(parts)s", parts="; ".join(parts))


@bp.route("/")
@role_required(*EVERYONE)
def index():
    db = get_session()
    flt = _filter(request.args)
    sort, descending = _sorting(request.args)
    page = Page.from_args(request.args)
    counts = cached(("findings.counts", flt), lambda: severity_counts(db, flt), store="kiemke.counts")
    rows, total = list_findings(db, flt, page=page.number, per_page=page.per_page, counts=counts, sort=sort, descending=descending)
    return render_template(
        "findings/list.html",
        rows=_shown(rows),
        page=page.with_total(total),
        flt=flt,
        sort=sort,
        descending=descending,
        status_arg=request.args.get("status", "open"),
        rules=_rule_choices(db),
        sites=cached("site_codes", lambda: queries.site_codes(db)),
        severities=values(Severity),
        statuses=values(FindingStatus),
        form=WaiveForm(formdata=None),
        filter_args=_filter_args(request.args),
        num=number,
        can_export=may_export(),
        export_args=_list_args(request.args),
    )


def export_columns() -> list[ExportColumn]:
    """The exported findings as people read them: labels, rule titles and the check texts in
    the UI's language, not codes (the rule id stays beside its title, for searching the policy)."""
    return [
        ExportColumn(_("Mã phát hiện"), lambda f: f["id"], "int"),
        ExportColumn(_("Mức độ"), lambda f: label(f["severity"])),
        ExportColumn(_("Quy tắc"), lambda f: rule_title(f["rule_id"]) or f["rule_id"], width=40),
        ExportColumn(_("Mã quy tắc"), lambda f: f["rule_id"]),
        ExportColumn(_("Đơn vị"), lambda f: f["site_code"]),
        ExportColumn(_("Thiết bị"), lambda f: f["hostname"] or (f"#{f['device_id']}" if f["device_id"] else None)),
        ExportColumn(_("Yêu cầu"), lambda f: check_text(f["expected"]), width=36),
        ExportColumn(_("Thực tế"), lambda f: check_text(f["actual"]), width=36),
        ExportColumn(_("Trạng thái"), lambda f: label(f["status"])),
        ExportColumn(_("Phát hiện lần đầu"), lambda f: f["first_seen"], "date"),
        ExportColumn(_("Thấy lần cuối"), lambda f: f["last_seen"], "date"),
        ExportColumn(_("Hết hạn miễn trừ"), lambda f: f["waiver_expires"], "date"),
        ExportColumn(_("Lý do miễn trừ"), lambda f: f["waiver_reason"], width=36),
        ExportColumn(_("Người miễn trừ"), lambda f: f["waived_by"]),
    ]


@bp.route("/export.<fmt>")
@role_required(*EXPORTERS)
def export(fmt: str):
    """The filtered findings in the list's order (every page, not one)."""
    check_format(fmt)
    db = get_session()
    flt = _filter(request.args)
    sort, descending = _sorting(request.args)
    total = sum(severity_counts(db, flt).values())
    if total > MAX_EXPORT:
        flash(_("Bộ lọc khớp %(n)s phát hiện, quá %(max)s dòng của một tệp: hãy lọc hẹp hơn (ví dụ theo đơn vị).", n=number(total), max=number(MAX_EXPORT)), "error")
        return redirect(url_for("findings.index", **_list_args(request.args)))
    rows, _total = list_findings(db, flt, per_page=None, sort=sort, descending=descending)
    return export_response(export_columns(), rows, fmt, name="phat-hien", title=_("Phát hiện"))


@bp.route("/<int:finding_id>")
@role_required(*EVERYONE)
def detail(finding_id: int):
    return _detail_page(finding_id)


def _detail_page(finding_id: int, extend_form: ExtendWaiverForm | None = None):
    db = get_session()
    row = db.execute(finding_query(FindingFilter()).where(Finding.id == finding_id)).first()
    if row is None:
        abort(404)
    finding, site_code, hostname = row
    return render_template(
        "findings/detail.html",
        finding={**finding.model_dump(), "site_code": site_code, "hostname": hostname},
        form=WaiveForm(formdata=None),
        extend_form=extend_form or ExtendWaiverForm(formdata=None),
    )


# ------------------------------------------------------------------------------ waivers


def _waive_targets(db, form) -> tuple[str, list[int]]:
    """Which findings a waiver is for: the ticked ones (`scope=selected`) or every one the posted
    filter matches that is not resolved (`scope=filter`: all of them, not one page)."""
    if form.get("scope") == "filter":
        return "filter", matching_finding_ids(db, _filter(form))
    wanted = sorted({int(v) for v in form.getlist("ids") if v.isascii() and v.isdigit() and len(v) <= 18})
    return "selected", wanted


def _officer(db) -> User:
    return db.get(User, current_user.user_id)


@bp.route("/waive", methods=["POST"])
@role_required(SECURITY_OFFICER, admin=False)
def waive_selected():
    back = _safe_next(request.form.get("next")) or url_for("findings.index")
    db = get_session()
    scope, ids = _waive_targets(db, request.form)
    form = ConfirmedWaiveForm()
    if not ids:
        flash(_("Chưa chọn phát hiện nào.") if scope == "selected" else _("Không có phát hiện nào khớp bộ lọc để miễn trừ."), "error")
        return redirect(back)
    if len(ids) > MAX_BULK:
        flash(_("Mỗi lần chỉ miễn trừ tối đa %(n)s phát hiện; hãy lọc hẹp hơn.", n=number(MAX_BULK)), "error")
        return redirect(back)
    described = _describe(_filter(request.form)) if scope == "filter" else ""
    page = {"ids": ids, "scope": scope, "back": back, "filter_args": _filter_args(request.form), "num": number, "count": len(ids), "described": described}
    if not form.validate():  # what was typed stays in the form, with the message beside it
        return render_template("findings/waive.html", form=form, step="choose", **page), 400
    if form.confirm.data != "1" or form.expected.data != str(len(ids)):
        moved = form.confirm.data == "1"  # confirmed for another count: the list changed meanwhile
        if moved:
            flash(_("Số phát hiện khớp bộ lọc đã thay đổi từ lúc xác nhận (nay là %(n)s); chưa miễn trừ gì, hãy xác nhận lại.", n=number(len(ids))), "error")
        form.expected.data, form.confirm.data = str(len(ids)), "1"
        return render_template("findings/waive.html", form=form, step="confirm", **page), 409 if moved else 200
    try:
        count = waive(db, ids, reason=form.reason.data, expires=form.expires.data, user=_officer(db))
    except WaiverError as exc:
        db.rollback()
        flash(_("Không miễn trừ được: %(reason)s", reason=str(exc)), "error")
        return redirect(back)
    commit()
    flash(_("Đã miễn trừ %(num)s phát hiện đến %(date)s.", num=number(count), date=day_text(form.expires.data)), "info")
    return redirect(back)


def _waived(db, finding_id: int) -> Finding | None:
    """The finding (404 if there is none), or None with a message when it is not waived."""
    finding = db.get(Finding, finding_id)
    if finding is None:
        abort(404)
    if finding.status != FindingStatus.WAIVED.value:
        flash(_("Phát hiện #%(id)d không được miễn trừ.", id=finding_id), "error")
        return None
    return finding


def _change_waiver(db, finding_id: int, change: Callable[[], object], *, failed: Callable[[str], str], done: str):
    """Apply a confirmed change to a waiver, commit it, say how it went, back to the finding."""
    try:
        change()
    except WaiverError as exc:
        db.rollback()
        flash(failed(str(exc)), "error")
    else:
        commit()
        flash(done, "info")
    return redirect(url_for("findings.detail", finding_id=finding_id))


def _confirm_page(finding: Finding, *, title: str, question: str, details: list[str], action: str, button: str, hidden: dict[str, str], status: int = 200):
    back = url_for("findings.detail", finding_id=finding.id)
    page = render_template("_confirm.html", title=title, question=question, details=details, action=action, button=button, hidden=hidden, back=back)
    return page, status


@bp.route("/<int:finding_id>/waiver/revoke", methods=["POST"])
@role_required(SECURITY_OFFICER, admin=False)
def revoke(finding_id: int):
    db = get_session()
    finding = _waived(db, finding_id)
    if finding is None:
        return redirect(url_for("findings.detail", finding_id=finding_id))
    if request.form.get("confirm") != "1":
        details = [_("Lý do miễn trừ: %(reason)s", reason=finding.waiver_reason or ""), _("Hết hạn ngày: %(date)s", date=day_text(finding.waiver_expires))]
        return _confirm_page(
            finding, title=_("Thu hồi miễn trừ"), question=_("Thu hồi miễn trừ của phát hiện #%(id)d?", id=finding_id), details=details,
            action=url_for("findings.revoke", finding_id=finding_id), button=_("Thu hồi miễn trừ"), hidden={},
        )  # fmt: skip
    return _change_waiver(
        db, finding_id, lambda: revoke_waiver(db, finding_id, user=_officer(db)), failed=lambda reason: _("Không thu hồi được: %(reason)s", reason=reason),
        done=_("Đã thu hồi miễn trừ của phát hiện #%(id)d; phát hiện mở lại.", id=finding_id),
    )  # fmt: skip


@bp.route("/<int:finding_id>/waiver/extend", methods=["POST"])
@role_required(SECURITY_OFFICER, admin=False)
def extend(finding_id: int):
    db = get_session()
    finding = _waived(db, finding_id)
    if finding is None:
        return redirect(url_for("findings.detail", finding_id=finding_id))
    form = ExtendWaiverForm()
    valid = form.validate()
    if valid and finding.waiver_expires is not None and form.expires.data <= finding.waiver_expires:
        form.expires.errors = [_("Ngày hết hạn mới phải sau %(date)s.", date=day_text(finding.waiver_expires))]
        valid = False
    if not valid:  # the page again, the typed date and the message beside it
        return _detail_page(finding_id, extend_form=form), 400
    new = form.expires.data
    if request.form.get("confirm") != "1":
        old = day_text(finding.waiver_expires)
        return _confirm_page(
            finding, title=_("Gia hạn miễn trừ"), question=_("Gia hạn miễn trừ của phát hiện #%(id)d từ %(old)s đến %(new)s?", id=finding_id, old=old, new=day_text(new)),
            details=[_("Lý do miễn trừ: %(reason)s", reason=finding.waiver_reason or "")], action=url_for("findings.extend", finding_id=finding_id),
            button=_("Gia hạn đến %(date)s", date=day_text(new)), hidden={"expires": new.isoformat()},
        )  # fmt: skip
    return _change_waiver(
        db, finding_id, lambda: extend_waiver(db, finding_id, expires=new, user=_officer(db)), failed=lambda reason: _("Không gia hạn được: %(reason)s", reason=reason),
        done=_("Đã gia hạn miễn trừ của phát hiện #%(id)d đến %(date)s.", id=finding_id, date=day_text(new)),
    )  # fmt: skip
