"""The columns of each importable kind: key, Vietnamese header, English header, parser.

Files may use either header language; exports and templates use the Vietnamese headers.
A parser turns the cell text into a value or raises ValueError with the reason a user reads.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from inventory.choices import LABELS_VI, DeviceClass, DeviceStatus, SiteKind, ZoneKind
from inventory.identity import normalize_mac, normalize_serial
from inventory.text import clean_text

SHOWN_LENGTH = 80  # how much of a rejected value a message repeats
MAX_INT = 2_147_483_647  # the database's integer columns are 32-bit


def shown(value: str) -> str:
    """The value as a message quotes it: repr, cut to SHOWN_LENGTH characters of the value plus "…"."""
    if len(value) > SHOWN_LENGTH:
        return repr(value[:SHOWN_LENGTH]) + "…"
    return repr(value)


# A template's drop-down entry is "code — label" (inventory.io.template); a cell holding one is
# read as its code, so that what the list offers is what the importer takes.
ENTRY_SEPARATOR = " — "


def entry(code: str, label: str) -> str:
    return f"{code}{ENTRY_SEPARATOR}{label}" if label else code


def entry_code(value: str) -> str:
    """The code of a drop-down entry ("laptop — Máy tính xách tay" -> "laptop"); other text as it is."""
    code, separator, _ = value.partition(ENTRY_SEPARATOR)
    return code.strip() if separator else value


@dataclass(frozen=True)
class Column:
    key: str
    header_vi: str
    header_en: str
    parse: Callable[[str], Any]
    required: bool = False
    example: str = ""  # shown on the template's instructions sheet, never as a data row
    meaning: str = ""  # what the column holds, in Vietnamese (the template's instructions sheet)
    # The template's drop-down list: its entries, or the name of a list it reads when written
    # ("sites": the recorded sites, "countries": ISO codes with their Vietnamese names).
    choices: tuple[str, ...] | str = ()


def text(max_length: int) -> Callable[[str], str | None]:
    def parse(value: str) -> str | None:
        if len(value) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        return clean_text(value) or None  # control characters (escape sequences) become U+FFFD

    return parse


def choice(enum: type[StrEnum]) -> Callable[[str], str | None]:
    """Accept the code ("laptop") or its Vietnamese label ("Máy tính xách tay"), any case."""
    lookup = {member.value.lower(): member.value for member in enum}
    lookup.update({LABELS_VI[m.value].lower(): m.value for m in enum if m.value in LABELS_VI})
    lookup.update({entry(m.value, LABELS_VI[m.value]).lower(): m.value for m in enum if m.value in LABELS_VI})
    allowed = ", ".join(member.value for member in enum)

    def parse(value: str) -> str | None:
        if not value:
            return None
        try:
            return lookup[value.strip().lower()]
        except KeyError:
            raise ValueError(f"unknown value {shown(value)}; allowed: {allowed}") from None

    return parse


def non_negative_int(value: str) -> int | None:
    if not value:
        return None
    # ASCII digits only: int() would also take "1_000", other scripts' digits and thousands of digits.
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        raise ValueError(f"not a whole number: {shown(value)}")
    if value.startswith("-") and value.strip("-0"):
        raise ValueError(f"must not be negative: {shown(value)}")
    if len(value.lstrip("+0")) > len(str(MAX_INT)) or int(value) > MAX_INT:
        raise ValueError(f"too large: {shown(value)}; at most {MAX_INT}")
    return int(value)


def day(value: str) -> date | None:
    """ISO (2024-03-01) or Vietnamese day-first (01/03/2024) dates."""
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%dT%H:%M:%S"):
        try:
            parsed = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if parsed > date.today():
            raise ValueError(f"date {value} is in the future")
        return parsed
    raise ValueError(f"not a date: {shown(value)}; use YYYY-MM-DD or DD/MM/YYYY")


def ip_address(value: str) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"not an IP address: {shown(value)}") from None


def mac_list(value: str) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(dict.fromkeys(normalize_mac(part) for part in re.split(r"[;,\s]+", value) if part))


def cidr_list(value: str) -> tuple[str, ...]:
    if not value:
        return ()
    out = []
    for part in re.split(r"[;,\s]+", value):
        if not part:
            continue
        try:
            out.append(str(ipaddress.ip_network(part, strict=True)))
        except ValueError as exc:
            raise ValueError(f"not a subnet in CIDR form: {shown(part)} ({exc})") from None
    return tuple(dict.fromkeys(out))


def country(value: str) -> str | None:
    if not value:
        return None
    value = entry_code(value)
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise ValueError(f"not a two-letter ISO country code: {shown(value)}")
    return value.upper()


def serial(value: str) -> str | None:
    if len(value) > 100:
        raise ValueError("longer than 100 characters")
    return normalize_serial(clean_text(value))


def site_code(value: str) -> str | None:
    """A site's code, typed or picked from the template's list ("X-MUONG-NHE — Xã Mường Nhé")."""
    return text(32)(entry_code(value))


def coded(words: dict[str, tuple[str, ...]], allowed: str) -> Callable[[str], str | None]:
    """A closed vocabulary: each stored code and the spellings (Vietnamese, English) a file may use."""
    lookup = {spelling: code for code, spellings in words.items() for spelling in (code, *spellings)}

    def parse(value: str) -> str | None:
        if not value:
            return None
        spelling = " ".join(unicodedata.normalize("NFC", value).split()).lower()  # Excel may keep NFD
        if spelling not in lookup:
            raise ValueError(f"unknown value {shown(value)}; allowed: {allowed}")
        return lookup[spelling]

    return parse


# Facts a technician's checklist fills (agents do not report TPM). Stored as observations with
# source "import", not as device columns: compliance reads them like collected facts.
# No TPM is stored as "0": the TPM rule compares versions, so "0" fails "at least 2.0" whatever
# way the comparison is written, where a word such as "none" would sort above "2.0" as text.
TPM_NONE = "0"
tpm_version = coded(
    {"2.0": ("2",), "1.2": (), TPM_NONE: ("none", "no", "không", "không có", "khong", "khong co")},
    "2.0, 1.2, none (không có)",
)
secure_boot = coded(
    {
        "enabled": ("on", "bật", "bat", "có", "yes"),
        "disabled": ("off", "tắt", "tat", "không", "no"),
        "unsupported": ("không hỗ trợ", "khong ho tro", "not supported"),
    },
    "bật, tắt, không hỗ trợ (on, off, unsupported)",
)
disk_encryption = coded(
    {"on": ("bật", "bat", "enabled"), "partial": ("một phần", "mot phan"), "off": ("tắt", "tat", "disabled")},
    "bật, một phần, tắt (on, partial, off)",
)


def entries(enum: type[StrEnum]) -> tuple[str, ...]:
    """An enum's drop-down entries, "code — Vietnamese label"; `choice(enum)` reads each back."""
    return tuple(entry(m.value, LABELS_VI.get(m.value, "")) for m in enum)


