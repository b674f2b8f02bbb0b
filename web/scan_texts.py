"""Scan failures in Vietnamese: what happened and what to try.

The collectors and the scan service write their failures in English (collectors.records error
kinds with a message, the service's ServiceError texts, a run's error column), and the database
keeps them so. The Vietnamese UI shows them through `scan_failure`, which recognises a text by its
shape, as web.check_texts does for check values: one table of (pattern fullmatching the English
text, Vietnamese explanation, Vietnamese hint). A text no pattern fits still gets the generic
explanation of its kind (timeout, auth, ...) with the English text kept as the detail;
tests/web/test_scan_texts.py runs the real failure texts through the table so that each has its
own entry.

`phase_text` says how far a running scan has got (sweep, probe, collect) with its counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _

from web.i18n import current_language
from web.procurement import number


@dataclass(frozen=True)
class ScanFailure:
    what: str  # what happened, in the page's language
    hint: str  # what to try ("" when there is nothing to say)
    detail: str  # the stored text, as it is (for whoever reads the logs)

    def text(self) -> str:
        return f"{self.what} {self.hint}".strip()


@dataclass(frozen=True)
class _Entry:
    pattern: re.Pattern[str]
    what: str  # str.format template over the pattern's named groups
    hint: str


def _e(pattern: str, what: str, hint: str) -> _Entry:
    return _Entry(re.compile(pattern, re.S), what, hint)


_SMALLER = "Thử quét một dải nhỏ hơn (ví dụ một /24) hoặc tăng thời gian chờ nmap trên biểu mẫu."
_SNMP_PORT = "Kiểm tra cổng SNMP (mặc định 161; phòng thí nghiệm dùng cổng khác), SNMP đã bật trên thiết bị và tường lửa cho phép."
_SNMP_CREDENTIAL = "Kiểm tra thông tin đăng nhập SNMP (community, hoặc người dùng và khóa SNMPv3) áp dụng cho đơn vị này."
_SSH_CREDENTIAL = "Kiểm tra tên đăng nhập, mật khẩu (và mật khẩu enable) của thông tin đăng nhập SSH."
_SSH_PORT = "Kiểm tra cổng SSH (22 hay cổng khác), SSH đã bật trên thiết bị và tường lửa cho phép."
_SERVER_LOG = "Xem nhật ký máy chủ kiemke và thử lại; nếu lặp lại, báo cho quản trị viên."

# The English shapes, most specific first. Groups are quoted as they are (addresses, names).
FAILURE_TEXTS: tuple[_Entry, ...] = (
    # -- the scan service
    _e(r"unknown site '(?P<site>.*)'", "Không có đơn vị “{site}”.", "Chọn một đơn vị trong danh sách."),
    _e(
        r"(?P<subnet>\S+) is not inside any zone subnet of site (?P<site>\S+); kiemke scans only those",
        "Dải {subnet} không nằm trong dải mạng nào đã khai báo của đơn vị {site}; kiemke chỉ quét các dải đó.",
        "Nhập một dải nằm trong vùng mạng của đơn vị (hoặc để trống để quét cả vùng), hoặc khai báo dải đó cho đơn vị trước.",
    ),
    _e(r"no device credentials are stored.*", "Chưa lưu thông tin đăng nhập thiết bị nào (SNMP/SSH).", "Thêm thông tin đăng nhập (lệnh kiemke credential add) rồi quét lại."),
    _e(r"stored credential cannot be decrypted.*", "Không giải mã được thông tin đăng nhập đã lưu: khóa trên máy chủ không khớp.", "Báo quản trị viên kiểm tra tệp khóa trong KIEMKE_HOME."),
    _e(r"interrupted: the process running it stopped.*", "Lần quét bị dừng giữa chừng vì tiến trình chạy nó đã dừng (máy chủ khởi động lại?).", "Chạy lại lần quét."),
    _e(r"(?P<n>\d+) subnet piece\(s\) not swept: .*", "{n} phần của dải mạng không quét được; kết quả của các phần khác vẫn được ghi nhận.", _SMALLER),
    _e(r"not swept: nmap cannot run", "Không quét phần này: nmap không chạy được.", "Cài nmap trên máy chủ kiemke rồi quét lại."),
    # -- nmap
    _e(r"cannot run nmap: .*", "Không chạy được nmap trên máy chủ.", "Cài nmap (apt install nmap) trên máy chủ kiemke rồi quét lại."),
    _e(r"nmap (?:TCP|UDP) scan did not finish within (?P<seconds>\d+) s", "nmap không quét xong trong {seconds} giây.", _SMALLER),
    _e(r"nmap (?:TCP|UDP) scan: no time left", "Hết thời gian chờ nmap trước khi quét xong.", _SMALLER),
    _e(r"nmap (?:TCP|UDP) scan failed \(exit (?P<code>-?\d+)\): .*", "nmap báo lỗi (mã {code}).", "Kiểm tra nmap trên máy chủ và quyền chạy (root để dò SNMP qua UDP)."),
    _e(r"nmap (?:TCP|UDP) scan: unreadable output .*", "Không đọc được kết quả của nmap.", "Kiểm tra phiên bản nmap trên máy chủ rồi thử lại."),
    # -- the allow-list
    _e(r"(?P<target>\S+) is outside the scanning allow-list", "{target} nằm ngoài các dải mạng được phép quét.", "Chỉ quét được các dải mạng đã khai báo của đơn vị."),
    _e(r"(?P<target>\S+) has (?P<n>\d+) addresses; at most (?P<max>\d+) per scan", "Dải {target} quá lớn để quét một lần.", "Chia thành các dải nhỏ hơn (tối đa /16)."),
    _e(r".* is not (?:an IPv4 address or network.*|a valid IPv4 network.*|a scannable network)", "Địa chỉ hoặc dải mạng không hợp lệ để quét.", "Nhập một dải IPv4 dạng 10.1.2.0/24."),
    # -- SNMP
    _e(
        r"no SNMP answer from (?P<where>\S+) within (?P<seconds>[\d.]+) s.*",
        "{where} không trả lời SNMP trong {seconds} giây.",
        f"{_SNMP_PORT} Community hoặc khóa sai cũng làm thiết bị im lặng: {_SNMP_CREDENTIAL[0].lower()}{_SNMP_CREDENTIAL[1:]}",
    ),
    _e(r"nothing listens for SNMP at (?P<where>\S+) \(port unreachable\)", "Không có dịch vụ SNMP tại {where} (cổng đóng).", _SNMP_PORT),
    _e(
        r"SNMPv3 authentication failed for user '(?P<user>[^']*)' at (?P<where>\S+) .*",
        "{where} từ chối xác thực SNMPv3 của người dùng “{user}”.",
        "Kiểm tra khóa xác thực, khóa mã hóa và giao thức (SHA/AES) của thông tin đăng nhập SNMPv3.",
    ),
    _e(r"SNMP error from (?P<where>\S+): .*", "{where} trả lời SNMP không đúng chuẩn.", "Thử lại; nếu lặp lại, kiểm tra phiên bản SNMP của thiết bị."),
    _e(r"SNMP collection from (?P<where>\S+) failed: .*", "Thu thập SNMP từ {where} bị lỗi.", _SERVER_LOG),
    _e(r"cannot send SNMP to (?P<where>\S+): .*", "Không gửi được gói SNMP tới {where}.", "Kiểm tra đường mạng từ máy chủ kiemke tới dải này."),
    _e(r"SNMP credential '(?P<name>[^']*)'.*", "Thông tin đăng nhập SNMP “{name}” không dùng được.", "Sửa thông tin đăng nhập: phiên bản v2c/v3, community, người dùng và khóa (ít nhất 8 ký tự)."),
    _e(r"SNMP version '(?P<version>[^']*)' is not supported.*", "Phiên bản SNMP “{version}” không được hỗ trợ.", "Dùng SNMP v2c hoặc v3."),
    _e(r"the SNMP collector needs an SNMP credential.*", "Thông tin đăng nhập không phải loại SNMP.", _SERVER_LOG),
    # -- SSH
    _e(
        r"SSH collection from (?P<where>\S+) did not finish within (?P<seconds>[\d.]+) s",
        "Thu thập qua SSH từ {where} không xong trong {seconds} giây.",
        "Tăng thời gian chờ SSH trên biểu mẫu, hoặc thử lại khi thiết bị bớt bận.",
    ),
    _e(r"SSH login refused for user '(?P<user>[^']*)' on (?P<where>\S+)", "{where} từ chối đăng nhập SSH của “{user}”.", _SSH_CREDENTIAL),
    _e(r"SSH connection refused by (?P<where>\S+)", "{where} từ chối kết nối SSH.", _SSH_PORT),
    _e(r"SSH port unreachable on (?P<where>\S+).*", "Không tới được cổng SSH của {where}.", _SSH_PORT),
    _e(
        r"SSH timed out (?P<what>.*) (?P<where>\S+) \(budget (?P<seconds>[\d.]+) s\)",
        "SSH tới {where} hết thời gian chờ ({seconds} giây).",
        "Tăng thời gian chờ SSH trên biểu mẫu hoặc kiểm tra đường mạng tới thiết bị.",
    ),
    _e(r"SSH (?P<phase>.+) with (?P<where>\S+) failed: .*", "Phiên SSH với {where} bị lỗi.", "Kiểm tra loại thiết bị (nền tảng) đã ghi nhận và thử lại."),
    _e(
        r"SSH platform '(?P<platform>[^']*)' of (?P<where>\S+) is not supported.*",
        "Nền tảng SSH “{platform}” của {where} chưa được hỗ trợ.",
        "Sửa nền tảng (hãng, hệ điều hành) của thiết bị trong danh mục.",
    ),
    _e(r"abandoned", "Phiên SSH bị bỏ dở.", "Thử lại."),
    # -- the runner and the reconciler
    _e(r"no answer from (?P<where>\S+) within (?P<seconds>\d+) s", "{where} không trả lời trong {seconds} giây.", f"{_SNMP_PORT}"),
    _e(r"no credential applies to this device", "Không có thông tin đăng nhập nào áp dụng cho thiết bị này.", "Thêm thông tin đăng nhập SNMP/SSH cho đơn vị hoặc vùng mạng này."),
    _e(r"address answered but belongs to no known site", "Địa chỉ có trả lời nhưng không thuộc đơn vị nào.", "Khai báo dải mạng này cho một đơn vị."),
    _e(r"(?P<name>\w+) collector failed: (?P<exc>\w+)", "Bộ thu thập {name} gặp lỗi nội bộ ({exc}).", _SERVER_LOG),
    _e(r"unexpected (?P<exc>\w+)", "Lỗi không mong đợi ({exc}).", _SERVER_LOG),
    _e(r"timeout must be positive", "Thời gian chờ phải lớn hơn 0.", "Nhập thời gian chờ lớn hơn 0 trên biểu mẫu."),
)

# When no shape fits: what the kind alone says.
KIND_TEXTS: dict[str, tuple[str, str]] = {
    "timeout": ("Hết thời gian chờ: thiết bị hoặc nmap không trả lời kịp.", f"{_SMALLER} Với một thiết bị: tăng thời gian chờ SNMP/SSH."),
    "auth": ("Thiết bị từ chối thông tin đăng nhập.", f"{_SNMP_CREDENTIAL} {_SSH_CREDENTIAL}"),
    "unreachable": ("Không tới được thiết bị (không có gì trả lời ở cổng đó).", f"{_SNMP_PORT}"),
    "protocol": ("Thiết bị trả lời không đúng giao thức.", _SERVER_LOG),
    "refused": ("Địa chỉ nằm ngoài các dải mạng được phép quét.", "Chỉ quét được các dải mạng đã khai báo của đơn vị."),
    "config": ("Cấu hình thu thập không dùng được (thông tin đăng nhập hoặc nền tảng thiết bị).", "Sửa thông tin đăng nhập hoặc nền tảng của thiết bị."),
    "skipped": ("Không quét phần này.", "Xem lỗi của phần trước nó."),
}
_UNKNOWN = ("Lần quét gặp lỗi không mong đợi.", _SERVER_LOG)
# "timeout: ...", "ServiceError: ..." (a job's or a run's error) -> the kind (if any) and the text.
_PREFIX = re.compile(r"(?P<prefix>timeout|auth|unreachable|protocol|refused|config|skipped|[A-Z]\w*(?:Error|Timeout|Failed|Refused|Unreachable|Platform)): (?P<rest>.*)", re.S)
_EXCEPTION_KINDS = {"CollectionTimeout": "timeout", "AuthenticationFailed": "auth", "Unreachable": "unreachable", "ProtocolError": "protocol", "TargetRefused": "refused",
                    "ConfigError": "config", "UnsupportedPlatform": "config"}  # fmt: skip


def _split(text: str, kind: str | None) -> tuple[str, str | None]:
    if match := _PREFIX.fullmatch(text):
        prefix = match["prefix"]
        return match["rest"], kind or _EXCEPTION_KINDS.get(prefix, prefix if prefix.islower() else None)
    return text, kind


def vietnamese_failure(text: str, kind: str | None = None) -> ScanFailure | None:
    """The Vietnamese explanation and hint of a failure text whose shape is known, else None."""
    message, _kind = _split(text.strip(), kind)
    for entry in FAILURE_TEXTS:
        if match := entry.pattern.fullmatch(message):
            return ScanFailure(entry.what.format(**{k: v or "" for k, v in match.groupdict().items()}), entry.hint, text)
    return None


def scan_failure(text: str | None, kind: str | None = None) -> ScanFailure:
    """A failure in the page's language: in English the stored text as it is; in Vietnamese its
    rendering, or its kind's generic explanation when the shape is not known."""
    text = (text or "").strip()
    if current_language() == "en":
        return ScanFailure(text or (kind or ""), "", text)
    if known := vietnamese_failure(text, kind):
        return known
    _message, kind = _split(text, kind)
    what, hint = KIND_TEXTS.get(kind or "", _UNKNOWN)
    return ScanFailure(what, hint, text)


