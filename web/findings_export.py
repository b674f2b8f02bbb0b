"""The findings list as a file (CSV or a printable XLSX): the rows as people read them (labels,
rule titles and Vietnamese check texts, not codes), dates as dates. The view picks the rows;
this builds the file."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from compliance.workbook import INT_FORMAT, Column, SheetWriter
from inventory.choices import LOCAL_TIMEZONE
from inventory.io.cells import clean_cell
from web.check_texts import check_text
from web.filters import rule_title
from web.i18n import current_language
from web.labels import label

LOCAL = ZoneInfo(LOCAL_TIMEZONE)
DATE_FORMATS = {"vi": ("%d/%m/%Y", "dd/mm/yyyy"), "en": ("%Y-%m-%d", "yyyy-mm-dd")}  # (text, Excel)


@dataclass(frozen=True)
class ExportColumn:
    key: str
    title: str
    width: float
    kind: str = "text"  # "text", "date" or "int"


def columns() -> list[ExportColumn]:
    """The exported columns, titled in the current language."""
    return [
        ExportColumn("id", _("Mã phát hiện"), 10, "int"),
        ExportColumn("severity", _("Mức độ"), 13),
        ExportColumn("rule", _("Quy tắc"), 40),
        ExportColumn("rule_id", _("Mã quy tắc"), 26),
        ExportColumn("site_code", _("Đơn vị"), 12),
        ExportColumn("hostname", _("Thiết bị"), 24),
        ExportColumn("expected", _("Yêu cầu"), 36),
        ExportColumn("actual", _("Thực tế"), 36),
        ExportColumn("status", _("Trạng thái"), 14),
        ExportColumn("first_seen", _("Phát hiện lần đầu"), 14, "date"),
        ExportColumn("last_seen", _("Thấy lần cuối"), 14, "date"),
        ExportColumn("waiver_expires", _("Hết hạn miễn trừ"), 14, "date"),
        ExportColumn("waiver_reason", _("Lý do miễn trừ"), 36),
        ExportColumn("waived_by", _("Người miễn trừ"), 16),
    ]


def _local_date(value) -> date | None:
    """A stored time (UTC) as the local calendar day; a date as it is."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(LOCAL).date()
    return value if isinstance(value, date) else None


def readable(row: dict) -> dict:
    """One finding (a list_findings row) as exported: labels and texts, dates as dates."""
    hostname = row.get("hostname") or (f"#{row['device_id']}" if row.get("device_id") else "")
    return {
        "id": row["id"], "severity": label(row["severity"]), "rule": rule_title(row["rule_id"]) or row["rule_id"], "rule_id": row["rule_id"],
        "site_code": row.get("site_code") or "", "hostname": hostname, "expected": check_text(row.get("expected")),
        "actual": check_text(row.get("actual")), "status": label(row["status"]), "first_seen": _local_date(row.get("first_seen")),
        "last_seen": _local_date(row.get("last_seen")), "waiver_expires": _local_date(row.get("waiver_expires")),
        "waiver_reason": row.get("waiver_reason") or "", "waived_by": row.get("waived_by") or "",
    }  # fmt: skip


def to_csv(rows: Sequence[dict]) -> bytes:
    """UTF-8 with a BOM (Excel then reads Vietnamese right); dates in the language's form."""
    text_format = DATE_FORMATS.get(current_language(), DATE_FORMATS["vi"])[0]
    out = io.StringIO()
    writer = csv.writer(out)
    cols = columns()
    writer.writerow([c.title for c in cols])
    for row in rows:
        shown = readable(row)
        cells = []
        for c in cols:
            value = shown[c.key]
            cells.append(value.strftime(text_format) if isinstance(value, date) else "" if value is None else clean_cell(value, quote=True))
        writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[dict], *, described_filter: str) -> bytes:
    """A printable workbook: title, the filter it shows, a bordered table with autofilter, the
    header row repeated on every page, A4 landscape fitted to the width."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    excel_date = DATE_FORMATS.get(current_language(), DATE_FORMATS["vi"])[1]
    cols = columns()
    workbook = Workbook()
    ws = workbook.active
    ws.title = _("Phát hiện")[:31]
    writer = SheetWriter(ws, len(cols))
    writer.title(_("Danh sách phát hiện"))
    writer.note(described_filter)
    writer.blank()
    shown = [readable(row) for row in rows]
    # Dates are put in after the table: the shared writer would print them as text.
    table_rows = [{k: (None if isinstance(v, date) else v) for k, v in row.items()} for row in shown]
    header = writer.table([Column(c.title, c.key, c.width, INT_FORMAT if c.kind == "int" else None) for c in cols], table_rows)
    for offset, row in enumerate(shown, start=1):
        for index, c in enumerate(cols, start=1):
            if c.kind == "date" and row[c.key] is not None:
                cell = ws.cell(row=header + offset, column=index, value=row[c.key])
                cell.number_format = excel_date
    last = get_column_letter(len(cols))
    ws.auto_filter.ref = f"A{header}:{last}{header + max(len(shown), 1)}"
    writer.finish()
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
