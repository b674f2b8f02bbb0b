"""Limits on an imported table file, and the cheap checks made on it before any parser runs.

The checks read only sizes, the ZIP directory and the first KB of a sheet, so a hostile file is
refused before it costs anything; what gets past them is still parsed in the sandbox
(inventory.io.sandbox), which bounds memory and time whatever the file claims about itself.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path

from inventory.io.sandbox_child import UnreadableFile

# Rows and columns kiemke reads from one table (Excel's own limits are 1,048,576 x 16,384). A
# province's whole device inventory is tens of thousands of rows; the templates have 17 columns.
MAX_ROWS = 200_000
MAX_COLUMNS = 200
# A CSV above this is not an inventory: 200,000 rows of 17 columns are ~40 MiB.
MAX_CSV_BYTES = 100 * 1024**2
# The same bound on the XLSX file itself (it is compressed, so this is generous).
MAX_XLSX_BYTES = 100 * 1024**2
# An Excel workbook has a few dozen parts; a ZIP directory of millions of entries costs memory.
MAX_ZIP_MEMBERS = 1_000
# What the parts may add up to once unpacked (a 50,000-row device sheet is ~45 MiB of XML).
MAX_UNPACKED_BYTES = 256 * 1024**2
# Sheet XML compresses ~10-30x; a part above this ratio is a ZIP bomb, not a table.
MAX_RATIO = 200
# Parts smaller than this are not held to MAX_RATIO (tiny parts have meaningless ratios).
RATIO_FLOOR_BYTES = 1024**2
# Of the workbook's own small parts (workbook.xml and its relations) this much is searched.
MAX_INDEX_PART = 1024**2
# <dimension> comes right after the sheet's opening tags; this much of the sheet is read for it.
SHEET_HEAD_BYTES = 16 * 1024

_EOCD = b"PK\x05\x06"
_SHEET = re.compile(rb"<(?:\w+:)?sheet\s[^>]*>")
_REL_ID = re.compile(rb"\s\w+:id=\"([^\"]*)\"")
_RELATION = re.compile(rb"<(?:\w+:)?Relationship\s[^>]*>")
_ATTRIBUTE = re.compile(rb"(\w+)=\"([^\"]*)\"")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"\$?([A-Za-z]{1,3})\$?(\d{1,7})(?::\$?([A-Za-z]{1,3})\$?(\d{1,7}))?\"")


def _not_xlsx(name: str, why: str) -> UnreadableFile:
    return UnreadableFile(f"{name}: not a readable XLSX workbook ({why})")


def check_csv(path: Path) -> None:
    if path.stat().st_size > MAX_CSV_BYTES:
        raise UnreadableFile(f"{path.name}: the file is larger than {MAX_CSV_BYTES // 1024**2} MiB; kiemke reads at most that")


def _zip_entry_count(path: Path) -> int:
    """Entries the ZIP's end record declares, read before zipfile parses the whole directory."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 65_557))  # end record (22 bytes) + the longest comment
        tail = handle.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return -1
    entries, directory_size = struct.unpack("<HI", tail[at + 10 : at + 16])
    return MAX_ZIP_MEMBERS + 1 if entries == 0xFFFF or directory_size == 0xFFFFFFFF else entries


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _small_part(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.open(name).read(MAX_INDEX_PART)
    except KeyError:
        return b""


def _first_sheet(archive: zipfile.ZipFile) -> str | None:
    """The part name of the workbook's first sheet (the one read_table reads). Found with plain
    patterns, not an XML parser: these bytes are untrusted and only two attributes are needed."""
    sheet = _SHEET.search(_small_part(archive, "xl/workbook.xml"))
    rel_id = _REL_ID.search(sheet.group(0)) if sheet else None
    if rel_id is None:
        return None
    for relation in _RELATION.finditer(_small_part(archive, "xl/_rels/workbook.xml.rels")):
        attributes = dict(_ATTRIBUTE.findall(relation.group(0)))
        if attributes.get(b"Id") == rel_id.group(1):
            target = attributes.get(b"Target", b"").decode("utf-8", errors="replace")
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


def check_xlsx(path: Path) -> None:
    name = path.name
    if path.stat().st_size > MAX_XLSX_BYTES:
        raise UnreadableFile(f"{name}: the file is larger than {MAX_XLSX_BYTES // 1024**2} MiB; kiemke reads at most that")
    entries = _zip_entry_count(path)
    if entries < 0 or not zipfile.is_zipfile(path):
        raise _not_xlsx(name, "not a ZIP file")
    if entries > MAX_ZIP_MEMBERS:
        raise _not_xlsx(name, f"more than {MAX_ZIP_MEMBERS} parts")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise _not_xlsx(name, f"it unpacks to more than {MAX_UNPACKED_BYTES // 1024**2} MiB")
            for member in members:
                if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
                    raise _not_xlsx(name, f"a part is compressed more than {MAX_RATIO} times: a ZIP bomb")
            sheet = _first_sheet(archive)
            if sheet is not None and sheet in archive.NameToInfo:
                _check_dimension(name, archive.open(sheet).read(SHEET_HEAD_BYTES))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, OSError, EOFError, zlib.error) as exc:
        raise _not_xlsx(name, type(exc).__name__) from None


def _check_dimension(name: str, head: bytes) -> None:
    found = _DIMENSION.search(head)
    if not found:
        return  # no (usable) dimension: only the sandbox's limits apply
    first_col, first_row, last_col, last_row = (part.decode() if part else None for part in found.groups())
    last_col, last_row = last_col or first_col, last_row or first_row
    rows = int(last_row) - int(first_row) + 1
    columns = _column_number(last_col) - _column_number(first_col) + 1
    if rows > MAX_ROWS or columns > MAX_COLUMNS:
        span = found.group(0).split(b'"')[1].decode()
        raise UnreadableFile(f"{name}: the sheet spans {span} ({max(rows, 0):,} rows by {max(columns, 0):,} columns); kiemke reads at most {MAX_ROWS:,} rows and {MAX_COLUMNS} columns")
