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
  to the page width. The package is written directly, row by row into the zip (see
  write_xlsx): memory stays flat and 50,000 rows take a second or two.
- CSV: UTF-8 with a BOM (Excel reads Vietnamese right), numbers plain (1234, 12.5), dates
  ISO (2026-12-03, 2026-12-03 14:05 local); produced line by line so a web view can stream it.
- Every text cell goes through inventory.io.cells (control characters out, formula-like text
  never a formula).
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

from inventory.choices import LOCAL_TIMEZONE
from inventory.io.cells import clean_cell

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
        return "; ".join(str(v) for v in value) or None
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
    """Write the table to an XLSX file at `path`; returns the number of data rows. On any error
    the file is removed: no half-written workbook is left looking whole."""
    fmt = formats_for(language)
    values = ([typed_value(c, row) for c in columns] for row in rows)
    sample = list(islice(values, WIDTH_SAMPLE_ROWS))
    sheet_name = _sheet_title(title)
    letters = [_column_letter(i) for i in range(1, max(1, len(columns)) + 1)]
    styles = [_STYLE_OF_KIND.get(c.kind, 0) for c in columns]
    path = Path(path)
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
            package.writestr("[Content_Types].xml", _CONTENT_TYPES)
            package.writestr("_rels/.rels", _ROOT_RELS)
            package.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
            package.writestr("xl/styles.xml", _styles(fmt))
            with package.open("xl/worksheets/sheet1.xml", "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as sheet:
                sheet.write(_sheet_head(_widths(columns, sample, fmt)))
                sheet.write('<row r="1">' + "".join(_text_cell(f"{letter}1", str(clean_cell(c.label)), 1) for letter, c in zip(letters, columns, strict=False)) + "</row>")
                count = 0
                for row_values in _chain(sample, values):
                    count += 1
                    number = count + 1
                    cells = [_cell(f"{letter}{number}", value, style) for letter, value, style in zip(letters, row_values, styles, strict=False) if value is not None]
                    sheet.write(f'<row r="{number}">{"".join(cells)}</row>')
                area = f"A1:{letters[-1]}{count + 1}"
                sheet.write(_sheet_tail(area, footer))
            package.writestr("xl/workbook.xml", _workbook(sheet_name, f"$A$1:${letters[-1]}${count + 1}"))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return count


# The package is written directly (SpreadsheetML, ECMA-376): openpyxl, even in its write-only
# mode, spent ~0.2 ms a row on its XML serialiser (15 s for 50,000 devices); this ~6x less.
# tests/web/test_list_export.py reads every written feature back with openpyxl.
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
FONT_NAME = "Times New Roman"  # as kiemke's other printed workbooks (compliance.workbook)
# Cell styles (cellXfs): 0 plain, 1 header, 2 int, 3 decimal, 4 date, 5 datetime.
_STYLE_OF_KIND = {"int": 2, "decimal": 3, "date": 4, "datetime": 5}
_EXCEL_EPOCH = datetime(1899, 12, 30)


def _styles(fmt: Formats) -> str:
    codes = (fmt.int, fmt.decimal, fmt.date, fmt.datetime)
    numbers = "".join(f'<numFmt numFmtId="{164 + i}" formatCode="{xml_escape(code, {chr(34): "&quot;"})}"/>' for i, code in enumerate(codes))
    formatted = "".join(f'<xf numFmtId="{164 + i}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' for i in range(len(codes)))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<styleSheet xmlns="{_MAIN}"><numFmts count="{len(codes)}">{numbers}</numFmts>'
        f'<fonts count="2"><font><sz val="11"/><name val="{FONT_NAME}"/></font><font><b/><sz val="11"/><name val="{FONT_NAME}"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFD9E1F2"/><bgColor indexed="64"/></patternFill></fill></fills>'
        '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
        '<border><left/><right/><top/><bottom style="thin"><color rgb="FF808080"/></bottom><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{2 + len(codes)}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1" applyAlignment="1">'
        f'<alignment vertical="center" wrapText="1"/></xf>{formatted}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    )


def _sheet_head(widths: list[float]) -> str:
    cols = "".join(f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>' for i, w in enumerate(widths, start=1))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/>{"<cols>" + cols + "</cols>" if cols else ""}<sheetData>'
    )


def _sheet_tail(area: str, footer: str) -> str:
    return (
        f'</sheetData><autoFilter ref="{area}"/><printOptions horizontalCentered="1"/>'
        '<pageMargins left="0.4" right="0.4" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>'
        '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
        f"<headerFooter><oddFooter>{xml_escape('&C' + footer)}</oddFooter></headerFooter></worksheet>"
    )


def _workbook(sheet_name: str, area: str) -> str:
    quoted = "'" + sheet_name.replace("'", "''") + "'"
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
        f'<sheets><sheet name="{xml_escape(sheet_name, {chr(34): "&quot;"})}" sheetId="1" r:id="rId1"/></sheets><definedNames>'
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">{xml_escape(quoted)}!{area}</definedName>'
        f'<definedName name="_xlnm.Print_Titles" localSheetId="0">{xml_escape(quoted)}!$1:$1</definedName>'
        "</definedNames></workbook>"
    )


MAX_CELL_TEXT = 32_767  # what a cell may hold in Excel (longer text makes the file "damaged")


def _text_cell(ref: str, text: str, style: int = 0) -> str:
    """Text as an inline string: never a formula, whatever it starts with."""
    if len(text) > MAX_CELL_TEXT:
        text = text[: MAX_CELL_TEXT - 1] + "…"
    styled = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{styled} t="inlineStr"><is><t xml:space="preserve">{xml_escape(text)}</t></is></c>'


def _cell(ref: str, value: Any, style: int) -> str:
    if isinstance(value, str):
        return _text_cell(ref, clean_cell(value))
    if isinstance(value, datetime):
        serial = (value - _EXCEL_EPOCH).total_seconds() / 86400
        return f'<c r="{ref}" s="{style or 5}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{style or 4}"><v>{(value - _EXCEL_EPOCH.date()).days}</v></c>'
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f'<c r="{ref}" s="{style}"><v>{value!r}</v></c>' if style else f'<c r="{ref}"><v>{value!r}</v></c>'
    return _text_cell(ref, str(clean_cell(str(value))))


def _column_letter(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _chain(first: list[list[Any]], rest: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield from first
    yield from rest


def _sheet_title(title: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join("-" if ch in "[]:*?/\\" else ch for ch in str(clean_cell(title))).strip("'") or "Sheet1"
    return cleaned[:31]
