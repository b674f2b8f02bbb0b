"""Import messages in Vietnamese: the reasons the importer gives for a refused row or file.

The importer (inventory.io: columns' parsers, importer, tabular, file_limits, sandbox) writes its
reasons in English, and the CLI and the API give them so. The Vietnamese UI shows them through
`import_text`, which recognises a text by its shape, as web.check_texts does for compliance
values: one table of (pattern fullmatching the English text, Vietnamese template). A group named
`n`/`m` is a number and is written the Vietnamese way (200,000 -> 200.000); anything else a group
holds (a quoted value, a file name, a column) is kept as it is. A text no pattern fits is shown as
stored; tests/web/test_import_preview.py feeds every message the importer writes through it.
"""

from __future__ import annotations

import re

from inventory.choices import LABELS_VI
from web.i18n import current_language

_TABLE: list[tuple[re.Pattern[str], str]] = []
# Parts some messages quote from elsewhere (the identity index, the ip and codec modules): a group
# of that name is read by its own small table ("serial X is device #1" -> "số sê-ri X là thiết bị #1").
_PARTS: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "which": [(re.compile(r"(serial|MAC|IP) (.+) is device #(\d+)"), "{0} {1} là thiết bị #{2}")],
    "why": [
        (re.compile(r"(.+) has host bits set"), "{0} có bit phần địa chỉ máy khác 0: hãy viết địa chỉ mạng"),
        (re.compile(r".+ at byte (\d+)"), "lỗi mã hóa ký tự ở byte {0}"),
    ],
}
_WORDS = {"serial": "số sê-ri"}


def _t(pattern: str, vi: str) -> None:
    _TABLE.append((re.compile(pattern, re.S), vi))


def _part(name: str, text: str) -> str:
    """A quoted part in Vietnamese when its table knows it (a list separated by ", " part by part)."""
    if name == "allowed":  # the codes a cell takes: the importer takes their Vietnamese labels too
        return ", ".join(LABELS_VI.get(code, code) for code in text.split(", "))
    if name not in _PARTS:
        return text
    out = []
    for piece in text.split(", ") if name == "which" else [text]:
        for pattern, vi in _PARTS[name]:
            if match := pattern.fullmatch(piece):
                piece = vi.format(*(_WORDS.get(group, group) for group in match.groups()))
                break
        out.append(piece)
    return ", ".join(out)


# -- a cell (inventory.io.columns, inventory.identity) ------------------------------------------------
_t(r"longer than (?P<n>\d+) characters", "dài quá {n} ký tự")
_t(r"unknown value (?P<value>.+); allowed: (?P<allowed>.+)", "giá trị {value} không hợp lệ; chỉ nhận: {allowed}")
_t(r"not a whole number: (?P<value>.+)", "không phải số nguyên: {value}")
_t(r"must not be negative: (?P<value>.+)", "không được là số âm: {value}")
_t(r"too large: (?P<value>.+); at most (?P<n>\d+)", "quá lớn: {value}; tối đa {n}")
_t(r"date (?P<value>.+) is in the future", "ngày {value} ở tương lai")
_t(r"not a date: (?P<value>.+); use YYYY-MM-DD or DD/MM/YYYY", "không phải ngày: {value}; hãy viết ngày/tháng/năm (31/12/2023) hoặc năm-tháng-ngày (2023-12-31)")
_t(r"not an IP address: (?P<value>.+)", "không phải địa chỉ IP: {value}")
_t(r"not a subnet in CIDR form: (?P<value>.+?) \((?P<why>.*)\)", "không phải dải mạng dạng CIDR: {value} ({why})")
_t(r"not a two-letter ISO country code: (?P<value>.+)", "không phải mã quốc gia hai chữ cái (ISO 3166): {value}")
_t(r"not a MAC address: (?P<value>.+)", "không phải địa chỉ MAC: {value}")
# -- a row or the header (inventory.io.importer) --------------------------------------------------
_t(r"unknown column", "cột không có trong mẫu nhập")
_t(r"column '(?P<column>.+)' appears twice", "cột «{column}» xuất hiện hai lần")
_t(r"required column is missing", "thiếu cột bắt buộc")
_t(r"required value is empty", "ô bắt buộc đang để trống")
_t(r"site (?P<code>.+) already appears on row (?P<n>\d+)", "đơn vị {code} đã có ở dòng {n}")
_t(r"unknown site (?P<code>.+)", "không có đơn vị mã {code}")
_t(r"(?P<code>.+) / (?P<cls>.+) already appears on row (?P<n>\d+)", "{code} / {cls} đã có ở dòng {n}")
_t(r"site (?P<code>.+) has no party_wan zone", "đơn vị {code} không có vùng mạng diện rộng của Đảng")
_t(r"site (?P<code>.+) has no internet zone", "đơn vị {code} không có vùng mạng Internet")
_t(r"a device needs a serial, a MAC or an IP address to be told apart", "thiết bị cần có số sê-ri, địa chỉ MAC hoặc địa chỉ IP để phân biệt")
_t(r"matches more than one recorded device \((?P<which>.+)\)", "trùng với nhiều thiết bị đã ghi nhận ({which})")
_t(r"the same device as row (?P<n>\d+) \(same serial, MAC or IP\)", "trùng thiết bị ở dòng {n} (cùng số sê-ri, MAC hoặc IP)")
_t(r"(?P<file>.+?): a device in the file was recorded by another change at the same moment; nothing was imported, import the file again",
   "{file}: một thiết bị trong tệp vừa được ghi nhận bởi một thay đổi khác cùng lúc; chưa nhập gì, hãy nhập lại tệp")  # fmt: skip
