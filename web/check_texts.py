"""Check texts in Vietnamese: what a compliance check expected and found, as findings store it.

The checks (compliance/checks, compliance/engine) write `expected` and `actual` in English, and
findings keep them so (the API and exports give them as stored). The Vietnamese UI shows them
through `check_text`, which recognises a text by its shape, as web.labels.compliance_reason does
for state reasons: one table of (pattern fullmatching the English text, Vietnamese template).

A template names the pattern's groups; how a group is shown depends on its table entry's
`shown` (a decimal number the Vietnamese way, a zone code by its name, a list of parts each
recognised by a smaller table). Anything else a group holds (names, addresses, dates, config
words) is quoted as it is. A text no pattern fits is shown as stored rather than hidden;
tests/web/test_check_texts.py runs every check's branches so that every text they write fits.
Evidence lines (`evidence_text`) are quotes and stay so; only the English words some checks put
around a quote are rendered, by a second table of the same kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from compliance.workbook import vi_date, vi_number
from inventory.choices import LABELS_VI, DeviceClass, DeviceStatus, ZoneKind, values
from web.i18n import current_language


@dataclass(frozen=True)
class CheckText:
    """One shape of English text and its Vietnamese rendering."""

    pattern: re.Pattern[str]
    vi: str  # str.format template over the pattern's named groups
    shown: Mapping[str, Callable[[str], str]] = field(default_factory=dict)  # group -> how it reads


def _t(pattern: str, vi: str, **shown: Callable[[str], str]) -> CheckText:
    return CheckText(re.compile(pattern, re.S), vi, shown)


def _render(table: Sequence[CheckText], text: str) -> str | None:
    for entry in table:
        if match := entry.pattern.fullmatch(text):
            groups = {name: value or "" for name, value in match.groupdict().items()}
            shown = {name: show(groups[name]) for name, show in entry.shown.items() if groups[name]}
            if None in shown.values():
                continue  # a part this entry cannot render: a later entry may
            return entry.vi.format(**(groups | shown))
    return None


# The other tables of English texts by shape (web.notify_texts) build and read theirs the same way.
text_shape = _t
render_text = _render


# -- how groups read ------------------------------------------------------------------------------


def _decimal(text: str) -> str:
    """7.8 -> 7,8 (a size or a count of minutes; versions are never passed here)."""
    whole, _, fraction = text.partition(".")
    return vi_number(float(text), len(fraction)) if whole.lstrip("-").isdigit() else text


def _day(text: str) -> str:
    """2026-12-22 -> 22/12/2026 (the Vietnamese way, as on the rest of the page); else as it is."""
    try:
        return vi_date(date.fromisoformat(text))
    except ValueError:
        return text


def _code(text: str) -> str:
    """A zone, class or status code by its Vietnamese name, in lower case inside a sentence
    ("mạng Internet"); an unknown code as it is."""
    name = LABELS_VI.get(text)
    return name[0].lower() + name[1:] if name else text


def _codes(text: str) -> str:
    return ", ".join(_code(code) for code in text.split(", "))


def _each(table: Sequence[CheckText], separator: str) -> Callable[[str], str]:
    """A list of parts joined by `separator`, each read by `table` (or kept as it is)."""

    def show(text: str) -> str:
        return separator.join(_render(table, part) or part for part in text.split(separator))

    return show


def _every(table: Sequence[CheckText], separator: str) -> Callable[[str], str | None]:
    """A list of parts joined by `separator`, each read by `table`; None unless all are."""

    def show(text: str) -> str | None:
        parts = [_render(table, part) for part in text.split(separator)]
        return None if None in parts else separator.join(parts)  # type: ignore[arg-type]

    return show


def _tpm(version: str) -> str:
    # The device import stores "no TPM" as "0" (inventory.io.columns.TPM_NONE).
    return "không có TPM" if version == "0" else f"TPM phiên bản {version}"


_SECURE_BOOT = {"enabled": "Secure Boot đang bật", "disabled": "Secure Boot đang tắt", "unsupported": "máy không hỗ trợ Secure Boot"}
_SNMP_KINDS = {"group": "nhóm", "user": "người dùng"}

# Parts of the lists some checks join.
_AV_DISABLED = (_t(r"(?P<name>.+) disabled", "{name} đang tắt"),)
_SNMP_PROBLEMS = (
    _t(r"(?P<n>\d+) v1/v2c communit(?:y|ies)", "{n} community v1/v2c"),
    _t(r"(?P<kind>group|user) (?P<name>.+) at (?P<level>\w+)", "{kind} {name} ở mức {level}", kind=_SNMP_KINDS.__getitem__),
)
_SNMP_PRINCIPALS = (_t(r"(?P<kind>group|user) (?P<name>.+)", "{kind} {name}", kind=_SNMP_KINDS.__getitem__),)
_ENABLE_PROBLEMS = (
    _t(r"no enable secret", "không có enable secret"),
    _t(r"enable password set", "có đặt enable password"),
    _t(r"user (?P<name>.+) uses password", "người dùng {name} dùng password thay vì secret"),
    _t(r"user (?P<name>.+) has no password", "người dùng {name} không có mật khẩu"),
)
_ACCESS_ITEMS = (  # net.vty_acl: "name: detail" of one management entry (configparse MgmtAccess)
    # IOS v1/v2c communities: who may ask depends on the ACL the community names
    _t(r"(?P<name>snmp-server community \S+): no ACL", "{name}: không giới hạn nguồn bằng ACL"),
    _t(r"(?P<name>snmp-server community \S+): ACL (?P<acl>\S+), an ACL that is not defined", "{name}: ACL {acl} nhưng ACL này không được định nghĩa"),
    _t(r"(?P<name>snmp-server community \S+): ACL (?P<acl>\S+), which permits any source", "{name}: ACL {acl} nhưng ACL cho phép mọi nguồn"),
    _t(r"(?P<name>snmp-server community \S+): ACL (?P<acl>\S+)", "{name}: có ACL {acl}"),
    _t(r"(?P<name>.+): no access-class", "{name}: không có access-class"),
    _t(r"(?P<name>.+): no ip http access-class", "{name}: không có ip http access-class"),
    _t(r"(?P<name>.+): no trusthost", "{name}: không có trusthost"),
    _t(r"(?P<name>.+): transport input none", "{name}: transport input none (không nhận kết nối từ xa)"),
    # IOS vty lines: the IPv6 access-class, or its absence while IPv6 is on
    _t(r"(?P<name>line .+?): (?P<acl>access-class \S+ in); no ipv6 access-class while IPv6 is on", "{name}: có {acl} nhưng không có ipv6 access-class trong khi IPv6 đang bật"),
    _t(r"(?P<name>line .+?): (?P<acl>access-class \S+ in); (?P<acl6>ipv6 access-class \S+ in), an ACL that is not defined", "{name}: có {acl}; {acl6} nhưng ACL này không được định nghĩa"),
    _t(r"(?P<name>line .+?): (?P<acl>access-class \S+ in); (?P<acl6>ipv6 access-class \S+ in), which permits any source", "{name}: có {acl}; {acl6} nhưng ACL cho phép mọi nguồn"),
    _t(r"(?P<name>line .+?): (?P<acl>access-class \S+ in); (?P<acl6>ipv6 access-class \S+ in)", "{name}: có {acl}; có {acl6}"),
    _t(r"(?P<name>line .+?|ip http): (?P<acl>(?:ip http )?access-class .+?), an ACL that is not defined", "{name}: {acl} nhưng ACL này không được định nghĩa"),
    _t(r"(?P<name>line .+?|ip http): (?P<acl>(?:ip http )?access-class .+?), which permits any source", "{name}: {acl} nhưng ACL cho phép mọi nguồn"),
    _t(r"(?P<name>line .+?|ip http): (?P<acl>(?:ip http )?access-class .+)", "{name}: có {acl}"),
    _t(r"(?P<name>admin .+?): any address \((?P<keys>[a-z0-9, -]+)\)", "{name}: cho phép mọi địa chỉ ({keys})"),
    _t(r"(?P<name>admin .+?): (?P<hosts>.+)", "{name}: chỉ cho phép từ {hosts}"),
    # PAN-OS: the MGT port's permitted-ip, and interface management profiles
    _t(r"(?P<name>.+?): permitted-ip (?P<hosts>.+)", "{name}: chỉ cho phép từ permitted-ip {hosts}"),
    _t(r"(?P<name>.+?): no permitted-ip", "{name}: không có permitted-ip"),
    _t(r"(?P<name>.+?): (?P<services>[a-z0-9/-]+) without permitted-ip", "{name}: mở {services} mà không có permitted-ip"),
    _t(r"(?P<name>.+?): (?P<services>[a-z0-9/-]+) from permitted-ip (?P<hosts>.+)", "{name}: mở {services} chỉ từ permitted-ip {hosts}"),
    _t(r"(?P<name>.+? \(profile .+?\)): no (?P<services>[a-z0-9/-]+)", "{name}: không mở {services}"),
    # Huawei VRP: user-interface ACLs, server ACLs, service-manage on interfaces
    _t(r"(?P<name>.+?): no `(?P<statement>[^`]+)`", "{name}: không có `{statement}`"),
    _t(r"(?P<name>.+?): (?P<acl>acl \S+ inbound|ssh server acl \S+|http acl \S+|snmp-agent acl \S+)", "{name}: có {acl}"),
    _t(r"(?P<name>.+?): (?P<service>\S+) permitted on a zone interface without source restriction", "{name}: cho phép {service} trên giao diện thuộc vùng mà không giới hạn nguồn"),
    _t(r"(?P<name>.+?): (?P<service>\S+) permitted on the management interface \(no zone\)", "{name}: cho phép {service} trên giao diện quản trị (không thuộc vùng nào)"),
    # Junos: the loopback's input filter guards the routing engine's services
    _t(r"(?P<name>.+?): accepted only by term\(s\) (?P<terms>.+?), then the implicit discard", "{name}: chỉ được nhận bởi term {terms}, sau đó bị loại bỏ ngầm định"),
    _t(r"(?P<name>.+?): not accepted by the lo0 filter \(implicit discard\)", "{name}: bộ lọc lo0 không nhận (loại bỏ ngầm định)"),
    _t(r"(?P<name>.+?): accepted only by term\(s\) (?P<terms>.+?), then discard", "{name}: chỉ được nhận bởi term {terms}, sau đó loại bỏ"),
    _t(r"(?P<name>.+?): no input filter on (?P<iface>\S+): any source may connect", "{name}: không có bộ lọc vào trên {iface}: mọi nguồn đều kết nối được"),
    # ArubaOS-Switch: ip authorized-managers guards every way in
    _t(r"(?P<name>ip authorized-managers): none: any address may manage", "{name}: không có: mọi địa chỉ đều quản trị được"),
    _t(r"(?P<name>ip authorized-managers): not in this file", "{name}: không có trong tệp này"),
    _t(r"(?P<name>ip authorized-managers): any address allowed \((?P<hosts>.+)\)", "{name}: cho phép mọi địa chỉ ({hosts})"),
    _t(r"(?P<name>ip authorized-managers): (?P<hosts>.+)", "{name}: chỉ cho phép từ {hosts}"),
)
_TIMEOUT_ITEMS = (  # net.exec_timeout: "session: value[ (default)]"
    _t(r"(?P<name>.+): (?P<minutes>[\d.]+) min(?P<default> \(default\))?", "{name}: {minutes} phút{default}", minutes=_decimal, default=lambda _: " (mặc định)"),
    _t(r"(?P<name>.+): never(?P<default> \(default\))?", "{name}: không bao giờ tự ngắt{default}", default=lambda _: " (mặc định)"),
    _t(r"(?P<name>.+): invalid value(?P<default> \(default\))?", "{name}: giá trị không hợp lệ{default}", default=lambda _: " (mặc định)"),
)
# Why the parser could not read a line or found a statement missing (compliance.configparse's
# Unreadable reasons): the commonest shapes; a reason not known is quoted as it is. Each parser
# says in its own words that a file is only part of a configuration (its _FRAGMENT).
_FRAGMENTS = {
    "no `hostname` and no `line` blocks in this file: not a whole running-config (a fragment)":
        "không có `hostname` và không có khối `line` nào trong tệp: không phải toàn bộ running-config (chỉ là một đoạn)",
    "not a whole configuration (it lacks the `; … Configuration Editor; Created on release` header, `hostname` or `module`)":
        "không phải toàn bộ cấu hình (thiếu phần đầu `; … Configuration Editor; Created on release`, `hostname` hoặc `module`)",
    "no `config system global` in this file: not a whole configuration (a per-VDOM backup or a fragment)":
        "không có `config system global` trong tệp: không phải toàn bộ cấu hình (bản sao lưu của một VDOM, hoặc chỉ là một đoạn)",
    "not a complete configuration (no `!Software Version` header, `user-interface` blocks or `return`)":
        "không phải cấu hình đầy đủ (không có phần đầu `!Software Version`, khối `user-interface` hay `return`)",
    "the file has no `version` statement, so it is not a whole configuration":
        "tệp không có câu lệnh `version` nên không phải toàn bộ cấu hình",
    "this file, which is not a complete configuration (it lacks `set deviceconfig system` or `set mgt-config users`)":
        "tệp này, vốn không phải cấu hình đầy đủ (thiếu `set deviceconfig system` hoặc `set mgt-config users`)",
}  # fmt: skip
_FRAGMENT = "(?P<fragment>" + "|".join(re.escape(text) for text in _FRAGMENTS) + ")"
_FRAGMENT_VI = _FRAGMENTS["no `hostname` and no `line` blocks in this file: not a whole running-config (a fragment)"]
_MISSING_PARTS = {
    "name": "tên", "community": "community", "secret": "secret", "version number": "số phiên bản", "security level": "mức bảo mật",
    "list name": "tên danh sách", "address": "địa chỉ", "ACL and a direction": "ACL và chiều áp dụng",
    "protocol, source and destination": "giao thức, nguồn và đích", "whole number": "số nguyên",
    "known storage form (sha1, sha256, plaintext)": "dạng lưu đã biết (sha1, sha256, plaintext)",
}  # fmt: skip
_OUTSIDE = {  # what a fragment cannot rule out
    "a password kept in clear outside it": "mật khẩu dạng rõ nằm ngoài đoạn này",
    "a secret outside it": "mật khẩu/khóa nằm ngoài đoạn này",
    "SNMP statements outside it": "câu lệnh SNMP nằm ngoài đoạn này",
}
_UNREAD_WHY = (
    _t(r"no `(?P<a>[^`]+)` or `(?P<b>[^`]+)` in this file", "không có `{a}` hay `{b}` trong tệp này"),
    _t(r"no `(?P<what>[^`]+)` statements? in this file", "không có câu lệnh `{what}` trong tệp này"),
    _t(_FRAGMENT, "{fragment}", fragment=_FRAGMENTS.get),
    _t(_FRAGMENT + r", so (?P<outside>.+) cannot be ruled out", "{fragment}, nên không loại trừ được {outside}", fragment=_FRAGMENTS.get, outside=_OUTSIDE.get),
    _t(_FRAGMENT + r", and no (?P<what>.+) in it", "{fragment}, và trong đó không có {what}", fragment=_FRAGMENTS.get),
    _t(_FRAGMENT + r": statements outside this file are not known", "{fragment}: không biết các câu lệnh nằm ngoài tệp này", fragment=_FRAGMENTS.get),
    _t(r"no `(?P<what>[^`]+)`(?: statements?)?(?: in this file)?, which is " + _FRAGMENT, "không có `{what}` trong tệp này; tệp {fragment}", fragment=_FRAGMENTS.get),
    _t(r"no `(?P<what>[^`]+)` statements in " + _FRAGMENT, "không có câu lệnh `{what}` trong {fragment}", fragment=_FRAGMENTS.get),
    _t(r"no `(?P<what>[^`]+)`(?: statements?)?(?P<cls> or class)?, and " + _FRAGMENT, "không có `{what}`{cls}, và {fragment}", fragment=_FRAGMENTS.get, cls=lambda _: " hay class đăng nhập"),
    _t(r"no secret-bearing statement, and " + _FRAGMENT, "không có câu lệnh nào chứa mật khẩu/khóa, và {fragment}", fragment=_FRAGMENTS.get),
    _t(r"no input filter on lo0, and " + _FRAGMENT, "không có bộ lọc vào trên lo0, và {fragment}", fragment=_FRAGMENTS.get),
    _t(r"the lo0 filter's terms are not in this file, and " + _FRAGMENT, "các term của bộ lọc lo0 không có trong tệp này, và {fragment}", fragment=_FRAGMENTS.get),
    _t(r"(?P<what>[\w`-]+(?: [\w`/-]+)*?) without an? (?P<part>.+)", "{what} thiếu {part}", part=_MISSING_PARTS.get),
)

# The parser's reasons continue after "; " with why the absence matters (split apart by _each).
_DEFAULT_WORDS = (
    _t(r"the default depends on the platform and release", "mặc định tùy nền tảng và phiên bản phần mềm"),
    _t(r"the default differs between releases", "mặc định khác nhau giữa các phiên bản phần mềm"),
)


def _why(text: str) -> str:
    return _render(_UNREAD_WHY, text) or text


_UNREAD_LINES = (  # configparse.Unreadable
    _t(r"line (?P<n>\d+) could not be read: (?P<why>.+?)", "dòng {n} không đọc được: {why}", why=_why),
    _t(r"not in the configuration: (?P<why>.+?)", "không có trong cấu hình: {why}", why=_why),
    *_DEFAULT_WORDS,
)

_ZONES = "|".join(values(ZoneKind))
_CLASSES = "|".join(values(DeviceClass))
_STATUSES = "|".join(values(DeviceStatus))

# -- the table ------------------------------------------------------------------------------------

CHECK_TEXTS: tuple[CheckText, ...] = (
    # compliance/checks/device.py: endpoints
    _t(r"not collected", "chưa thu thập"),
    _t(r">= (?P<n>\d+) cores", "≥ {n} nhân"),
    _t(r"(?P<n>\d+) cores", "{n} nhân"),
    _t(r">= (?P<n>\d+) GB", "≥ {n} GB"),
    _t(r"(?P<size>-?\d+(?:\.\d+)?) GB", "{size} GB", size=_decimal),
    _t(r">= (?P<n>\d+) GB SSD|SSD >= (?P<m>\d+) GB", "ổ SSD ≥ {n}{m} GB"),
    _t(r"HDD (?P<size>-?\d+(?:\.\d+)?) GB", "ổ HDD {size} GB", size=_decimal),
    _t(r"disk type \(SSD or HDD\) not reported", "không báo loại ổ (SSD hay HDD)"),
    _t(r"TPM >= (?P<v>\S+) and Secure Boot enabled", "TPM ≥ {v} và bật Secure Boot"),
    _t(
        r"TPM not collected \(no agent reports it; record it in the device import\)",
        "Chưa thu thập TPM (không tác nhân nào báo cáo; hãy nhập trong tệp nhập thiết bị)",
    ),
    _t(r"TPM (?P<v>\S+); Secure Boot not collected", "{v}; chưa thu thập Secure Boot", v=_tpm),
    _t(r"TPM (?P<v>\S+), Secure Boot enabled", "{v}, Secure Boot đang bật", v=_tpm),
    _t(r"TPM (?P<v>\S+)", "{v}", v=_tpm),
    _t(r"Secure Boot (?P<state>disabled|unsupported)", "{state}", state=_SECURE_BOOT.__getitem__),
    _t(r"a supported release", "phiên bản còn được hãng hỗ trợ"),
    _t(r"(?P<release>.*?) ?: end of support unknown", "{release}: chưa rõ ngày hãng ngừng hỗ trợ"),
    _t(r"supported after (?P<day>\S+)", "còn được hãng hỗ trợ sau ngày {day}", day=_day),
    _t(r"(?P<release>.*?) support ends (?P<day>\S+)", "{release}: hãng ngừng hỗ trợ từ ngày {day}", day=_day),
    _t(r"an anti-virus product installed", "có cài phần mềm phòng chống mã độc"),
    _t(r"none among the reported anti-virus products", "không có sản phẩm nào trong số phần mềm phòng chống mã độc được báo cáo"),
    _t(r"none among installed software", "không có sản phẩm nào trong số phần mềm đã cài"),
    _t(r"(?P<found>.+ disabled)", "{found}", found=_each(_AV_DISABLED, ", ")),
    _t(r"signatures at most (?P<n>\d+) days old", "mẫu nhận diện mã độc không cũ quá {n} ngày"),
    _t(r"no running anti-virus reported", "tác nhân không báo phần mềm phòng chống mã độc nào đang chạy"),
    _t(r"(?P<n>-?\d+) days old", "mẫu nhận diện cập nhật cách đây {n} ngày"),
    _t(r"(?P<n>-?\d+) days old \((?P<day>[^)]+)\)", "mẫu nhận diện cập nhật cách đây {n} ngày (ngày {day})", day=_day),
    _t(r"up to date \(as the agent reports; no signature date\)", "đã cập nhật (theo báo cáo của tác nhân; không có ngày của mẫu nhận diện)"),
    _t(r"out of date \(as the agent reports\)", "đã lỗi thời (theo báo cáo của tác nhân)"),
    _t(r"signature date not reported", "không báo ngày của mẫu nhận diện"),
    _t(r"no anti-virus with a known update date", "không có phần mềm phòng chống mã độc nào rõ ngày cập nhật"),
    _t(r"full-disk encryption on", "bật mã hóa toàn bộ ổ đĩa"),
    _t(r"not collected \(SNMP does not report encryption\)", "chưa thu thập (SNMP không báo trạng thái mã hóa)"),
    _t(r"on", "đang bật"),
    _t(r"off", "đang tắt"),
    _t(r"partial", "mã hóa một phần"),
    _t(r"suspended", "tạm ngừng mã hóa"),
    # zones, lifecycle, origin (device.py) and the engine's unrecorded MACs
    _t(r"recorded in exactly one zone", "được ghi nhận ở đúng một vùng mạng"),
    _t(r"no zone recorded", "chưa ghi nhận vùng mạng"),
    _t(r"only in (?P<zone>.+)", "chỉ ở {zone}", zone=_code),
    _t(r"recorded in (?P<zone>.+)", "được ghi nhận ở {zone}", zone=_code),
    _t(r"seen in both zones", "xuất hiện ở cả hai vùng mạng"),
    _t(r"seen in (?P<zones>.+)", "xuất hiện ở {zones}", zones=_codes),
    _t(r"MAC seen in one zone only", "MAC chỉ xuất hiện ở một vùng mạng"),
    _t(r"one zone", "một vùng mạng"),
    _t(r"an unrecorded MAC seen in both zones", "một MAC chưa được ghi nhận xuất hiện ở cả hai vùng mạng"),
    _t(r"no address or no zone subnet", "không có địa chỉ, hoặc vùng mạng chưa khai báo dải địa chỉ"),
    _t(r"address inside (?P<subnets>.+)", "địa chỉ nằm trong {subnets}"),
    _t(r"no purchase date recorded", "chưa ghi nhận ngày mua"),
    _t(r"younger than (?P<n>\d+) years", "chưa quá {n} năm kể từ ngày mua"),
    _t(r"bought (?P<bought>\S+), service life ends (?P<end>\S+)", "mua ngày {bought}, hết niên hạn sử dụng ngày {end}", bought=_day, end=_day),
    _t(r"not broken", "không hư hỏng"),
    _t(rf"(?P<status>{_STATUSES})", "{status}", status=_code),
    _t(r"an allowed country of origin", "xuất xứ thuộc danh sách được phép"),
    _t(r"unknown origin", "chưa rõ xuất xứ"),
    _t(r"Vietnam, ASEAN, Korea, Israel, Mexico, G7 or EU", "Việt Nam, ASEAN, Hàn Quốc, Israel, Mexico, G7 hoặc EU"),
    # compliance/checks/network.py: running-configs
    _t(r"not applicable on (?P<platform>.+)", "không áp dụng cho {platform}"),
    _t(r"telnet disabled on all management access", "tắt Telnet trên mọi đường truy cập quản trị"),
    _t(r"telnet allowed", "Telnet đang bật"),
    _t(r"telnet not allowed", "Telnet tắt"),
    _t(r"SSH version 2 only", "chỉ SSH phiên bản 2"),
    _t(
        r"SSH versions (?P<versions>[\d/]*)(?P<unset> \(version not set: platform default accepts v1\))?",
        "SSH phiên bản {versions}{unset}",
        unset=lambda _: " (chưa đặt phiên bản: mặc định của nền tảng chấp nhận v1)",
    ),
    _t(r"SNMPv3 only, security level (?P<level>\w+) \(authPriv\)", "chỉ SNMPv3, mức bảo mật {level} (authPriv)"),
    _t(r"SNMP not configured", "chưa cấu hình SNMP"),
    _t(r"SNMPv3 (?P<level>\w+): (?P<names>.+)", "SNMPv3 {level}: {names}", names=_each(_SNMP_PRINCIPALS, ", ")),
    _t(
        r"(?P<problems>(?:\d+ v1/v2c communit(?:y|ies)|(?:group|user) .+ at \w+)(?:; (?:group|user) .+ at \w+)*)",
        "{problems}",
        problems=_each(_SNMP_PROBLEMS, "; "),
    ),
    _t(r"no community named (?P<names>.+)", "không có community tên {names}"),
    _t(r"default communities: (?P<names>.+)", "community mặc định: {names}"),
    _t(r"(?P<n>\d+) communities, none default", "{n} community, không có community mặc định"),
    _t(r"no communities", "không có community nào"),
    _t(r"no read-write community", "không có community quyền ghi (RW)"),
    _t(r"read-write communities: (?P<names>.+)", "community quyền ghi (RW): {names}"),
    _t(r">= (?P<n>\d+) NTP servers", "≥ {n} máy chủ NTP"),
    _t(r"FortiGuard NTP \(counted by the policy\)", "NTP của FortiGuard (chính sách cho phép tính)"),
    _t(r"FortiGuard NTP \(not counted by the policy\)", "NTP của FortiGuard (chính sách không tính)"),
    _t(r"(?P<n>\d+) NTP server\(s\)(?P<servers>: .+)?", "{n} máy chủ NTP{servers}"),
    _t(r">= (?P<n>\d+) remote syslog host\(s\)", "≥ {n} máy chủ nhật ký (syslog) từ xa"),
    _t(r"(?P<n>\d+) remote log host\(s\)(?P<hosts>: .+)?", "{n} máy chủ nhật ký từ xa{hosts}"),
    _t(r"every administrator authenticates with a password", "mọi tài khoản quản trị đều xác thực bằng mật khẩu"),
    _t(r"admins without password: (?P<names>.+)", "tài khoản quản trị không có mật khẩu: {names}"),
    _t(r"all admins authenticate", "mọi tài khoản quản trị đều xác thực"),
    _t(r"a login without password authentication", "có đường đăng nhập không xác thực bằng mật khẩu"),
    _t(r"aaa new-model and aaa authentication login on vty", "có aaa new-model và aaa authentication login trên các line vty"),
    _t(r"aaa new-model not enabled", "chưa bật aaa new-model"),
    _t(r"aaa new-model with login authentication on all vty lines", "có aaa new-model, mọi line vty đều có login authentication"),
    _t(
        r"aaa new-model without a defined login list for every vty line",
        "có aaa new-model nhưng không phải line vty nào cũng dùng danh sách đăng nhập (login list) đã khai báo",
    ),
    _t(r"enable secret set, no enable password, users with secret", "đặt enable secret, không dùng enable password, người dùng đặt mật khẩu bằng secret"),
    _t(r"enable secret set, no enable password", "đã đặt enable secret, không có enable password"),
    _t(
        r"(?P<problems>(?:no enable secret|enable password set|user .+ (?:uses|has no) password)(?:; (?:enable password set|user .+ (?:uses|has no) password))*)",
        "{problems}",
        problems=_each(_ENABLE_PROBLEMS, "; "),
    ),
    _t(r"no plaintext secret in the configuration", "không có mật khẩu/khóa dạng rõ trong cấu hình"),
    _t(r"all secrets stored encrypted \(ENC\)", "mọi mật khẩu/khóa đều được lưu mã hóa (ENC)"),
    _t(r"(?P<n>\d+) plaintext secret\(s\)", "{n} mật khẩu/khóa dạng rõ"),
    _t(r"service password-encryption", "có service password-encryption"),
    _t(r"service password-encryption not enabled", "chưa bật service password-encryption"),
    _t(r"HTTP management off", "tắt quản trị qua HTTP"),
    _t(r"HTTP management off, HTTPS management off", "tắt quản trị qua HTTP và HTTPS"),
    _t(r"(?P<what>HTTP|HTTPS|HTTP and HTTPS) management on", "đang bật quản trị qua {what}", what=lambda what: what.replace(" and ", " và ")),
    _t(r"management access restricted by ACL / trusted hosts", "truy cập quản trị được giới hạn bằng ACL / trusthost"),
    _t(r"no management access entries found", "không tìm thấy đường truy cập quản trị nào"),
    _t(r"idle timeout 1-(?P<n>\d+) minutes on every management session", "mọi phiên quản trị tự ngắt sau 1–{n} phút không hoạt động"),
    _t(r"no management sessions found", "không tìm thấy phiên quản trị nào"),
    _t(r"(?P<items>.+?: (?:[\d.]+ min|never|invalid value)(?: \(default\))?(?:; .+?: (?:[\d.]+ min|never|invalid value)(?: \(default\))?)*)", "{items}", items=_each(_TIMEOUT_ITEMS, "; ")),
    _t(r"(?P<items>[^;]+?: .+)", "{items}", items=_every(_ACCESS_ITEMS, "; ")),
    _t(r"filtering policy applied, default deny, no any-any-all accept", "có áp dụng chính sách lọc, chặn mặc định, không có luật accept any-any-all"),
    _t(r"no inbound filtering policy applied", "chưa áp dụng chính sách lọc nào cho lưu lượng vào"),
    _t(r"accept-all rule: (?P<names>.+)", "luật cho phép tất cả: {names}"),
    _t(r"(?P<n>\d+) rule\(s\), none accepts everything; implicit deny last", "{n} luật, không luật nào cho phép tất cả; cuối cùng là chặn ngầm định"),
    # compliance/checks/site.py
    _t(
        rf">= (?P<n>\d+) (?P<cls>{_CLASSES}) in use in each of (?P<zones>.+)",
        "≥ {n} {cls} đang sử dụng ở mỗi vùng: {zones}",
        cls=_code,
        zones=_codes,
    ),
    _t(
        rf"(?P<counts>(?:{_ZONES}): \d+(?:, (?:{_ZONES}): \d+)*)",
        "{counts}",
        counts=_each((_t(rf"(?P<zone>{_ZONES}): (?P<n>\d+)", "{zone}: {n}", zone=lambda zone: LABELS_VI[zone]),), ", "),
    ),
    # compliance/outcome.py and compliance/verdicts.py: a rule not evaluated (the device page's
    # verdicts); the parser's and the exception's own words are quoted as they are.
    _t(r"not evaluated: no configuration collected", "chưa đánh giá: chưa thu thập cấu hình"),
    _t(r"not evaluated: no parser for its platform \((?P<platform>[^()]*)\)", "chưa đánh giá: chưa có bộ phân tích cấu hình cho nền tảng {platform}"),
    _t(r"not evaluated: no parser for its platform", "chưa đánh giá: chưa có bộ phân tích cấu hình cho nền tảng của thiết bị"),
    _t(r"not evaluated: configuration unreadable \((?P<error>.*)\)", "chưa đánh giá: cấu hình không đọc được ({error})"),
    _t(r"not evaluated: (?P<lines>(?:line \d+ could not be read|not in the configuration): .+)", "chưa đánh giá: {lines}", lines=_each(_UNREAD_LINES, "; ")),
    _t(r"check (?P<name>.+) not implemented", "phép kiểm tra {name} chưa được xây dựng"),
    _t(r"check error: (?P<error>.+)", "phép kiểm tra bị lỗi: {error}"),
)

# Evidence lines quote the device (config lines "N: text", SNMP values, an agent's words) and
# stay as they are; only the English words some checks put around the quotes are rendered.
_PLACE_ZONES = {"Party WAN": "mạng diện rộng của Đảng", "Internet network": "mạng Internet"}  # compliance.engine._ZONE_NAMES
_PLACES = (
    _t(r"(?P<place>.+) \((?P<zone>Party WAN|Internet network)\)", "{place} ({zone})", zone=_PLACE_ZONES.__getitem__),
    _t(r"and (?P<n>\d+) more", "và {n} nơi khác"),
)


def _disks(described: str) -> str:
    """device.disk's "desc 476.9 GB SSD, desc 16.0 GB (type not reported)": sizes and words."""
    sized = re.sub(r"\b(\d+\.\d+) GB\b", lambda match: f"{_decimal(match[1])} GB", described)
    return sized.replace("(type not reported)", "(không báo loại)")


