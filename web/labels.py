"""Labels of the fixed vocabularies (inventory.choices), marked for translation.

The Vietnamese texts are those of inventory.choices.LABELS_VI and SEVERITY_LABELS_VI (a test keeps
them equal; the literals stay here so the catalog extractor finds them); the
English ones live in the catalog, web/translations/en.
"""

from __future__ import annotations

import re

from flask_babel import gettext, lazy_pgettext, pgettext
from flask_babel import lazy_gettext as _l

from web.i18n import day_text, translations

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

# Who said a fact (an observation's source; inventory.repository.REPORTING_SOURCES). The
# protocols' names read the same in every language: shown as they are, never translated.
SOURCE_LABELS = {
    "agent": _l("Tác nhân (agent)"),
    "import": _l("Nhập từ tệp"),
}
VERBATIM = {"snmp": "SNMP", "ssh": "SSH", "nmap": "nmap"}

# A collected fact's key (an observation: collectors.reconcile, collectors.agents, the device
# import's fact columns) as people read it; a key not listed here is shown as it is.
FACT_LABELS = {
    "host.cpu": "CPU",
    "host.cores": _l("Số nhân CPU"),
    "host.ram_kb": "RAM",
    "host.disks": _l("Ổ đĩa"),
    "host.os_build": _l("Bản dựng hệ điều hành"),
    "host.antivirus": _l("Phần mềm diệt virus"),
    "host.disk_encryption": _l("Mã hóa ổ đĩa"),
    "host.encryption_detail": _l("Chi tiết mã hóa"),
    "host.tpm_version": "TPM",
    "host.secure_boot": "Secure Boot",
    "host.firewall": _l("Tường lửa của máy"),
    "host.software": _l("Phần mềm đã cài"),
    "host.uuid": "UUID",
    "agent.deviceid": _l("Mã máy của tác nhân"),
    "agent.version": _l("Phiên bản tác nhân"),
    "sys_name": _l("Tên hệ thống (sysName)"),
    "sys_descr": _l("Mô tả hệ thống (sysDescr)"),
    "sys_object_id": "sysObjectID",
    "vendor": _l("Hãng"),
    "model": "Model",
    "serial": _l("Số sê-ri"),
    "os_name": _l("Hệ điều hành"),
    "os_version": _l("Phiên bản"),
    "open_ports": _l("Cổng đang mở"),
    "address_taken_by_other_device": _l("Địa chỉ đã bị thiết bị khác dùng"),
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
    "queued": _l("Đang chờ"),  # a job-run discovery waiting for a worker (KIEMKE_JOBS=workers)
}

# A device's compliance state (inventory.repository.COMPLIANCE_STATES): its label, the colour
# its dot takes (the overview's tile classes), and how its share reads ("15% tuân thủ").
COMPLIANCE_LABELS = {
    "compliant": lazy_pgettext("compliance state", "Tuân thủ"),
    "non_compliant": _l("Không tuân thủ"),
    "unknown": _l("Chưa rõ"),
}
COMPLIANCE_COLOURS = {"compliant": "st-ok", "non_compliant": "st-critical", "unknown": "st-empty"}
SHARE_PHRASES = {
    "compliant": _l("%(share)s tuân thủ"),
    "non_compliant": _l("%(share)s không tuân thủ"),
    "unknown": _l("%(share)s chưa rõ"),
}

# What an event tells (inventory.choices.EventKind): the events feed and the overview's block.
EVENT_KIND_LABELS = {
    "new_critical_finding": _l("Phát hiện nghiêm trọng mới"),
    "unrecorded_device": _l("Thiết bị chưa ghi nhận"),
    "device_silent": _l("Thiết bị không phản hồi quá hạn"),
    "waiver_expiring": _l("Miễn trừ sắp hết hạn"),
    "run_failed": _l("Quét hoặc kiểm tra thất bại"),
    "collector_silent": _l("Bộ thu thập im lặng quá hạn"),
    "collector_refused": _l("Dữ liệu của bộ thu thập bị từ chối"),
}

_TABLES = (LABELS, SOURCE_LABELS, SEVERITY_LABELS, FINDING_STATUS_LABELS, ROLE_LABELS, SCAN_STATUS_LABELS, COMPLIANCE_LABELS, EVENT_KIND_LABELS)
_translated: dict[tuple[object, str], str] = {}  # (catalog, code) -> text: a long list labels each row


def label(code: str | None) -> str:
    if code is None or code == "":
        return ""
    key = (translations(), code)
    text = _translated.get(key)
    if text is None:
        text = next((str(table[code]) for table in _TABLES if code in table), None)
        if text is None:
            return VERBATIM.get(code, code)  # not a fixed vocabulary's code: shown as it is, not kept
        _translated[key] = text
    return text


