"""Devices: the filtered, sorted, paginated list (its columns chosen per user, its filters saved
by name), its exports (import format; labelled list), one device's page, its edit form
and history tab, and the bulk edit of the selected or filtered devices. The edits themselves
are inventory.device_edit's: these views carry the form and word the outcome."""

from __future__ import annotations

import io
import tempfile
from datetime import date
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext
from flask_login import current_user

from collectors.queries import config_snapshots
from compliance.findings import FindingFilter, list_findings
from compliance.lifecycle import end_of_life_condition
from inventory.changes import committed_outcomes
from inventory.choices import DeviceClass, DeviceSource, DeviceStatus, ZoneKind, values
from inventory.device_edit import MAX_BULK, BulkInvalid, EditConflict, InvalidValues, existing_device_ids, form_values, matching_device_ids, update_device, update_devices
from inventory.device_history import device_history, place_names
from inventory.io.exporter import export_file
from inventory.list_prefs import FilterRefused, choose_columns, chosen_columns, clean_query, delete_filter, filters_for, save_filter
from inventory.redact import mask_config, masked_diff
from inventory.repository import COMPLIANCE_STATES, REPORTING_SOURCES, SORTABLE, DeviceFilter, compliance_counts, compliance_of, counted_devices, device_query, list_devices
from web import device_list, queries
from web.access import DEVICE_EDITORS, EVERYONE, EXPORTERS, may, may_export, role_required
from web.database import cached, commit, get_session
from web.facts import FACT_LABELS, fact_rows, readable
from web.forms import COLUMN_INPUT_KEYS, DEVICE_FIELD_LABELS, BulkEditForm, DeviceForm, device_error_text
from web.labels import label
from web.list_export import check_format, export_response
from web.paging import PER_PAGE_CHOICES, Page, int_arg
from web.procurement import number
from web.recheck import tell_evaluation

bp = Blueprint("devices", __name__, url_prefix="/devices")

EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _filter() -> DeviceFilter:
    try:
        return DeviceFilter.from_mapping({k: v.strip() for k, v in request.args.items() if isinstance(v, str)})
    except ValueError as exc:  # a state that is none of the three: refused, never "no filter"
        abort(400, str(exc))


def filtered_compliance(flt: DeviceFilter) -> dict[str, int]:
    """The three compliance counts of the filtered list, kept until the data changes."""
    db = get_session()
    today = date.today()
    return cached(("devices.compliance", flt, today), lambda: compliance_counts(db, flt, today=today, end_of_life=end_of_life_condition), store="kiemke.counts")


def list_devices_page(flt: DeviceFilter, *, page: int = 1, per_page: int | None = 50, **sorting) -> tuple[list[dict], int]:
    """list_devices() with the total kept until the data changes (counting is most of the cost),
    with the revision it was counted at (a page read from the other end then needs no count)."""
    db = get_session()
    today = date.today()
    counted_at, total = cached(("devices.count", flt, today), lambda: counted_devices(db, flt, today=today, end_of_life=end_of_life_condition), store="kiemke.counts")
    return list_devices(db, flt, today=today, end_of_life=end_of_life_condition, total=total, counted_at=counted_at, page=page, per_page=per_page, **sorting)


def _sorting() -> tuple[str, bool]:
    """The list's order from the query string: a known sort key (else id) and its direction."""
    sort = request.args.get("sort", "id")
    return (sort if sort in SORTABLE else "id"), request.args.get("desc") == "1"


LIST_NAME = "devices"  # the list's name in saved filters and chosen columns


@bp.route("/")
@role_required(*EVERYONE)
def index():
    db = get_session()
    flt = _filter()
    sort, descending = _sorting()
    page = Page.from_args(request.args)
    rows, total = list_devices_page(flt, sort=sort, descending=descending, page=page.number, per_page=page.per_page)
    shown = chosen_columns(db, current_user.user_id, LIST_NAME, device_list.KEYS, device_list.DEFAULT_KEYS)
    return render_template(
        "devices/list.html",
        rows=rows,
        page=page.with_total(total),
        flt=flt,
        compliance=filtered_compliance(flt),
        compliance_states=COMPLIANCE_STATES,
        reporting_sources=REPORTING_SOURCES,
        num=number,
        sort=sort,
        descending=descending,
        sort_titles=device_list.SORT_TITLES,
        columns=[device_list.BY_KEY[key] for key in shown],
        all_columns=device_list.COLUMNS,
        shown=set(shown),
        saved_filters=filters_for(db, current_user.user_id, LIST_NAME),
        per_page_choices=PER_PAGE_CHOICES,
        can_export=may_export(),
        can_edit=may(*DEVICE_EDITORS),
        choices={
            "zone": values(ZoneKind),
            "device_class": values(DeviceClass),
            "status": values(DeviceStatus),
            "source": values(DeviceSource),
        },
        sites=cached("site_codes", lambda: queries.site_codes(db)),
        vendors=cached("devices.vendors", lambda: queries.vendors(db)),
    )