# Column key -> the observation key the import writes it to (inventory.io.importer).
FACT_KEYS = {"tpm_version": "host.tpm_version", "secure_boot": "host.secure_boot", "disk_encryption": "host.disk_encryption"}

SITE_COLUMNS = (
    Column("code", "Mã đơn vị", "code", text(32), required=True, example="X-MUONG-NHE",
           meaning="Mã ngắn của đơn vị, không trùng với đơn vị khác; đơn vị đã có mã này sẽ được cập nhật"),
    Column("name", "Tên đơn vị", "name", text(200), required=True, example="Xã Mường Nhé", meaning="Tên đầy đủ của đơn vị"),
    Column("kind", "Loại đơn vị", "kind", choice(SiteKind), required=True, example=entry("commune", LABELS_VI["commune"]),
           meaning="Cấp của đơn vị", choices=entries(SiteKind)),
    Column("party_wan_subnets", "Dải mạng diện rộng của Đảng", "party_wan_subnets", cidr_list, example="127.12.1.0/24",
           meaning="Các dải địa chỉ (dạng CIDR) của vùng mạng diện rộng của Đảng, cách nhau bởi dấu chấm phẩy"),
    Column("internet_subnets", "Dải mạng Internet", "internet_subnets", cidr_list, example="127.12.2.0/24",
           meaning="Các dải địa chỉ (dạng CIDR) của vùng mạng Internet, cách nhau bởi dấu chấm phẩy"),
    Column("poll_interval_minutes", "Chu kỳ thu thập (phút)", "poll_interval_minutes", non_negative_int, example="60",
           meaning="Số phút giữa hai lần thu thập tự động; số nguyên không âm"),
)  # fmt: skip

