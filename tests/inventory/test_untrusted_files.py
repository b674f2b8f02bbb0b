"""Hostile import files: refused by the cheap checks or stopped by the sandbox, one line each, nothing changed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from inventory.io.file_limits import MAX_COLUMNS, MAX_CSV_BYTES, MAX_ROWS
from inventory.io.importer import import_file
from inventory.io.sandbox import UnreadableFile, load_json_limited, run_parser
from inventory.io.tabular import TableFormatError, read_table
from inventory.models import AuditLog, Device
from tests.inventory.factories import make_province

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def write_workbook(path: Path, rows: dict[int, list[tuple[str, str]]], dimension: str | None = None) -> Path:
    """A minimal workbook written by hand: one sheet of inline-string cells {row: [(ref, text)]}."""
    sheet_rows = "".join(f'<row r="{n}">' + "".join(cell(ref, text) for ref, text in cells) + "</row>" for n, cells in rows.items())
    dimension_xml = f'<dimension ref="{dimension}"/>' if dimension else ""
    parts = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}">{dimension_xml}<sheetData>{sheet_rows}</sheetData></worksheet>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def far_corner_workbook(path: Path, dimension: str | None = None) -> Path:
    """Cells A1 and XFD1048576: ~2 KB that the XLSX reader unfolds into a 17-billion-cell grid."""
    return write_workbook(path, {1: [("A1", "Mã đơn vị")], 1_048_576: [("XFD1048576", "x")]}, dimension)


def zip_bomb(path: Path) -> Path:
    write_workbook(path, {1: [("A1", "Mã đơn vị")]})
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (300 * 1024**2), compresslevel=1)  # 1.3 MB packed, 300 MiB unpacked
    return path


def counts(session) -> tuple[int, int]:
    session.rollback()
    return tuple(session.execute(select(func.count()).select_from(m)).scalar_one() for m in (Device, AuditLog))


def one_line(message: str) -> str:
    assert "\n" not in message and "Traceback" not in message and 0 < len(message) < 300, message
    return message


def test_a_handmade_workbook_is_read(tmp_path):
    # The hostile files below differ from this one only in where their cells are.
    path = write_workbook(tmp_path / "ok.xlsx", {1: [("A1", "Mã đơn vị"), ("B1", "Số sê-ri")], 2: [("A2", "S1"), ("B2", "SN-1")]}, "A1:B2")
    header, rows = read_table(path)
    assert (header, list(rows)) == (["Mã đơn vị", "Số sê-ri"], [(2, ["S1", "SN-1"])])


def test_the_far_corner_workbook_kills_an_unguarded_process(tmp_path):
    """What the sandbox is for: read directly, the 2 KB file aborts the process that reads it."""
    path = far_corner_workbook(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 3000
    script = "import sys, python_calamine as c; list(c.CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0).iter_rows())"
    code = f"import resource; resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3,) * 2); resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); {script}"
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, timeout=60)
    assert result.returncode == -signal.SIGABRT and b"memory allocation" in result.stderr


@pytest.mark.db
def test_far_corner_workbook_without_dimension_is_stopped_by_the_sandbox(session, tmp_path):
    make_province(session)
    before = counts(session)
    path = far_corner_workbook(tmp_path / "bomb.xlsx")
    with pytest.raises(TableFormatError) as err:
        import_file(session, "devices", path, actor="t")
    assert one_line(str(err.value)) == "bomb.xlsx: could not be read: it needs more than 1 GiB of memory"
    assert counts(session) == before


def test_far_corner_workbook_with_a_lying_dimension_is_stopped_by_the_sandbox(tmp_path):
    path = far_corner_workbook(tmp_path / "liar.xlsx", dimension="A1:B2")
    with pytest.raises(TableFormatError, match=r"^liar\.xlsx: could not be read: it needs more than 1 GiB of memory$"):
        read_table(path)


def test_far_corner_workbook_with_its_true_dimension_is_refused_before_parsing(tmp_path):
    path = far_corner_workbook(tmp_path / "honest.xlsx", dimension="A1:XFD1048576")
    with pytest.raises(TableFormatError) as err:
        read_table(path)
    assert one_line(str(err.value)) == (f"honest.xlsx: the sheet spans A1:XFD1048576 (1,048,576 rows by 16,384 columns); kiemke reads at most {MAX_ROWS:,} rows and {MAX_COLUMNS} columns")


def test_zip_bomb_is_refused_before_unpacking(tmp_path):
    path = zip_bomb(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 2 * 1024**2
    with pytest.raises(TableFormatError, match=r"^bomb\.xlsx: not a readable XLSX workbook \(it unpacks to more than 256 MiB\)$"):
        read_table(path)


def test_highly_compressed_part_is_refused(tmp_path):
    path = write_workbook(tmp_path / "d.xlsx", {1: [("A1", "Mã đơn vị")]})
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (8 * 1024**2))
    with pytest.raises(TableFormatError, match=r"a part is compressed more than 200 times: a ZIP bomb"):
        read_table(path)


def test_workbook_of_many_parts_is_refused(tmp_path):
    path = write_workbook(tmp_path / "d.xlsx", {1: [("A1", "Mã đơn vị")]})
    with zipfile.ZipFile(path, "a") as archive:
        for n in range(1001):
            archive.writestr(f"xl/media/{n}.bin", b"")
    with pytest.raises(TableFormatError, match=r"^d\.xlsx: not a readable XLSX workbook \(more than 1000 parts\)$"):
        read_table(path)


def test_xlsx_that_is_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "d.xlsx"
    path.write_text("Mã đơn vị,Số sê-ri\nS1,SN-1\n", encoding="utf-8")
    with pytest.raises(TableFormatError, match=r"^d\.xlsx: not a readable XLSX workbook \(not a ZIP file\)$"):
        read_table(path)


def test_huge_csv_is_refused_by_its_size(tmp_path):
    path = tmp_path / "d.csv"
    with path.open("wb") as handle:
        handle.write("Mã đơn vị\n".encode())
        handle.truncate(MAX_CSV_BYTES + 1)  # sparse: no disk or time spent
    with pytest.raises(TableFormatError, match=r"^d\.csv: the file is larger than 100 MiB; kiemke reads at most that$"):
        read_table(path)


def test_csv_wider_than_the_column_limit_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(",".join(f"c{n}" for n in range(MAX_COLUMNS + 1)) + "\n", encoding="utf-8")
    with pytest.raises(TableFormatError, match=rf"^d\.csv: row 1: more than {MAX_COLUMNS} columns"):
        read_table(path)


def test_csv_longer_than_the_row_limit_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a\n" * (MAX_ROWS + 1), encoding="utf-8")
    with pytest.raises(TableFormatError, match=rf"^d\.csv: more than {MAX_ROWS:,} rows"):
        read_table(path)


@pytest.mark.db
def test_the_cli_refuses_the_far_corner_workbook_in_one_line(session, kiemke_env, tmp_path):
    make_province(session)
    session.commit()
    before = counts(session)
    path = far_corner_workbook(tmp_path / "bomb.xlsx")
    kiemke = str(Path(sys.executable).with_name("kiemke"))
    result = subprocess.run([kiemke, "import", "devices", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == "" and one_line(result.stderr.strip()) == "error: bomb.xlsx: could not be read: it needs more than 1 GiB of memory"
    assert counts(session) == before


def test_sandbox_reports_time_crash_and_memory_in_one_line(tmp_path):
    path = tmp_path / "any.bin"
    path.write_bytes(b"x")
    child = "tests.inventory.sandbox_parsers"
    with pytest.raises(UnreadableFile, match=r"^any\.bin: could not be read: it took longer than 1 s$"):
        run_parser("spin", path, child=child, seconds=1)
    with pytest.raises(UnreadableFile, match=r"^any\.bin: could not be read: the reader crashed \(signal 11\)$"):
        run_parser("crash", path, child=child)
    with pytest.raises(UnreadableFile, match=r"^any\.bin: could not be read: it needs more than 1 GiB of memory$"):
        run_parser("hoard", path, child=child)


def test_the_child_gets_no_secrets_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://kiemke:hunter2@127.0.0.1/kiemke")
    monkeypatch.setenv("KIEMKE_SECRET_KEY", "s3cret")
    path = tmp_path / "any.bin"
    path.write_bytes(b"x")
    names = run_parser("environment", path, child="tests.inventory.sandbox_parsers")
    assert "DATABASE_URL" not in names and "KIEMKE_SECRET_KEY" not in names and "PYTHONPATH" in names


def test_sandbox_bounds_what_the_child_sends_back(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n" * 1000, encoding="utf-8")
    assert len(run_parser("csv-table", path)) == 1000
    with pytest.raises(UnreadableFile, match=r"^d\.csv: could not be read: it holds more than 4 KiB of data$"):
        run_parser("csv-table", path, max_output=4096)


def test_load_json_limited(tmp_path):
    good = tmp_path / "scan.json"
    good.write_text(json.dumps({"devices": [{"ip": "10.0.0.1", "name": "Lò Văn Thắng"}]}), encoding="utf-8")
    assert load_json_limited(good, 1024) == {"devices": [{"ip": "10.0.0.1", "name": "Lò Văn Thắng"}]}
    with pytest.raises(UnreadableFile, match=r"^scan\.json: the file is larger than 16 bytes$"):
        load_json_limited(good, 16)
    bad = tmp_path / "bad.json"
    bad.write_text('{"devices": [', encoding="utf-8")
    with pytest.raises(UnreadableFile, match=r"^bad\.json: not valid JSON \(JSONDecodeError\)$"):
        load_json_limited(bad, 1024)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    with pytest.raises(UnreadableFile, match=r"^deep\.json: not readable as JSON \(nested too deeply\)$"):
        load_json_limited(deep, 1024**2)
