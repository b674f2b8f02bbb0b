"""Lists as files people read and print: the columns of a table (label, value, kind) and its rows,
written to CSV or XLSX. One helper for every list (devices, findings, scans, audit log, sites).

Unlike inventory.io.exporter (the import format: codes, re-importable), these files are for
reading: labels instead of codes (the caller's `value` functions give them), dates as dates,
numbers as numbers.

- XLSX: real numbers with the UI language's number format (Vietnamese: 4.511 and 60.485,95;
  the format carries the Vietnamese locale tag [$-42A], since the separators of an Excel format
  code are always written "," and "." and shown in the format's locale), dates and times as
  date cells (local time), column widths from the labels and the first rows, a bold header row
  that is frozen, filtered (autofilter) and repeated on every printed page; A4 landscape, fit
  to the page width. Written with openpyxl's write-only workbook: memory stays flat for 50,000
  rows.
- CSV: UTF-8 with a BOM (Excel reads Vietnamese right), numbers plain (1234, 12.5), dates
  ISO (2026-12-03, 2026-12-03 14:05 local); produced line by line so a web view can stream it.
- Every text cell goes through inventory.io.cells (control characters out, formula-like text
  never a formula).
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from inventory.choices import LOCAL_TIMEZONE
from inventory.io.cells import clean_cell, set_xlsx_value

LOCAL = ZoneInfo(LOCAL_TIMEZONE)
KINDS = ("text", "int", "decimal", "date", "datetime")
WIDTH_SAMPLE_ROWS = 200  # column widths are measured on the labels and this many first rows
MIN_WIDTH, MAX_WIDTH = 6, 60


@dataclass(frozen=True)
class ExportColumn:
    """One column of a list as exported: its header label, how a row gives its value, and the
    value's kind (text, int, decimal, date, datetime). `width` fixes the XLSX width (characters);
    None measures it."""

    label: str
    value: Callable[[Any], Any]
    kind: str = "text"
    width: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.label!r}: kind must be one of {', '.join(KINDS)} (not {self.kind!r})")


@dataclass(frozen=True)
class Formats:
    """A language's XLSX number and date formats (Excel format codes)."""

    int: str
    decimal: str
    date: str
    datetime: str


# One number and date format per language, as on the pages (web: procurement.number, vi_number).
FORMATS = {
    "vi": Formats(int="[$-42A]#,##0", decimal="[$-42A]#,##0.00", date="dd/mm/yyyy", datetime="dd/mm/yyyy hh:mm"),
    "en": Formats(int="#,##0", decimal="#,##0.00", date="yyyy-mm-dd", datetime="yyyy-mm-dd hh:mm"),
}


def formats_for(language: str) -> Formats:
    return FORMATS.get(language, FORMATS["vi"])


# ------------------------------------------------------------------------------ values


def typed_value(column: ExportColumn, row: Any) -> Any:
    """The column's value for `row` as its kind wants it: int/float, date, local naive datetime,
    text (lists joined by "; "), or None. A value of the wrong shape is kept as text, never lost."""
    value = column.value(row)
    if value is None or value == "":
        return None
    kind = column.kind
    if kind in ("int", "decimal"):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return None if isinstance(value, float) and math.isnan(value) else value
        return str(value)
    if kind == "datetime":
        moment = _as_datetime(value)
        if moment is None:
            return str(value)
        if moment.tzinfo is None:  # stored in UTC
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(LOCAL).replace(tzinfo=None, microsecond=0)
    if kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if isinstance(value, (list, tuple, set)):
        return "; ".join(str(v) for v in value)
    return value if isinstance(value, str) else str(value)


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(round(value, 6)).removesuffix(".0") if value.is_integer() else repr(round(value, 6))
    return str(clean_cell(value, quote=True)) if isinstance(value, str) else str(value)


# ------------------------------------------------------------------------------ CSV