DEVICE_COLUMNS = (
    Column("site_code", "Mã đơn vị", "site_code", site_code, required=True, example="X-MUONG-NHE",
           meaning="Đơn vị quản lý thiết bị; phải là đơn vị đã có", choices="sites"),
    Column("zone", "Vùng mạng", "zone", choice(ZoneKind), example=entry("internet", LABELS_VI["internet"]),
           meaning="Vùng mạng thiết bị kết nối", choices=entries(ZoneKind)),
    Column("device_class", "Loại thiết bị", "device_class", choice(DeviceClass), required=True,
           example=entry("laptop", LABELS_VI["laptop"]), meaning="Loại thiết bị theo danh mục của kiemke", choices=entries(DeviceClass)),
    Column("hostname", "Tên máy", "hostname", text(255), example="MNH-LT-001", meaning="Tên máy trên mạng"),
    Column("mgmt_ip", "Địa chỉ IP", "mgmt_ip", ip_address, example="127.12.2.21", meaning="Địa chỉ IP quản trị (IPv4 hoặc IPv6)"),
    Column("macs", "Địa chỉ MAC", "macs", mac_list, example="00:1a:2b:3c:4d:5e",
           meaning="Một hoặc nhiều địa chỉ MAC, cách nhau bởi dấu chấm phẩy; viết với dấu hai chấm, gạch ngang hoặc dấu chấm đều được"),
    Column("vendor", "Hãng sản xuất", "vendor", text(100), example="Dell", meaning="Hãng sản xuất"),
    Column("model", "Model", "model", text(200), example="Latitude 5440", meaning="Tên model"),
    Column("serial", "Số sê-ri", "serial", serial, example="DL5440-0001",
           meaning="Số sê-ri của nhà sản xuất. Mỗi thiết bị cần ít nhất một trong: số sê-ri, địa chỉ MAC, địa chỉ IP"),
    Column("os_name", "Hệ điều hành / firmware", "os_name", text(100), example="Windows 11 Pro", meaning="Tên hệ điều hành hoặc firmware"),
    Column("os_version", "Phiên bản", "os_version", text(100), example="23H2", meaning="Phiên bản hệ điều hành hoặc firmware"),
    Column("country_of_origin", "Xuất xứ", "country_of_origin", country, example="VN — Việt Nam",
           meaning="Nước xuất xứ: mã quốc gia hai chữ cái (ISO 3166)", choices="countries"),
    Column("purchase_date", "Ngày mua", "purchase_date", day, example="12/05/2023",
           meaning="Ngày mua, dạng ngày/tháng/năm (12/05/2023) hoặc năm-tháng-ngày (2023-05-12); không được sau ngày hôm nay"),
    Column("status", "Tình trạng", "status", choice(DeviceStatus), example=entry("in_use", LABELS_VI["in_use"]),
           meaning="Tình trạng sử dụng; để trống khi thêm mới là Đang sử dụng", choices=entries(DeviceStatus)),
    Column("assigned_user", "Người sử dụng", "assigned_user", text(200), example="Nguyễn Văn A", meaning="Người được giao sử dụng"),
    Column("platform", "Nền tảng quản trị", "platform", text(32), example="",
           meaning="Hệ điều hành mạng để thu thập cấu hình qua SSH (thiết bị mạng), ví dụ cisco_ios, fortinet"),
    Column("notes", "Ghi chú", "notes", text(4000), example="", meaning="Ghi chú tự do"),
    Column("tpm_version", "TPM", "TPM", tpm_version, example="2.0", meaning="Phiên bản chip TPM của máy tính",
           choices=("2.0", "1.2", "không có")),
    Column("secure_boot", "Secure Boot", "Secure Boot", secure_boot, example="bật", meaning="Trạng thái Secure Boot của máy tính",
           choices=("bật", "tắt", "không hỗ trợ")),
    Column("disk_encryption", "Mã hóa ổ đĩa", "Disk encryption", disk_encryption, example="bật",
           meaning="Ổ đĩa có được mã hóa (BitLocker, LUKS...) không", choices=("bật", "một phần", "tắt")),
)  # fmt: skip

APPROVED_COLUMNS = (
    Column("site_code", "Mã đơn vị", "site_code", site_code, required=True, example="X-MUONG-NHE",
           meaning="Đơn vị được duyệt; phải là đơn vị đã có", choices="sites"),
    Column("device_class", "Loại thiết bị", "device_class", choice(DeviceClass), required=True,
           example=entry("laptop", LABELS_VI["laptop"]), meaning="Loại thiết bị được duyệt", choices=entries(DeviceClass)),
    Column("quantity", "Số lượng được duyệt", "quantity", non_negative_int, required=True, example="12",
           meaning="Số thiết bị được duyệt; số nguyên không âm"),
    Column("decision_ref", "Quyết định phê duyệt", "decision_ref", text(200), example="Đề án CĐS 2026-2030",
           meaning="Số hiệu hoặc tên văn bản phê duyệt"),
)  # fmt: skip

KINDS: dict[str, tuple[Column, ...]] = {
    "sites": SITE_COLUMNS,
    "devices": DEVICE_COLUMNS,
    "approved": APPROVED_COLUMNS,
}


def header_map(columns: tuple[Column, ...]) -> dict[str, Column]:
    """Every accepted header spelling, lower-cased, to its column."""
    mapping: dict[str, Column] = {}
    for column in columns:
        for name in (column.key, column.header_vi, column.header_en):
            mapping[name.strip().lower()] = column
    return mapping