# An outcome's error kind in a word (the table's "Lỗi" column).
KIND_WORDS = {"timeout": "hết thời gian chờ", "auth": "sai đăng nhập", "unreachable": "không tới được", "protocol": "lỗi giao thức",
              "refused": "ngoài phạm vi quét", "config": "lỗi cấu hình", "skipped": "bỏ qua"}  # fmt: skip


def kind_word(kind: str | None) -> str:
    """An error kind in the page's language (the code itself in English)."""
    if not kind:
        return ""
    return kind if current_language() == "en" else KIND_WORDS.get(kind, kind)


def _n(value: int | None) -> str:
    return "?" if value is None else number(value)


def phase_text(phase: str | None, counts: dict, done: int, total: int | None) -> str:
    """How far a running scan has got, in the page's language, with its counts."""
    if phase in ("sweep", "probe"):
        where = _("dải %(done)s/%(total)s, %(addresses)s/%(all)s địa chỉ, tìm thấy %(found)s máy",
                  done=_n(counts.get("subnets_done")), total=_n(counts.get("subnets")), addresses=_n(counts.get("addresses_done")),
                  all=_n(counts.get("addresses")), found=_n(counts.get("hosts_found")))  # fmt: skip
        if counts.get("subnets_failed"):
            where += _(", %(n)s phần lỗi", n=_n(counts["subnets_failed"]))
        if phase == "sweep":
            return _("Dò quét địa chỉ (nmap): %(where)s", where=where)
        return _("Dò SNMP qua UDP: %(where)s", where=where)
    if phase == "collect":
        return _("Thu thập thiết bị: %(done)s/%(total)s xong, %(answered)s trả lời, %(silent)s không trả lời",
                 done=_n(done), total=_n(total), answered=_n(counts.get("answered", 0)), silent=_n(counts.get("silent", 0)))  # fmt: skip
    return _("Đang chuẩn bị…")
