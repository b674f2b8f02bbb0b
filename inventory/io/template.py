"""The blank import templates a user downloads and fills in.

XLSX: the first sheet holds only the header row (the importer reads the first sheet, so nothing
on it but what the user types is ever imported); coded columns offer a drop-down list of
"code — label" entries kept on a hidden sheet; an instructions sheet in Vietnamese says what each
column means, whether it is required, what it allows, and shows an example value (on that sheet,
never as a data row). CSV: the header row alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from inventory.io.columns import ENTRY_SEPARATOR, KINDS, Column, entry
from inventory.io.tabular import check_format, write_table

KIND_TITLES = {"sites": "Đơn vị", "devices": "Thiết bị", "approved": "Số lượng được duyệt"}
INSTRUCTIONS_TITLE = "Hướng dẫn"
LISTS_TITLE = "Danh mục"
# Rows of the data sheet the drop-down lists cover (a province's inventory is tens of thousands).
VALIDATED_ROWS = 100_000
REQUIRED_FILL = "FCE4D6"  # the header colour of a required column (the instructions name it)
HEADER_FILL = "DDEBF7"
# Babel territories that are not countries a device comes from.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"}


@cache
def country_entries() -> tuple[str, ...]:
    """Two-letter ISO codes with their Vietnamese names ("VN — Việt Nam"), by code."""
    from babel import Locale

    names = Locale.parse("vi").territories
    return tuple(entry(code, names[code]) for code in sorted(names) if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES)


def write_template(kind: str, path: Path, sites: Sequence[tuple[str, str]] = ()) -> None:
    """Write the template of `kind`; `sites` ((code, name) pairs) fill the site code's list."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
    columns = KINDS[kind]
    path = Path(path)
    if check_format(path) == ".csv":
        write_table(path, [c.header_vi for c in columns], [])
        return
    _write_xlsx(kind, columns, path, [entry(code, name) for code, name in sites])


def _entries(column: Column, sites: list[str]) -> tuple[str, ...]:
    if column.choices == "sites":
        return tuple(sites)
    if column.choices == "countries":
        return country_entries()
    return tuple(column.choices)


def _allowed_text(column: Column, entries: tuple[str, ...]) -> str:
    if column.choices == "sites":
        return "Chọn trong danh sách các đơn vị đã có" if entries else "Chưa có đơn vị nào: hãy nhập danh sách đơn vị trước"
    if column.choices == "countries":
        return f"Chọn trong danh sách ({len(entries)} quốc gia) hoặc gõ mã hai chữ cái, ví dụ VN, CN, US"
    if entries:
        typed = " hoặc gõ mã" if any(ENTRY_SEPARATOR in e for e in entries) else ""
        return f"Chọn trong danh sách{typed}:\n" + "\n".join(entries)
    return ""


def _write_xlsx(kind: str, columns: tuple[Column, ...], path: Path, sites: list[str]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    data = workbook.active
    data.title = KIND_TITLES[kind]
    guide = workbook.create_sheet(INSTRUCTIONS_TITLE)
    lists = workbook.create_sheet(LISTS_TITLE)
    lists.sheet_state = "hidden"
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")

    list_column = 0
    for number, column in enumerate(columns, start=1):
        letter = get_column_letter(number)
        cell = data.cell(1, number, column.header_vi)
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor=REQUIRED_FILL if column.required else HEADER_FILL)
        entries = _entries(column, sites)
        width = max(len(column.header_vi), *(len(e) for e in entries), len(column.example), 10) if entries else max(len(column.header_vi), len(column.example), 12)
        data.column_dimensions[letter].width = min(width + 2, 45)
        data.column_dimensions[letter].number_format = "DD/MM/YYYY" if column.key == "purchase_date" else "@"
        if not entries:
            continue
        list_column += 1
        list_letter = get_column_letter(list_column)
        lists.cell(1, list_column, column.header_vi).font = bold
        for row, value in enumerate(entries, start=2):
            lists.cell(row, list_column, value).data_type = "s"
        lists.column_dimensions[list_letter].width = min(max(len(e) for e in entries) + 2, 60)
        name = f"ds_{column.key}"
        workbook.defined_names[name] = DefinedName(name, attr_text=f"{quote_sheetname(LISTS_TITLE)}!${list_letter}$2:${list_letter}${len(entries) + 1}")
        # A warning, not a stop: a typed code ("laptop") is not in the list yet the importer takes it.
        validation = DataValidation(type="list", formula1=name, allow_blank=True, showErrorMessage=True, errorStyle="warning",
                                    errorTitle="Giá trị ngoài danh sách", error="Giá trị này không có trong danh sách; kiemke chỉ nhận mã hoặc tên trong danh sách.",
                                    promptTitle=column.header_vi[:32], prompt=(column.meaning or column.header_vi)[:255], showInputMessage=True)  # fmt: skip
        validation.add(f"{letter}2:{letter}{VALIDATED_ROWS + 1}")
        data.add_data_validation(validation)
    data.freeze_panes = "A2"

    guide.column_dimensions["A"].width = 28
    guide.column_dimensions["B"].width = 10
    guide.column_dimensions["C"].width = 60
    guide.column_dimensions["D"].width = 50
    guide.column_dimensions["E"].width = 30
    guide.cell(1, 1, f"Mẫu nhập {KIND_TITLES[kind].lower()}").font = Font(bold=True, size=14)
    notes = (
        f"Điền dữ liệu vào trang «{KIND_TITLES[kind]}», mỗi dòng một bản ghi, bắt đầu từ dòng 2. Không đổi tên hay xóa dòng tiêu đề.",
        "kiemke chỉ đọc trang đầu tiên; trang hướng dẫn này và các ví dụ dưới đây không được nhập.",
        "Cột tô màu cam là bắt buộc. Ô để trống giữ nguyên giá trị đã có của bản ghi.",
        "Khi tải tệp lên, kiemke cho xem trước những gì sẽ thay đổi; chưa ghi gì cho đến khi bạn xác nhận.",
    )
    for row, note in enumerate(notes, start=2):
        guide.cell(row, 1, note)
    header_row = len(notes) + 3
    for number, title in enumerate(("Cột", "Bắt buộc", "Ý nghĩa", "Giá trị cho phép", "Ví dụ (không được nhập)"), start=1):
        cell = guide.cell(header_row, number, title)
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
    for row, column in enumerate(columns, start=header_row + 1):
        entries = _entries(column, sites)
        values = (column.header_vi, "Có" if column.required else "Không", column.meaning, _allowed_text(column, entries), column.example)
        for number, value in enumerate(values, start=1):
            cell = guide.cell(row, number, value)
            cell.data_type = "s"
            cell.alignment = wrap
        if column.required:
            guide.cell(row, 1).fill = PatternFill("solid", fgColor=REQUIRED_FILL)
    guide.freeze_panes = guide.cell(header_row + 1, 1)
    workbook.active = 0
    workbook.save(path)
