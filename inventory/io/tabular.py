"""Reading and writing header-plus-rows tables as CSV (UTF-8) or XLSX, chosen by file extension."""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

from inventory.io.cells import FORMULA_START, clean_cell, set_xlsx_value
from inventory.io.file_limits import MAX_COLUMNS, MAX_ROWS, check_csv, check_xlsx
from inventory.io.sandbox import UnreadableFile, run_parser

FORMATS = (".csv", ".xlsx")

# The longest cell a file may hold (Excel's own cell limit). A longer cell refuses the whole file;
# the CSV reader's field limit (131,072) is above it, so the check below is always the one that answers.
MAX_CELL = 32_767


class TableFormatError(UnreadableFile):
    """A table file refused as a whole, with a one-line message that names the file."""


def check_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise TableFormatError(f"{path.name}: unsupported file type {suffix or '(none)'}; use .csv or .xlsx")
    return suffix


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header and (spreadsheet row number, cells) pairs; the header is row 1. Blank rows are skipped.

    The file comes from outside: it is checked cheaply first (file_limits), then parsed in the
    sandbox, a child process with memory and time limits, so a hostile file cannot take the
    server or the CLI down. Every refusal is a one-line TableFormatError.
    """
    suffix = check_format(path)
    if not path.exists():
        raise TableFormatError(f"{path}: no such file")
    try:
        if suffix == ".csv":
            check_csv(path)
            records = run_parser("csv-table", path)
        else:
            check_xlsx(path)
            records = run_parser("xlsx-table", path)
    except TableFormatError:
        raise
    except UnreadableFile as exc:
        raise TableFormatError(str(exc)) from None
    rows = iter(records)
    try:
        header = next(rows)
    except StopIteration:
        raise TableFormatError(f"{path.name}: the file is empty") from None
    header = [h.strip() for h in header]
    while header and not header[-1]:
        header.pop()

    def body() -> Iterator[tuple[int, list[str]]]:
        for number, cells in enumerate(rows, start=2):
            if any(cells):
                yield number, cells

    return header, body()


def _unescape(cell: str) -> str:
    """Undo the quote an export puts before formula-like text."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_START and len(cell) > 1 else cell


def _too_long(path: Path, number: int) -> TableFormatError:
    return TableFormatError(f"{path.name}: row {number}: a cell is longer than {MAX_CELL} characters")


def _checked(path: Path, number: int, cells: list[str]) -> list[str]:
    if number > MAX_ROWS:
        raise TableFormatError(f"{path.name}: more than {MAX_ROWS:,} rows; kiemke reads at most {MAX_ROWS:,} rows and {MAX_COLUMNS} columns")
    if len(cells) > MAX_COLUMNS:
        raise TableFormatError(f"{path.name}: row {number}: more than {MAX_COLUMNS} columns; kiemke reads at most {MAX_ROWS:,} rows and {MAX_COLUMNS} columns")
    if any(len(cell) > MAX_CELL for cell in cells):
        raise _too_long(path, number)
    return cells


# csv_rows and xlsx_rows run inside the sandbox's child process (see read_table).


def csv_rows(path: Path) -> Iterator[list[str]]:
    number = 0  # spreadsheet row number of the row being read, as read_table counts them
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.reader(handle):
                number += 1
                yield _checked(path, number, [_unescape(cell.strip()) for cell in row])
    except UnicodeDecodeError as exc:
        raise TableFormatError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the CSV as UTF-8") from None
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise _too_long(path, number + 1) from None
        raise TableFormatError(f"{path.name}: row {number + 1}: not readable as CSV ({exc})") from None


def xlsx_rows(path: Path) -> Iterator[list[str]]:
    # calamine (Rust) reads a 50,000-row sheet ~20x faster than openpyxl's read-only mode.
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        rows = workbook.get_sheet_by_index(0).iter_rows()
    except Exception as exc:  # calamine raises its own error kinds for a damaged file  # noqa: BLE001
        raise TableFormatError(f"{path.name}: not a readable XLSX workbook ({type(exc).__name__})") from None
    number = 0
    try:
        for row in rows:
            number += 1
            yield _checked(path, number, [_cell_text(value) for value in row])
    except TableFormatError:
        raise
    except Exception as exc:  # a damaged sheet can fail part-way through  # noqa: BLE001
        raise TableFormatError(f"{path.name}: row {number + 1}: not a readable XLSX workbook ({type(exc).__name__})") from None


def write_table(path: Path, header: Sequence[str], rows: Iterable[Sequence], *, sheet_title: str = "data") -> int:
    """Write a table; returns the number of data rows."""
    suffix = check_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    if suffix == ".csv":
        # utf-8-sig so that Excel opens Vietnamese text correctly.
        with path.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow([clean_cell(title, quote=True) for title in header])
            for row in rows:
                writer.writerow(["" if v is None else clean_cell(v, quote=True) for v in row])
                count += 1
        return count
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title[:31])
    try:
        bold = Font(bold=True)
        header_cells = []
        for title in header:
            cell = set_xlsx_value(WriteOnlyCell(sheet), title)
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        for row in rows:
            cells = []
            for value in row:
                cells.append(set_xlsx_value(WriteOnlyCell(sheet), "" if value is None else value))
            sheet.append(cells)
            count += 1
        workbook.save(path)
    except BaseException:
        _discard_spooled_sheets(workbook)
        raise
    return count


def _discard_spooled_sheets(workbook) -> None:
    """openpyxl's write-only sheets spool to temporary files it removes on save or at exit only: a
    failed write (a full disk) would leave them in the server's temporary directory until then."""
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is None:
            continue
        with contextlib.suppress(Exception):  # closing may fail again on the full disk
            writer.close()
        with contextlib.suppress(OSError, ValueError):
            writer.cleanup()