def csv_chunks(columns: Sequence[ExportColumn], rows: Iterable[Any], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV file as text chunks (a BOM and the header first, then `rows_per_chunk` rows at a
    time): a web response can stream it while the rows are still being read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([clean_cell(c.label, quote=True) for c in columns])
    pending = 0
    for row in rows:
        writer.writerow([_csv_text(typed_value(c, row)) for c in columns])
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def write_csv(columns: Sequence[ExportColumn], rows: Iterable[Any], path: Path) -> None:
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        for chunk in csv_chunks(columns, rows):
            handle.write(chunk)


# ------------------------------------------------------------------------------ XLSX


def _text_width(value: Any, fmt: Formats) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len(fmt.datetime)
    if isinstance(value, date):
        return len(fmt.date)
    if isinstance(value, (int, float)):
        return len(f"{value:,.2f}" if isinstance(value, float) else f"{value:,}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def _widths(columns: Sequence[ExportColumn], sample: list[list[Any]], fmt: Formats) -> list[float]:
    widths = []
    for i, column in enumerate(columns):
        if column.width is not None:
            widths.append(column.width)
            continue
        longest = max([_text_width(column.label, fmt) * 0.9] + [_text_width(values[i], fmt) for values in sample])
        widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, math.ceil(longest) + 2))))
    return widths


def write_xlsx(columns: Sequence[ExportColumn], rows: Iterable[Any], path: Path, *, title: str, language: str = "vi", footer: str = "&P / &N") -> int:
    """Write the table to an XLSX file at `path`; returns the number of data rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    fmt = formats_for(language)
    number_formats = {"int": fmt.int, "decimal": fmt.decimal, "date": fmt.date, "datetime": fmt.datetime}
    values = ([typed_value(c, row) for c in columns] for row in rows)
    sample = list(islice(values, WIDTH_SAMPLE_ROWS))

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(title))
    try:
        for i, width in enumerate(_widths(columns, sample, fmt), start=1):
            sheet.column_dimensions[get_column_letter(i)].width = width
        # What is written with the sheet's head (before the first row): fit to the page width.
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        fill = PatternFill("solid", fgColor="D9E1F2")
        edge = Border(bottom=Side(style="thin", color="808080"))
        wrap = Alignment(wrap_text=True, vertical="center")
        header = []
        for column in columns:
            cell = set_xlsx_value(WriteOnlyCell(sheet), column.label)
            cell.font, cell.fill, cell.border, cell.alignment = bold, fill, edge, wrap
            header.append(cell)
        sheet.append(header)
        count = 0
        for row_values in _chain(sample, values):
            cells = []
            for column, value in zip(columns, row_values, strict=True):
                if value is None:
                    cells.append(None)
                    continue
                cell = set_xlsx_value(WriteOnlyCell(sheet), value)
                if not isinstance(value, str) and column.kind in number_formats:
                    cell.number_format = number_formats[column.kind]
                cells.append(cell)
            sheet.append(cells)
            count += 1
        last = get_column_letter(max(1, len(columns)))
        sheet.auto_filter.ref = f"A1:{last}{count + 1}"
        sheet.print_title_rows = "1:1"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = "9"  # A4
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.page_margins.left = sheet.page_margins.right = 0.4
        sheet.page_margins.top = sheet.page_margins.bottom = 0.6
        sheet.oddFooter.center.text = footer
        workbook.save(Path(path))
    except BaseException:
        _discard(workbook)
        raise
    return count


def _chain(first: list[list[Any]], rest: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield from first
    yield from rest


def _sheet_title(title: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join("-" if ch in "[]:*?/\\" else ch for ch in str(clean_cell(title))).strip("'") or "Sheet1"
    return cleaned[:31]


def _discard(workbook: Any) -> None:
    """openpyxl's write-only sheets spool to temporary files it removes on save or at exit only."""
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is None:
            continue
        with contextlib.suppress(Exception):
            writer.close()
        with contextlib.suppress(OSError, ValueError):
            writer.cleanup()
