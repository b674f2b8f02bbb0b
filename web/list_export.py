"""A list page's rows as a download, CSV or XLSX (inventory.io.table_export writes both, in the UI's
language). Both are built whole before the answer starts: the rows are read from the request's
database session and labelled in its language, which a body streamed after the view returned
would no longer have (and a failure half-way would leave a truncated file looking complete).
XLSX goes through a private temporary file (openpyxl's write-only workbook keeps memory flat)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from flask import Response, abort, send_file

from inventory.io.table_export import ExportColumn, csv_chunks, write_xlsx
from web.i18n import current_language

TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def check_format(fmt: str) -> str:
    """The asked format, or 404 for any other (before any query runs)."""
    if fmt not in TYPES:
        abort(404)
    return fmt


def export_response(columns: Sequence[ExportColumn], rows: Iterable[Any], fmt: str, *, name: str, title: str) -> Response:
    """`rows` under `columns` as `name-YYYY-MM-DD.<fmt>`; `title` names the XLSX sheet."""
    filename = f"{name}-{date.today().isoformat()}.{check_format(fmt)}"
    if fmt == "csv":
        response = Response("".join(csv_chunks(columns, rows)), mimetype=TYPES["csv"])
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    with tempfile.TemporaryDirectory(prefix="kiemke-list-") as tmp:
        path = Path(tmp) / filename
        write_xlsx(columns, rows, path, title=title, language=current_language())
        data = path.read_bytes()
    return send_file(io.BytesIO(data), mimetype=TYPES["xlsx"], as_attachment=True, download_name=filename)