# -- a whole file (inventory.io.tabular, file_limits, sandbox) --------------------------------------
_t(r"(?P<file>.+?): unsupported file type (?P<suffix>.+); use \.csv or \.xlsx", "{file}: không nhận loại tệp {suffix}; hãy dùng .csv hoặc .xlsx")
_t(r"(?P<file>.+?): no such file", "{file}: không có tệp này")
_t(r"(?P<file>.+?): the file is empty", "{file}: tệp trống")
_t(r"(?P<file>.+?): row (?P<row>\d+): a cell is longer than (?P<n>[\d,]+) characters", "{file}: dòng {row}: có ô dài quá {n} ký tự")
_t(r"(?P<file>.+?): more than (?P<n>[\d,]+) rows; kiemke reads at most (?P<rows>[\d,]+) rows and (?P<cols>\d+) columns",
   "{file}: nhiều hơn {n} dòng; kiemke đọc tối đa {rows} dòng và {cols} cột")  # fmt: skip
_t(r"(?P<file>.+?): row (?P<row>\d+): more than (?P<n>\d+) columns; kiemke reads at most (?P<rows>[\d,]+) rows and (?P<cols>\d+) columns",
   "{file}: dòng {row}: nhiều hơn {n} cột; kiemke đọc tối đa {rows} dòng và {cols} cột")  # fmt: skip
_t(r"(?P<file>.+?): the sheet spans (?P<span>\S+) \((?P<rows>[\d,]+) rows by (?P<cols>[\d,]+) columns\); kiemke reads at most (?P<n>[\d,]+) rows and (?P<m>\d+) columns",
   "{file}: trang tính trải trên {span} ({rows} dòng × {cols} cột); kiemke đọc tối đa {n} dòng và {m} cột")  # fmt: skip
_t(r"(?P<file>.+?): not UTF-8 text \((?P<why>.+)\); save the CSV as UTF-8", "{file}: không phải văn bản UTF-8 ({why}); hãy lưu tệp CSV với mã hóa UTF-8")
_t(r"(?P<file>.+?): row (?P<row>\d+): not readable as CSV \((?P<why>.+)\)", "{file}: dòng {row}: không đọc được dạng CSV ({why})")
_t(r"(?P<file>.+?): row (?P<row>\d+): not a readable XLSX workbook \((?P<why>.+)\)", "{file}: dòng {row}: không đọc được bảng tính XLSX ({why})")
_t(r"(?P<file>.+?): not a readable XLSX workbook \(not a ZIP file\)", "{file}: không đọc được bảng tính XLSX (không phải tệp ZIP)")
_t(r"(?P<file>.+?): not a readable XLSX workbook \(more than (?P<n>[\d,]+) parts\)", "{file}: không đọc được bảng tính XLSX (nhiều hơn {n} thành phần)")
_t(r"(?P<file>.+?): not a readable XLSX workbook \(it unpacks to more than (?P<size>.+)\)", "{file}: không đọc được bảng tính XLSX (giải nén ra hơn {size})")
_t(r"(?P<file>.+?): not a readable XLSX workbook \(a part is compressed more than (?P<n>\d+) times: a ZIP bomb\)",
   "{file}: không đọc được bảng tính XLSX (có thành phần nén hơn {n} lần: tệp nén độc hại)")  # fmt: skip
_t(r"(?P<file>.+?): not a readable XLSX workbook \((?P<why>\w+)\)", "{file}: không đọc được bảng tính XLSX ({why})")
_t(r"(?P<file>.+?): the file is larger than (?P<size>.+?)(?:; kiemke reads at most that)?", "{file}: tệp lớn hơn {size}; kiemke chỉ đọc tệp đến cỡ đó")
_t(r"(?P<file>.+?): could not be read: it holds more than (?P<size>.+) of data", "{file}: không đọc được: tệp chứa hơn {size} dữ liệu")
_t(r"(?P<file>.+?): could not be read: it needs more than (?P<size>.+) of memory", "{file}: không đọc được: cần hơn {size} bộ nhớ")
_t(r"(?P<file>.+?): could not be read: it took longer than (?P<n>\d+) s", "{file}: không đọc được: quá {n} giây")
_t(r"(?P<file>.+?): could not be read: the reader crashed \(signal (?P<n>\d+)\)", "{file}: không đọc được: trình đọc bị dừng đột ngột (tín hiệu {n})")
_t(r"(?P<file>.+?): could not be read: the reader stopped unexpectedly \(exit status (?P<n>\d+)\)",
   "{file}: không đọc được: trình đọc dừng bất thường (mã thoát {n})")  # fmt: skip
_t(r"(?P<file>.+?): could not be read \((?P<why>.+)\)", "{file}: không đọc được ({why})")

_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")
_ANY_NUMBER = frozenset({"n", "m", "rows", "cols"})


def _vi_number(text: str) -> str:
    """200,000 or 200000 -> 200.000 (a count, never a version or an address)."""
    if not _NUMBER.fullmatch(text):
        return text
    return f"{int(text.replace(',', '')):,}".replace(",", ".")


def vietnamese(text: str) -> str | None:
    """The Vietnamese form of one importer message, or None when no pattern fits."""
    for pattern, vi in _TABLE:
        if match := pattern.fullmatch(text):
            groups = {name: value or "" for name, value in match.groupdict().items()}
            return vi.format(**{name: _vi_number(value) if name in _ANY_NUMBER else _part(name, value) for name, value in groups.items()})
    return None


def import_text(text: str | None) -> str:
    """An importer message in the page's language (Vietnamese when recognised; else as stored)."""
    if not text or current_language() == "en":
        return text or ""
    return vietnamese(text) or text