@bp.route("/export.<fmt>")
@role_required(*EXPORTERS)
def export(fmt: str):
    if fmt not in EXPORT_TYPES:
        abort(404)
    with tempfile.TemporaryDirectory(prefix="kiemke-export-") as tmp:
        path = Path(tmp) / f"thiet-bi.{fmt}"
        export_file(get_session(), "devices", path, _filter(), end_of_life=end_of_life_condition)
        data = path.read_bytes()
    return send_file(io.BytesIO(data), mimetype=EXPORT_TYPES[fmt], as_attachment=True, download_name=f"thiet-bi.{fmt}")


@bp.route("/list.<fmt>")
@role_required(*EXPORTERS)
def export_list(fmt: str):
    """The filtered list, in its order, to read and print: every column, labels not codes (the
    import-format export above stays for re-importing)."""
    check_format(fmt)
    sort, descending = _sorting()
    db = get_session()
    rows, _total = list_devices(db, _filter(), today=date.today(), end_of_life=end_of_life_condition, sort=sort, descending=descending, per_page=None)
    return export_response(device_list.export_columns(), rows, fmt, name="danh-sach-thiet-bi", title=_("Thiết bị"))


# ------------------------------------------------------------------------------ saved filters, columns


def _back_to_list(query: str = ""):
    return redirect(url_for("devices.index") + (f"?{query}" if query else ""))


@bp.route("/filters", methods=["POST"])
@role_required(*EVERYONE)
def save_list_filter():
    """Keep the list's current filter under a name (CSRFProtect checked the token already)."""
    query = clean_query(request.form, device_list.FILTER_KEYS)
    try:
        save_filter(get_session(), current_user.user_id, LIST_NAME, request.form.get("name", ""), query, shared=request.form.get("shared") == "1")
    except FilterRefused as exc:
        get_session().rollback()
        flash(str(FILTER_REFUSALS.get(exc.code, exc.code)), "error")
        return _back_to_list(query)
    commit()
    flash(_("Đã lưu bộ lọc."), "info")
    return _back_to_list(query)


@bp.route("/filters/<int:filter_id>/delete", methods=["POST"])
@role_required(*EVERYONE)
def delete_list_filter(filter_id: int):
    if not delete_filter(get_session(), filter_id, current_user.user_id, LIST_NAME):
        abort(404)  # none of that id among the user's own
    commit()
    flash(_("Đã xóa bộ lọc."), "info")
    return _back_to_list(clean_query(request.form, device_list.FILTER_KEYS))


@bp.route("/columns", methods=["POST"])
@role_required(*EVERYONE)
def choose_list_columns():
    """Remember which columns the user sees (none ticked: back to the default)."""
    choose_columns(get_session(), current_user.user_id, LIST_NAME, request.form.getlist("columns"), device_list.KEYS)
    commit()
    return _back_to_list(clean_query(request.form, device_list.FILTER_KEYS))


FILTER_REFUSALS = {
    "empty_name": lazy_pgettext("saved filter", "Hãy đặt tên cho bộ lọc."),
    "name_too_long": lazy_pgettext("saved filter", "Tên bộ lọc dài quá 100 ký tự."),
    "query_too_long": lazy_pgettext("saved filter", "Bộ lọc quá dài để lưu."),
    "too_many": lazy_pgettext("saved filter", "Đã có quá nhiều bộ lọc; hãy xóa bớt trước khi lưu thêm."),
}


