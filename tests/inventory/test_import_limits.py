"""Import limits: over-long cells refuse the file, huge numbers and huge bad values are short row errors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from inventory.io.columns import MAX_INT, non_negative_int
from inventory.io.importer import import_file
from inventory.io.tabular import MAX_CELL, TableFormatError
from inventory.models import ApprovedQuantity, AuditLog, Device, DeviceMac, Site
from tests.inventory.factories import make_province
from tests.inventory.test_import import HEADER, device_row, write_csv, write_xlsx

pytestmark = pytest.mark.db

APPROVED_HEADER = ["Mã đơn vị", "Loại thiết bị", "Số lượng được duyệt", "Quyết định phê duyệt"]


def counts(session) -> tuple[int, ...]:
    session.rollback()
    return tuple(session.execute(select(func.count()).select_from(m)).scalar_one() for m in (Device, DeviceMac, ApprovedQuantity, AuditLog, Site))


def test_csv_cell_of_200000_characters_refuses_the_file(session, tmp_path):
    make_province(session)
    before = counts(session)
    rows = [device_row(1), device_row(2, notes="x" * 200_000)]
    path = write_csv(tmp_path / "d.csv", HEADER, rows)
    with pytest.raises(TableFormatError, match=rf"row 3: a cell is longer than {MAX_CELL} characters") as err:
        import_file(session, "devices", path, actor="t")
    assert len(str(err.value)) < 200
    assert counts(session) == before


def test_csv_cell_just_over_the_bound_but_under_the_csv_limit_refuses_the_file(session, tmp_path):
    make_province(session)
    path = write_csv(tmp_path / "d.csv", HEADER, [device_row(1, notes="y" * (MAX_CELL + 1))])
    with pytest.raises(TableFormatError, match="row 2: a cell is longer than"):
        import_file(session, "devices", path, actor="t")


def swap_text(path: Path, placeholder: str, text: str) -> Path:
    """openpyxl cuts a cell to 32,767 characters on writing, so put the long text into the XML directly."""
    patched = path.with_name("patched-" + path.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith(".xml"):
                data = data.replace(placeholder.encode(), text.encode())
            target.writestr(item, data)
    return patched


def test_xlsx_cell_of_40000_characters_refuses_the_file(session, tmp_path):
    make_province(session)
    before = counts(session)
    rows = [device_row(1), device_row(2), device_row(3, hostname="PLACEHOLDER-LONG")]
    path = swap_text(write_xlsx(tmp_path / "d.xlsx", HEADER, rows), "PLACEHOLDER-LONG", "h" * 40_000)
    with pytest.raises(TableFormatError, match=rf"row 4: a cell is longer than {MAX_CELL} characters"):
        import_file(session, "devices", path, actor="t")
    assert counts(session) == before


@pytest.mark.parametrize("partial", [False, True])
def test_quantity_beyond_64_bits_is_a_row_error(session, tmp_path, partial):
    make_province(session)
    before = counts(session)
    rows = [["S1", "laptop", "99999999999999999999999", "QĐ 1"], ["S2", "laptop", "3", "QĐ 1"]]
    report = import_file(session, "approved", write_csv(tmp_path / "a.csv", APPROVED_HEADER, rows), partial=partial, actor="t")
    assert [(e.row, e.column) for e in report.errors] == [(2, "Số lượng được duyệt")]
    assert "too large" in report.errors[0].reason and str(MAX_INT) in report.errors[0].reason
    if partial:
        session.commit()
        assert report.applied and report.created == 1
        assert session.execute(select(ApprovedQuantity.quantity)).scalars().all() == [3]
    else:
        assert not report.applied
        assert counts(session) == before


def test_poll_interval_beyond_64_bits_is_a_row_error(session, tmp_path):
    make_province(session)
    before = counts(session)
    header = ["Mã đơn vị", "Tên đơn vị", "Loại đơn vị", "Chu kỳ thu thập (phút)"]
    rows = [["S9", "Xã Mới", "commune", "1" + "0" * 30]]
    report = import_file(session, "sites", write_csv(tmp_path / "s.csv", header, rows), actor="t")
    assert [(e.row, e.column) for e in report.errors] == [(2, "Chu kỳ thu thập (phút)")]
    assert not report.applied
    assert counts(session) == before


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", 0), ("12", 12), ("+7", 7), ("-0", 0), ("007", 7), (str(MAX_INT), MAX_INT), ("", None)],
)
def test_whole_numbers_in_range_are_accepted(raw, expected):
    assert non_negative_int(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (str(MAX_INT + 1), "too large"),
        ("9" * 5000, "too large"),  # int() itself refuses more than 4,300 digits
        ("1_000", "not a whole number"),
        ("١٢", "not a whole number"),
        ("1.5", "not a whole number"),
        ("-3", "must not be negative"),
    ],
)
def test_whole_numbers_out_of_range_or_malformed_are_refused_briefly(raw, reason):
    with pytest.raises(ValueError, match=reason) as err:
        non_negative_int(raw)
    assert len(str(err.value)) < 200


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_huge_bad_values_are_echoed_cut_short(session, tmp_path, suffix):
    make_province(session)
    before = counts(session)
    huge = "z" * 30_000  # under the cell bound, so each row is read and rejected on its own
    rows = [
        device_row(1, purchase_date=huge),
        device_row(2, mgmt_ip=huge),
        device_row(3, status=huge),
        device_row(4, country_of_origin=huge),
        device_row(5, macs=huge),
    ]
    writer = write_csv if suffix == ".csv" else write_xlsx
    report = import_file(session, "devices", writer(tmp_path / f"d{suffix}", HEADER, rows), actor="t")
    assert [e.row for e in report.errors] == [2, 3, 4, 5, 6]
    assert not report.applied
    for error in report.errors:
        assert len(error.reason) <= 301 and len(str(error)) < 400
    assert "not a date: '" + "z" * 80 + "'…" in report.errors[0].reason
    assert counts(session) == before


def test_huge_unknown_header_is_cut_short(session, tmp_path):
    make_province(session)
    path = write_csv(tmp_path / "d.csv", [*HEADER, "q" * 20_000], [device_row(1)])
    report = import_file(session, "devices", path, actor="t")
    assert [(e.row, e.reason) for e in report.errors] == [(1, "unknown column")]
    assert len(report.errors[0].column) <= 81