# Why a device is not compliant or not known to be: compliance.state stores English sentences
# (and "never evaluated" when it has no row); they are translated here by their shape. One not
# recognised is shown as stored rather than hidden.
_WHY_NOT_EVALUATED = {
    "no configuration collected": _l("chưa thu thập cấu hình"),
    "host facts not collected": _l("chưa thu thập thông tin phần cứng, phần mềm của máy"),
    "the host facts it reads were not reported": _l("máy chưa báo thông tin mà quy tắc cần đọc"),
    "its check failed": _l("phép kiểm tra bị lỗi"),
    "configuration lines it reads were not understood": _l("có dòng cấu hình mà quy tắc đọc không phân tích được"),
}
_FIXED_REASONS = {
    "not collected": _l("Chưa thu thập được dữ liệu"),
    "never reached": _l("Chưa từng kết nối được"),
    "no parser for its platform": _l("Chưa có bộ phân tích cấu hình cho nền tảng của thiết bị"),
    "never evaluated": _l("Chưa được đánh giá"),
}
_STALE_COLLECTED = re.compile(r"stale: last collected (\S+), older than (\d+) days")
_STALE_CONFIG = re.compile(r"stale: configuration from (\S+), older than (\d+) days")
_UNREADABLE = re.compile(r"configuration unreadable \((.*)\)", re.S)


def compliance_reason(reason: str) -> str:
    """One stored reason in the page's language."""
    if reason in _FIXED_REASONS:
        return str(_FIXED_REASONS[reason])
    if reason.startswith("failed: "):
        return str(gettext("Không đạt quy tắc %(rule)s", rule=reason.removeprefix("failed: ")))
    if match := _STALE_COLLECTED.fullmatch(reason):
        return str(gettext("Dữ liệu cũ: thu thập lần cuối ngày %(day)s, quá %(days)s ngày", day=day_text(match[1]), days=match[2]))
    if match := _STALE_CONFIG.fullmatch(reason):
        return str(gettext("Cấu hình cũ: lấy ngày %(day)s, quá %(days)s ngày", day=day_text(match[1]), days=match[2]))
    if reason.startswith("not evaluated: "):
        rules, sep, why = reason.removeprefix("not evaluated: ").partition(": ")  # rule ids hold no ": "
        if sep:
            if why in _WHY_NOT_EVALUATED:
                why_text = str(_WHY_NOT_EVALUATED[why])
            elif match := _UNREADABLE.fullmatch(why):
                why_text = str(gettext("cấu hình không đọc được (%(error)s)", error=match[1]))
            else:
                why_text = why
            return str(gettext("Chưa đánh giá %(rules)s: %(why)s", rules=rules, why=why_text))
    return reason


# A run's kind (scan_run.kind: collectors.service, collectors.agents, compliance.evaluation).
RUN_KIND_LABELS = {
    "poll": _l("Thu thập"),
    "discover": _l("Dò tìm"),
    "scan": _l("Quét"),
    "import-scan": _l("Nhập kết quả quét"),
    "import-agent": _l("Nhập báo cáo tác nhân"),
    "evaluate": _l("Kiểm tra tuân thủ"),
    "collector-poll": _l("Thu thập (bộ thu thập)"),
    "collector-discover": _l("Dò tìm (bộ thu thập)"),
}


def run_kind(code: str | None) -> str:
    """A scan run's kind in words; an unknown kind as it is."""
    return str(RUN_KIND_LABELS[code]) if code in RUN_KIND_LABELS else (code or "")


def who_ran(actor: str | None) -> str:
    """Who started a run or made a change, as stored ("web:<user>#<job>", "scheduler",
    "scheduler:daily", "cli:<os user>", "agent:<account>", "system", a username) in words."""
    if not actor:
        return ""
    origin, sep, rest = actor.partition(":")
    if origin == "scheduler":
        return gettext("Lịch tự động")
    if origin == "system":
        return gettext("Hệ thống")
    if origin == "cli":
        return str(gettext("Dòng lệnh (%(user)s)", user=rest)) if rest else gettext("Dòng lệnh")
    if origin == "web" and sep:
        return str(gettext("%(user)s (giao diện web)", user=rest.partition("#")[0]))
    if origin == "agent" and sep:
        return str(gettext("Tác nhân %(account)s", account=rest))
    if origin == "collector" and sep:
        return str(gettext("Bộ thu thập %(name)s", name=rest))
    if actor == "kiemke demo":
        return gettext("Dữ liệu mẫu")
    return actor  # a username


# A network interface's administrative or operational state (interface.admin_up / oper_up).
def link_state(up: bool | None, admin: bool = False) -> str:
    """Enabled/disabled by the administrator, or up/down on the wire."""
    if up is None:
        return ""
    if admin:
        return pgettext("link state", "Bật") if up else pgettext("link state", "Tắt")
    return pgettext("link state", "Hoạt động") if up else pgettext("link state", "Ngừng")


