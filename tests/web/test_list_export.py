"""The one export helper of the list pages (inventory.io.table_export): labels as given, numbers
as numbers in the language's format, dates as dates, widths, autofilter, print setup; CSV
chunks with a BOM, formula-like text never a formula."""

from __future__ import annotations

from datetime import UTC, date, datetime

import openpyxl
import pytest

from inventory.io.table_export import ExportColumn, csv_chunks, write_xlsx

COLUMNS = [
    ExportColumn("Mã", lambda r: r["id"], "int"),
    ExportColumn("Tên máy", lambda r: r["name"]),
    ExportColumn("Ngày mua", lambda r: r["bought"], "date"),
    ExportColumn("Thấy lần cuối", lambda r: r["seen"], "datetime"),
    ExportColumn("Tỷ lệ", lambda r: r["ratio"], "decimal"),
    ExportColumn("MAC", lambda r: r["macs"]),
]
ROWS = [
    {"id": 4511, "name": '=HYPERLINK("x")', "bought": date(2021, 3, 4), "seen": datetime(2026, 12, 3, 1, 30, tzinfo=UTC), "ratio": 0.25, "macs": ["aa:bb", "cc:dd"]},
    {"id": 7, "name": "một tên máy rất dài cho cột", "bought": None, "seen": "2026-12-03T02:00:00", "ratio": None, "macs": []},
]


@pytest.mark.parametrize(("language", "int_format", "date_format"), [("vi", "[$-42A]#,##0", "dd/mm/yyyy"), ("en", "#,##0", "yyyy-mm-dd")])
def test_xlsx_holds_typed_values_formats_filter_and_print_setup(tmp_path, language, int_format, date_format):
    path = tmp_path / "list.xlsx"
    assert write_xlsx(COLUMNS, ROWS, path, title="Thiết bị: [tất cả]", language=language) == 2
    ws = openpyxl.load_workbook(path).active
    assert ws.title == "Thiết bị- -tất cả-"
    assert [c.value for c in ws[1]] == [c.label for c in COLUMNS]
    first = ws[2]
    assert first[0].value == 4511 and first[0].data_type == "n" and first[0].number_format == int_format
    assert first[1].value == '=HYPERLINK("x")' and first[1].data_type == "s"  # text, never a formula
    assert first[2].value == datetime(2021, 3, 4) and first[2].number_format == date_format
    assert first[3].value == datetime(2026, 12, 3, 8, 30)  # local time (UTC+7)
    assert first[4].value == 0.25 and first[4].number_format.endswith("#,##0.00")
    assert first[5].value == "aa:bb; cc:dd"
    assert ws[3][3].value == datetime(2026, 12, 3, 9, 0)  # a stored naive time is UTC
    assert ws[3][2].value is None and ws[3][5].value is None
    assert ws.auto_filter.ref == "A1:F3"
    assert ws.freeze_panes == "A2" and ws.print_title_rows == "$1:$1"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.column_dimensions["B"].width > ws.column_dimensions["A"].width >= 6


def test_csv_has_a_bom_plain_numbers_iso_dates_and_quoted_formulas():
    text = "".join(csv_chunks(COLUMNS, ROWS, rows_per_chunk=1))
    lines = text.splitlines()
    assert lines[0] == "\ufeffMã,Tên máy,Ngày mua,Thấy lần cuối,Tỷ lệ,MAC"
    assert lines[1] == '4511,"\'=HYPERLINK(""x"")",2021-03-04,2026-12-03 08:30,0.25,aa:bb; cc:dd'
    assert lines[2] == "7,một tên máy rất dài cho cột,,2026-12-03 09:00,,"


def test_csv_is_produced_in_chunks():
    rows = [dict(ROWS[1], id=i) for i in range(1200)]
    chunks = list(csv_chunks(COLUMNS, rows, rows_per_chunk=500))
    assert len(chunks) == 3 and "".join(chunks).count("\n") == 1201


def test_a_column_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        ExportColumn("x", lambda r: r, "money")


def test_xlsx_is_a_plain_package_and_long_text_is_cut_to_what_a_cell_holds(tmp_path):
    import zipfile

    path = tmp_path / "long.xlsx"
    write_xlsx([ExportColumn("Sau", lambda r: r)], ["x" * 40_000, "ngắn & <gọn>"], path, title="Nhật ký")
    with zipfile.ZipFile(path) as package:
        assert sorted(package.namelist()) == ["[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"]
    ws = openpyxl.load_workbook(path).active
    assert len(ws["A2"].value) == 32_767 and ws["A2"].value.endswith("…")
    assert ws["A3"].value == "ngắn & <gọn>"


def test_a_failed_write_leaves_no_file(tmp_path):
    def broken(row):
        if row == 250:  # after the rows that set the widths: the package is being written
            raise RuntimeError("the database went away")
        return row

    path = tmp_path / "broken.xlsx"
    with pytest.raises(RuntimeError):
        write_xlsx([ExportColumn("x", broken, "int")], range(300), path, title="x")
    assert not path.exists()


def test_a_second_reader_takes_the_workbook_too(tmp_path):
    """calamine (the Rust reader kiemke's imports use) reads the cells, dates by their formats."""
    from python_calamine import CalamineWorkbook

    path = tmp_path / "list.xlsx"
    write_xlsx(COLUMNS, ROWS, path, title="Thiết bị")
    workbook = CalamineWorkbook.from_path(str(path))
    assert workbook.sheet_names == ["Thiết bị"]
    rows = workbook.get_sheet_by_index(0).to_python()
    assert rows[0] == [c.label for c in COLUMNS]
    assert rows[1] == [4511.0, '=HYPERLINK("x")', date(2021, 3, 4), datetime(2026, 12, 3, 8, 30), 0.25, "aa:bb; cc:dd"]