@bp.route("/<int:device_id>")
@role_required(*EVERYONE)
def detail(device_id: int):
    db = get_session()
    device = queries.device_detail(db, device_id)
    if device is None:
        abort(404)
    snapshots = config_snapshots(db, device_id)  # newest first
    ids = [s["id"] for s in snapshots]
    new_id = int_arg(request.args, "new", ids[0] if ids else 0)
    old_default = next((i for i in ids if i < new_id), 0)
    old_id = int_arg(request.args, "old", old_default)
    new_snap = queries.config_snapshot(db, device_id, new_id) if ids else None
    old_snap = queries.config_snapshot(db, device_id, old_id) if ids else None
    diff = ""
    if new_snap and old_snap and old_snap["id"] != new_snap["id"]:
        diff = masked_diff(
            old_snap["text"], new_snap["text"],
            f"#{old_snap['id']} {old_snap['taken_at']:%Y-%m-%d %H:%M}", f"#{new_snap['id']} {new_snap['taken_at']:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    findings, _ = list_findings(db, FindingFilter(device_id=device_id), per_page=None)
    return render_template(
        "devices/detail.html",
        device=device,
        interfaces=queries.device_interfaces(db, device_id),
        facts=fact_rows(queries.latest_observations(db, device_id)),
        history=fact_rows(queries.observation_history(db, device_id, limit=100), known_first=False),
        snapshots=snapshots,
        new_snap=new_snap,
        old_snap=old_snap,
        config_text=mask_config(new_snap["text"]) if new_snap else "",
        diff=diff,
        findings=findings,
        titles=queries.rule_titles(),
        compliance=None if device["status"] == "disposed" else compliance_of(db, [device_id])[device_id],
        verdicts=None if device["status"] == "disposed" else queries.device_rule_verdicts(db, device_id),
        can_edit=may(*DEVICE_EDITORS),
    )


# ------------------------------------------------------------------------------ edit


def _device_or_404(db, device_id: int) -> dict:
    device = queries.device_detail(db, device_id)
    if device is None:
        abort(404)
    return device


def _edit_page(device: dict, form: DeviceForm, status: int = 200, conflict: list[dict] | None = None):
    return render_template("devices/edit.html", device=device, form=form, conflict=conflict), status


def _shown(key: str, value) -> str:
    """A form value as the conflict table shows it."""
    if value in (None, ""):
        return ""
    return str(label(value)) if key in ("device_class", "status", "zone") else str(value)


@bp.route("/<int:device_id>/edit", methods=["GET", "POST"])
@role_required(*DEVICE_EDITORS)
def edit(device_id: int):
    db = get_session()
    device = _device_or_404(db, device_id)
    stored, version = form_values(db, device_id)
    sites = cached("site_codes", lambda: queries.site_codes(db))
    if request.method == "GET":
        return _edit_page(device, DeviceForm.from_stored(stored, version, sites=sites))
    form = DeviceForm(sites=sites, stored_platform=stored.get("platform"))  # CSRFProtect checked the token already
    if not form.validate():
        return _edit_page(device, form, 400)
    typed = form.device_values()
    try:
        changes = update_device(db, device_id, typed, form.version.data or "", actor=current_user.username)
    except EditConflict:
        db.rollback()
        stored, version = form_values(db, device_id)
        # Nothing written: the form now holds the values as they stand, and the table beside it
        # what the user typed where that differs, to carry over by hand.
        differing = [
            {"label": DEVICE_FIELD_LABELS[key], "typed": _shown(key, typed.get(key)), "current": _shown(key, stored.get(key))}
            for key in DEVICE_FIELD_LABELS
            if _shown(key, typed.get(key)) != _shown(key, stored.get(key))
        ]
        flash(_("Thiết bị vừa được người khác sửa sau khi bạn mở biểu mẫu; chưa lưu gì. Biểu mẫu nay hiện giá trị hiện tại: hãy xem lại rồi lưu lại."), "error")
        return _edit_page(_device_or_404(db, device_id), DeviceForm.from_stored(stored, version, sites=sites), 409, conflict=differing)
    except InvalidValues as exc:
        db.rollback()
        form.add_device_errors(exc.errors)
        return _edit_page(device, form, 400)
    commit()
    if changes:
        flash(_("Đã lưu %(n)d thay đổi.", n=len(changes)), "info")
    else:
        flash(_("Không có gì thay đổi."), "info")
    for outcome in committed_outcomes(db):
        tell_evaluation(outcome)
    return redirect(url_for("devices.detail", device_id=device_id))


# ------------------------------------------------------------------------------ history


# What a history entry did, in words (audit actions written for devices; "observed" for what a
# collector or an import saw). Another action is shown as stored.
HISTORY_ACTIONS = {
    "update": lazy_pgettext("history action", "Sửa"),
    "create": lazy_pgettext("history action", "Tạo mới"),
    "delete": lazy_pgettext("history action", "Xóa"),
    "adopt": lazy_pgettext("history action", "Tiếp nhận"),
    "observed": lazy_pgettext("history action", "Thu thập"),
}


def _value_text(key: str, value, names: dict[str, dict]) -> str:
    """A history value in words: codes by their label, site and zone ids by what they name."""
    if value is None or value == "":
        return ""
    if key == "site_id":
        return names["sites"].get(value, f"#{value}")
    if key == "zone_id":  # a zone is one site's: named with its site, or a move shows "Internet -> Internet"
        site_id, kind = names["zones"].get(value, (None, None))
        return f"{label(kind)} ({names['sites'].get(site_id, '?')})" if kind else f"#{value}"
    if key in ("device_class", "status", "source"):
        return str(label(value))
    if key in DEVICE_FIELD_LABELS or key in COLUMN_INPUT_KEYS:
        return str(value)
    return readable(key, str(value))  # an observed fact


def _key_title(key: str) -> str:
    key_in_form = COLUMN_INPUT_KEYS.get(key, key)
    if key_in_form in DEVICE_FIELD_LABELS:
        return str(DEVICE_FIELD_LABELS[key_in_form])
    return str(FACT_LABELS.get(key, key))


@bp.route("/<int:device_id>/history")
@role_required(*EVERYONE)
def history(device_id: int):
    db = get_session()
    device = _device_or_404(db, device_id)
    entries = device_history(db, device_id)
    sites, zones = place_names(db)
    names = {"sites": sites, "zones": zones}
    rows = [
        {
            "at": entry.at,
            "kind": entry.kind,
            "who": entry.who if entry.kind == "audit" else label(entry.who),
            "action": str(HISTORY_ACTIONS.get(entry.action, entry.action)),
            "changes": [{"key": c.key, "title": _key_title(c.key), "before": _value_text(c.key, c.before, names), "after": _value_text(c.key, c.after, names)} for c in entry.changes],
        }
        for entry in entries
    ]
    return render_template("devices/history.html", device=device, rows=rows, can_edit=may(*DEVICE_EDITORS))


# ------------------------------------------------------------------------------ bulk edit


def _bulk_targets(db) -> tuple[str, list[int]]:
    """The devices a bulk edit is for, from the query string: `scope=selected` with the ticked
    `ids`, or `scope=filter` with the list's filter (every device it matches, not one page)."""
    scope = request.args.get("scope")
    if scope == "filter":
        return scope, matching_device_ids(db, device_query(_filter(), db, today=date.today(), end_of_life=end_of_life_condition))
    if scope == "selected":
        wanted = {int(i) for i in request.args.getlist("ids") if i.isascii() and i.isdigit() and len(i) <= 18}  # an id, not a number that overflows
        return scope, existing_device_ids(db, wanted)
    return "selected", []


def _list_args() -> dict[str, str]:
    """The list's filter the bulk edit came from (both scopes carry it): where it returns to."""
    return {k: v for k, v in request.args.items() if k not in ("scope", "ids")}


def _bulk_page(form: BulkEditForm, ids: list[int], scope: str, *, step: str, status: int = 200, refused: list[dict] | None = None):
    back = url_for("devices.index", **_list_args())
    page = render_template("devices/bulk.html", form=form, count=len(ids), scope=scope, step=step, too_many=len(ids) > MAX_BULK, max_bulk=MAX_BULK, refused=refused or [], back=back, num=number)
    return page, status


@bp.route("/bulk", methods=["GET", "POST"])
@role_required(*DEVICE_EDITORS)
def bulk_edit():
    db = get_session()
    scope, ids = _bulk_targets(db)
    sites = cached("site_codes", lambda: queries.site_codes(db))
    if request.method == "GET":
        return _bulk_page(BulkEditForm(formdata=None, sites=sites), ids, scope, step="choose")
    form = BulkEditForm(sites=sites)  # CSRFProtect checked the token already
    if not form.validate() or not ids or len(ids) > MAX_BULK:
        return _bulk_page(form, ids, scope, step="choose", status=400)
    if not form.bulk_values():
        flash(_("Hãy chọn ít nhất một thông tin cần sửa."), "error")
        return _bulk_page(form, ids, scope, step="choose", status=400)
    if form.confirm.data != "1" or form.expected.data != str(len(ids)):
        moved = form.confirm.data == "1"  # confirmed for another count: the list changed meanwhile
        if moved:
            flash(_("Danh sách thiết bị đã thay đổi từ lúc xác nhận (nay là %(n)d thiết bị); chưa sửa gì, hãy xác nhận lại.", n=len(ids)), "error")
        form.expected.data, form.confirm.data = str(len(ids)), "1"
        return _bulk_page(form, ids, scope, step="confirm", status=409 if moved else 200)
    try:
        result = update_devices(db, ids, form.bulk_values(), actor=current_user.username)
    except BulkInvalid as exc:
        db.rollback()
        refused = [
            {"device_id": device_id, "errors": [f"{DEVICE_FIELD_LABELS.get(e.field, e.field)}: {device_error_text(e.code, e.params)}" for e in errors]}
            for device_id, errors in sorted(exc.errors.items())[:50]
        ]
        flash(_("%(n)d thiết bị không nhận được các giá trị này; chưa sửa thiết bị nào.", n=len(exc.errors)), "error")
        return _bulk_page(form, ids, scope, step="choose", status=400, refused=refused)
    commit()
    flash(_("Đã sửa %(changed)d trong %(n)d thiết bị.", changed=sum(1 for changes in result.values() if changes), n=len(ids)), "info")
    for outcome in committed_outcomes(db):
        tell_evaluation(outcome)
    return redirect(url_for("devices.index", **_list_args()))