# A changed record's fields as the audit log shows them (inventory.audit.snapshot: a row's
# columns; some writers log a summary instead). A field not listed is shown by its name.
AUDIT_FIELD_LABELS = {
    "id": "#",
    "hostname": _l("Tên máy"),
    "device_class": _l("Loại thiết bị"),
    "site_id": _l("Đơn vị"),
    "zone_id": _l("Vùng mạng"),
    "party_wan_subnets": _l("Dải mạng diện rộng của Đảng"),  # a site's subnets (inventory/site_edit.update_subnets)
    "internet_subnets": _l("Dải mạng Internet"),
    "mgmt_ip": _l("IP quản trị"),
    "vendor": _l("Hãng"),
    "model": "Model",
    "serial": _l("Số sê-ri"),
    "os_name": _l("Hệ điều hành"),
    "os_version": _l("Phiên bản hệ điều hành"),
    "country_of_origin": _l("Xuất xứ"),
    "purchase_date": _l("Ngày mua"),
    "status": _l("Trạng thái"),
    "assigned_user": _l("Người sử dụng"),
    "source": _l("Nguồn"),
    "platform": _l("Nền tảng quản trị"),
    "reachable": _l("Kết nối được"),
    "first_seen": _l("Thấy lần đầu"),
    "last_seen": _l("Thấy lần cuối"),
    "last_polled": _l("Thu thập lần cuối"),
    "notes": _l("Ghi chú"),
    "created_at": _l("Tạo lúc"),
    "updated_at": _l("Cập nhật lúc"),
    "province_id": _l("Tỉnh"),
    "code": _l("Mã"),
    "name": _l("Tên"),
    "kind": _l("Loại"),
    "poll_interval_minutes": _l("Chu kỳ thu thập (phút)"),
    "username": _l("Tên đăng nhập"),
    "full_name": _l("Họ và tên"),
    "role": _l("Vai trò"),
    "active": _l("Đang hoạt động"),
    "must_change_password": _l("Phải đổi mật khẩu"),
    "last_login": _l("Đăng nhập lần cuối"),
    "address": _l("Địa chỉ"),
    "severity": _l("Mức độ"),
    "rule_id": _l("Quy tắc"),
    "waiver_reason": _l("Lý do miễn trừ"),
    "waiver_expires": _l("Hết hạn ngày"),
    "waived_by": _l("Người miễn trừ"),
    "reason": _l("Lý do"),
    "count": _l("Số lượng"),
    "created": _l("Thêm mới"),
    "updated": _l("Cập nhật"),
    "unchanged": _l("Không đổi"),
    "failed": _l("Lỗi"),
    "devices": _l("Thiết bị"),
    "sites": _l("Đơn vị"),
    "account": _l("Tài khoản"),
    "enabled": _l("Đang bật"),
    "replaced": _l("Thay mã cũ"),
    "year": _l("Năm"),
    "quantity": _l("Số lượng"),
}


def audit_fields(values: dict | None) -> list[tuple[str, str]]:
    """An audit entry's before or after as (label, value) rows: field names by their labels,
    codes by theirs, yes/no in words; anything else as stored."""
    import json

    rows = []
    for key, value in (values or {}).items():
        name = str(AUDIT_FIELD_LABELS.get(key, key))
        if isinstance(value, bool):
            shown = gettext("có") if value else gettext("không")
        elif value is None or value == "":
            shown = "—"
        elif isinstance(value, str):
            shown = label(value) if key in _CODED_FIELDS else value
        elif isinstance(value, list | dict):
            shown = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        else:
            shown = str(value)
        rows.append((name, shown))
    return rows


_CODED_FIELDS = {"device_class", "status", "source", "role", "kind", "severity"}


# How one device fared in a scan (scan_outcome.status) and the kind of its failure
# (collectors.records error kinds), as the run page shows them.
OUTCOME_LABELS = {
    "ok": _l("Thành công"),
    "failed": _l("Thất bại"),
    "skipped": _l("Bỏ qua"),
    "timeout": _l("Hết thời gian chờ"),
    "auth": _l("Sai thông tin đăng nhập"),
    "unreachable": _l("Không tới được"),
    "protocol": _l("Lỗi giao thức"),
    "refused": _l("Ngoài dải được phép"),
    "config": _l("Lỗi cấu hình thu thập"),
}


def outcome_word(code: str | None) -> str:
    """A scan outcome's status or error kind in words; an unknown code as it is."""
    return str(OUTCOME_LABELS[code]) if code in OUTCOME_LABELS else (code or "")
