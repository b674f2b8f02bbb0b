"""Labels of the fixed vocabularies (inventory.choices), marked for translation.

The Vietnamese texts are those of inventory.choices.LABELS_VI and SEVERITY_LABELS_VI (a test keeps
them equal; the literals stay here so the catalog extractor finds them); the
English ones live in the catalog, web/translations/en.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from web.i18n import translations

LABELS = {
    # site kinds
    "provincial_agency": _l("Cơ quan cấp tỉnh"),
    "commune": _l("Xã"),
    "ward": _l("Phường"),
    # zones
    "party_wan": _l("Mạng diện rộng của Đảng"),
    "internet": _l("Mạng Internet"),
    # device classes
    "firewall": _l("Tường lửa"),
    "access_switch": _l("Thiết bị chuyển mạch nhánh"),
    "bml": _l("Thiết bị bảo mật kênh truyền (BML)"),
    "router": _l("Bộ định tuyến"),
    "server": _l("Máy chủ"),
    "desktop": _l("Máy tính để bàn"),
    "laptop": _l("Máy tính xách tay"),
    "tablet": _l("Máy tính bảng"),
    "printer": _l("Máy in"),
    "scanner": _l("Máy quét"),
    "other": _l("Khác"),
    # device statuses
    "in_use": _l("Đang sử dụng"),
    "in_stock": _l("Trong kho"),
    "broken": _l("Hư hỏng"),
    "disposed": _l("Đã thanh lý"),
    # device sources
    "recorded": _l("Ghi nhận"),
    "imported": _l("Nhập từ tệp"),
    "discovered": lazy_pgettext("device source", "Phát hiện"),
}

SEVERITY_LABELS = {
    "critical": _l("Nghiêm trọng"),
    "high": _l("Cao"),
    "medium": _l("Trung bình"),
    "low": _l("Thấp"),
}

FINDING_STATUS_LABELS = {
    "open": _l("Đang mở"),
    "resolved": _l("Đã khắc phục"),
    "waived": _l("Được miễn trừ"),
}

ROLE_LABELS = {
    "admin": _l("Quản trị viên"),
    "security_officer": _l("Cán bộ an ninh mạng"),
    "technician": _l("Kỹ thuật viên"),
    "planner": _l("Cán bộ kế hoạch"),
    "viewer": _l("Người xem"),
}

SCAN_STATUS_LABELS = {
    "running": _l("Đang chạy"),
    "ok": _l("Thành công"),
    "partial": _l("Một phần"),
    "failed": _l("Thất bại"),
    "error": _l("Lỗi"),
    "interrupted": _l("Bị gián đoạn"),  # its process was killed before it could finish the run
}


_TABLES = (LABELS, SEVERITY_LABELS, FINDING_STATUS_LABELS, ROLE_LABELS, SCAN_STATUS_LABELS)
_translated: dict[tuple[object, str], str] = {}  # (catalog, code) -> text: a long list labels each row


def label(code: str | None) -> str:
    if code is None or code == "":
        return ""
    key = (translations(), code)
    text = _translated.get(key)
    if text is None:
        text = next((str(table[code]) for table in _TABLES if code in table), None)
        if text is None:
            return code  # not a fixed vocabulary's code: shown as it is, not kept
        _translated[key] = text
    return text