_AGENT_SWITCH = {"enabled": "đang bật", "disabled": "đang tắt", "yes": "có", "no": "không", "not reported": "không báo"}

EVIDENCE_TEXTS: tuple[CheckText, ...] = (
    _t(r"hrProcessorTable: (?P<n>\d+) rows", "hrProcessorTable: {n} dòng"),
    _t(r"disks reported: (?P<disks>.+)", "ổ đĩa được báo: {disks}", disks=_disks),
    _t(r"hrStorageFixedDisk sizes \(KB\): (?P<sizes>.+)", "hrStorageFixedDisk, dung lượng (KB): {sizes}"),
    _t(r"TPM (?P<v>\S+)", "{v}", v=_tpm),
    _t(r"Secure Boot (?P<state>enabled|disabled|unsupported)", "{state}", state=_SECURE_BOOT.__getitem__),
    _t(r"agent: (?P<name>.+) \((?P<state>enabled|disabled|not reported)\)", "tác nhân: {name} ({state})", state=_AGENT_SWITCH.__getitem__),
    _t(
        r"agent: (?P<name>.+): signatures (?P<version>.*?) ?of (?P<day>unknown date|\S+), up to date: (?P<fresh>yes|no|not reported)",
        "tác nhân: {name}: mẫu nhận diện {version}{day}, đã cập nhật: {fresh}",
        version=lambda version: version + " ",
        day=lambda day: "không rõ ngày" if day == "unknown date" else f"ngày {day}",
        fresh=_AGENT_SWITCH.__getitem__,
    ),
    _t(r"hrSWInstalledDate of (?P<name>.+): (?P<day>\S+)", "hrSWInstalledDate của {name}: {day}"),
    _t(r"MAC (?P<mac>\S+) seen on the Party WAN and the Internet network", "MAC {mac} xuất hiện ở cả mạng diện rộng của Đảng và mạng Internet"),
    _t(r"MAC (?P<mac>\S+) seen in (?P<zones>.+)", "MAC {mac} xuất hiện ở {zones}", zones=_codes),
    _t(r"MAC (?P<mac>\S+) learnt at (?P<places>.*)", "MAC {mac} được học tại {places}", places=_each(_PLACES, "; ")),
    _t(r"missing in (?P<zone>.+)", "thiếu ở {zone}", zone=_code),
)


def vietnamese(text: str) -> str | None:
    """The Vietnamese rendering of a check's English text, or None when no pattern fits it."""
    return _render(CHECK_TEXTS, text) if text else None


def vietnamese_evidence(line: str) -> str | None:
    """One evidence line with its English words in Vietnamese, or None when it has none known
    (a quote of the device, shown as it is)."""
    return _render(EVIDENCE_TEXTS, line) if line else None


def check_text(text: str | None) -> str:
    """A finding's expected or actual text in the page's language: the stored English text in
    English or when its shape is not known, its Vietnamese rendering otherwise."""
    if not text or current_language() == "en":
        return text or ""
    return vietnamese(text) or text


def evidence_text(text: str | None) -> str:
    """A finding's evidence (one quote a line) in the page's language: the words around the
    quotes in Vietnamese, the quotes as they are."""
    if not text or current_language() == "en":
        return text or ""
    return "\n".join(vietnamese_evidence(line) or line for line in text.split("\n"))
