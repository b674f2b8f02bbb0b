"""The audit log: who changed what (admin and security officer), sortable, and exported as CSV or
XLSX by those who may read it."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from inventory.io.table_export import ExportColumn
from web import queries
from web.access import SECURITY_OFFICER, role_required
from web.database import get_session
from web.labels import audit_fields, label, who_ran
from web.list_export import check_format, export_response
from web.list_queries import AUDIT_SORTS, Sorting, all_audit_entries, audit_page
from web.paging import Page

bp = Blueprint("audit", __name__, url_prefix="/audit")

# What an audit entry did and to what, in words (the codes inventory.audit.record is given
# across kiemke); a code not listed is shown as it is.
ACTION_WORDS = {
    "create": _l("Tạo mới"),
    "update": _l("Sửa"),
    "delete": _l("Xóa"),
    "import": _l("Nhập dữ liệu"),
    "adopt": _l("Tiếp nhận thiết bị"),
    "activate": _l("Kích hoạt"),
    "deactivate": _l("Vô hiệu hóa"),
    "login": _l("Đăng nhập"),
    "login_failed": _l("Đăng nhập thất bại"),
    "password_change": _l("Đổi mật khẩu"),
    "password_reset": _l("Đặt lại mật khẩu"),
    "api_token_issue": _l("Cấp mã API"),
    "api_token_revoke": _l("Thu hồi mã API"),
    "waive": _l("Miễn trừ"),
    "revoke_waiver": _l("Thu hồi miễn trừ"),
    "extend_waiver": _l("Gia hạn miễn trừ"),
    "check": _l("Kiểm tra tuân thủ"),
    "recheck": _l("Kiểm tra lại"),
    "refuse": _l("Từ chối"),
    "test": _l("Thử gửi"),
    "demo-data": _l("Tạo dữ liệu mẫu"),
}
ENTITY_WORDS = {
    "device": _l("Thiết bị"),
    "site": _l("Đơn vị"),
    "user": _l("Người dùng"),
    "finding": _l("Phát hiện"),
    "findings": _l("Phát hiện"),
    "fleet": _l("Toàn bộ thiết bị"),
    "credential": _l("Thông tin đăng nhập thiết bị"),
    "approved_quantity": _l("Số lượng được duyệt"),
    "notification_channel": _l("Kênh thông báo"),
    "agent_account": _l("Tài khoản tác nhân"),
    "agent_inventory": _l("Báo cáo của tác nhân"),
    "province": _l("Tỉnh"),
    "report_letterhead": _l("Tiêu đề báo cáo"),
}


def action_word(code: str | None) -> str:
    return str(ACTION_WORDS[code]) if code in ACTION_WORDS else label(code)


def entity_word(code: str | None) -> str:
    return str(ENTITY_WORDS[code]) if code in ENTITY_WORDS else label(code)


# The sortable columns in words (the header links).
SORT_TITLES = {"at": _l("Lúc"), "actor": _l("Người thực hiện"), "action": _l("Hành động"), "entity": _l("Đối tượng")}


def _filter() -> queries.AuditFilter:
    return queries.AuditFilter(actor=request.args.get("actor") or None, action=request.args.get("action") or None, entity=request.args.get("entity") or None)


def _sorting() -> Sorting:
    return Sorting.from_args(request.args, AUDIT_SORTS, "at", default_descending=True)  # newest first


@bp.route("/")
@role_required(SECURITY_OFFICER)
def index():
    db = get_session()
    flt, sorting = _filter(), _sorting()
    page = Page.from_args(request.args)
    rows, total = audit_page(db, flt, sorting, page=page.number, per_page=page.per_page)
    return render_template(
        "audit.html",
        rows=rows,
        page=page.with_total(total),
        flt=flt,
        vocabulary=queries.audit_vocabulary(db),
        sorting=sorting,
        sort_titles=SORT_TITLES,
        action_word=action_word,
        entity_word=entity_word,
    )


def _fields(value) -> str | None:
    """A change's fields for the workbook: one "label: value" a line (labels, not column names)."""
    return "\n".join(f"{name}: {shown}" for name, shown in audit_fields(value)) if value else None


def export_columns() -> list[ExportColumn]:
    return [
        ExportColumn("#", lambda e: e["id"], "int"),
        ExportColumn(_("Lúc"), lambda e: e["at"], "datetime"),
        ExportColumn(_("Người thực hiện"), lambda e: who_ran(e["actor"])),
        ExportColumn(_("Hành động"), lambda e: action_word(e["action"])),
        ExportColumn(_("Đối tượng"), lambda e: entity_word(e["entity"])),
        ExportColumn(_("Mã đối tượng"), lambda e: e["entity_id"]),
        ExportColumn(_("Trước"), lambda e: _fields(e["before"]), width=50),
        ExportColumn(_("Sau"), lambda e: _fields(e["after"]), width=50),
    ]


@bp.route("/export.<fmt>")
@role_required(SECURITY_OFFICER)
def export(fmt: str):
    """The filtered log in the list's order: for the same readers as the page."""
    check_format(fmt)
    rows = all_audit_entries(get_session(), _filter(), _sorting())
    return export_response(export_columns(), rows, fmt, name="nhat-ky", title=_("Nhật ký thay đổi"))
