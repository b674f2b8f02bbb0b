"""Every cell kiemke writes goes through inventory.io.cells: control characters never break an
XLSX export, formula-like text is written as text, numbers stay numbers."""

from __future__ import annotations

import csv

import pytest
from openpyxl import load_workbook

from inventory.io.cells import clean_cell, set_xlsx_value
from inventory.io.columns import DEVICE_COLUMNS
from inventory.io.exporter import export_file
from inventory.io.tabular import read_table, write_table
from inventory.models import Device
from tests.inventory.factories import make_province

HOSTILE = "S1\x07-LT\x1b[31m01\x7f\x9b"
CLEANED = "S1\ufffd-LT\ufffd[31m01\ufffd\ufffd"


def test_clean_cell() -> None:
    assert clean_cell(HOSTILE) == CLEANED
    assert clean_cell("a\tb\nc\r\nd") == "a\tb\nc\r\nd"  # tab and line breaks are kept
    assert clean_cell("Nguyễn Thị Hương") == "Nguyễn Thị Hương"
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert clean_cell(text, quote=True) == "'" + text
        assert clean_cell(text) == text
    assert clean_cell("=\x00", quote=True) == "'=\ufffd"
    for value in (-5, 1.5, 0, None, True):
        assert clean_cell(value, quote=True) is value


def test_xlsx_text_is_never_a_formula_and_numbers_stay_numbers() -> None:
    from openpyxl import Workbook

    ws = Workbook().active
    assert set_xlsx_value(ws.cell(row=1, column=1), '=HYPERLINK("http://x","y")').data_type == "s"
    number = set_xlsx_value(ws.cell(row=1, column=2), -3)
    assert (number.value, number.data_type) == (-3, "n")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_write_table_cleans_control_characters(tmp_path, suffix) -> None:
    out = tmp_path / f"t{suffix}"
    assert write_table(out, ["a", "b", "c"], [[HOSTILE, "=1+1", 7]]) == 1
    header, rows = read_table(out)
    assert header == ["a", "b", "c"]
    assert list(rows) == [(2, [CLEANED, "=1+1", "7"])]


@pytest.mark.db
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_device_with_control_characters_exports(session, tmp_path, suffix) -> None:
    ids = make_province(session, sites=1)
    session.add(Device(device_class="laptop", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], hostname=HOSTILE, notes="\x1b[31mred\x1b[0m"))
    session.commit()
    out = tmp_path / f"devices{suffix}"
    assert export_file(session, "devices", out) == 1
    column = [c.key for c in DEVICE_COLUMNS].index("hostname")
    notes = [c.key for c in DEVICE_COLUMNS].index("notes")
    if suffix == ".xlsx":
        row = [cell.value for cell in load_workbook(out).active[2]]
    else:
        with out.open(newline="", encoding="utf-8-sig") as handle:
            row = list(csv.reader(handle))[1]
    assert row[column] == CLEANED
    assert row[notes] == "\ufffd[31mred\ufffd[0m"
