"""Import: row-level error reports, all-or-nothing, --partial, idempotent re-import, round trips."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from inventory.io.columns import DEVICE_COLUMNS
from inventory.io.exporter import export_file, write_template
from inventory.io.importer import import_file
from inventory.io.tabular import TableFormatError
from inventory.models import ApprovedQuantity, AuditLog, Device, DeviceMac, Site, Subnet
from inventory.repository import DeviceFilter, list_devices
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

HEADER = [c.header_vi for c in DEVICE_COLUMNS]


def device_row(n: int, **overrides) -> list[str]:
    values = {
        "site_code": "S1", "zone": "internet", "device_class": "laptop", "hostname": f"S1-LT{n:04d}",
        "mgmt_ip": f"10.1.{2 + n // 250}.{n % 250 + 1}", "macs": f"02:00:00:00:{n // 256:02x}:{n % 256:02x}",
        "vendor": "Dell", "model": "Latitude 3420", "serial": f"SN{n:05d}", "os_name": "Windows 11 Pro",
        "os_version": "23H2", "country_of_origin": "US", "purchase_date": "2023-05-12", "status": "in_use",
        "assigned_user": "Nguyễn Thị Hương", "platform": "", "notes": "",
        "tpm_version": "", "secure_boot": "", "disk_encryption": "",
    }  # fmt: skip
    values.update(overrides)
    return [values[c.key] for c in DEVICE_COLUMNS]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_one_bad_row_in_a_thousand_is_reported_and_nothing_changes(session, tmp_path):
    make_province(session)
    rows = [device_row(n) for n in range(1000)]
    rows[736] = device_row(736, device_class="lapptop")  # spreadsheet row 738
    path = write_xlsx(tmp_path / "devices.xlsx", HEADER, rows)

    report = import_file(session, "devices", path, actor="test")

    assert [(e.row, e.column) for e in report.errors] == [(738, "Loại thiết bị")]
    assert "lapptop" in report.errors[0].reason
    assert report.applied is False
    session.rollback()
    assert count(session, Device) == 0 and count(session, DeviceMac) == 0


def test_partial_imports_the_good_rows_and_lists_the_bad(session, tmp_path):
    make_province(session)
    rows = [device_row(n) for n in range(20)]
    rows[3] = device_row(3, macs="zz:00")
    rows[9] = device_row(9, purchase_date="31/02/2024")
    path = write_csv(tmp_path / "devices.csv", HEADER, rows)

    report = import_file(session, "devices", path, partial=True, actor="test")
    session.commit()

    assert [(e.row, e.column) for e in report.errors] == [(5, "Địa chỉ MAC"), (11, "Ngày mua")]
    assert report.created == 18 and report.applied
    assert count(session, Device) == 18
    assert session.execute(select(Device).where(Device.serial == "SN00003")).first() is None


def test_reimporting_the_same_file_changes_nothing(session, tmp_path):
    make_province(session)
    path = write_csv(tmp_path / "devices.csv", HEADER, [device_row(n) for n in range(50)])
    first = import_file(session, "devices", path, actor="test")
    session.commit()
    before = session.execute(select(Device.id, Device.updated_at)).all()

    second = import_file(session, "devices", path, actor="test")
    session.commit()

    assert (first.created, second.created, second.updated, second.unchanged) == (50, 0, 0, 50)
    assert session.execute(select(Device.id, Device.updated_at)).all() == before
    assert count(session, DeviceMac) == 50


def test_changed_row_updates_the_device_and_is_audited(session, tmp_path):
    make_province(session)
    import_file(session, "devices", write_csv(tmp_path / "a.csv", HEADER, [device_row(1)]), actor="test")
    session.commit()

    report = import_file(session, "devices", write_csv(tmp_path / "b.csv", HEADER, [device_row(1, model="Latitude 5440")]), actor="alice")
    session.commit()

    assert (report.created, report.updated) == (0, 1)
    assert session.execute(select(Device.model)).scalar_one() == "Latitude 5440"
    entry = session.execute(select(AuditLog).where(AuditLog.action == "update")).scalar_one()
    assert entry.actor == "alice" and entry.before == {"model": "Latitude 3420"} and entry.after == {"model": "Latitude 5440"}


@pytest.mark.parametrize(
    "overrides, column, reason",
    [
        ({"site_code": "NOPE"}, "Mã đơn vị", "unknown site"),
        ({"zone": "dmz"}, "Vùng mạng", "unknown value"),
        ({"mgmt_ip": "10.1.2.300"}, "Địa chỉ IP", "not an IP address"),
        ({"country_of_origin": "Vietnam"}, "Xuất xứ", "two-letter"),
        ({"purchase_date": "2099-01-01"}, "Ngày mua", "future"),
        ({"status": "lost"}, "Tình trạng", "unknown value"),
        ({"serial": "", "macs": "", "mgmt_ip": ""}, "Số sê-ri", "serial, a MAC or an IP"),
        ({"device_class": ""}, "Loại thiết bị", "required value is empty"),
    ],
)
def test_bad_cells_are_reported_with_row_column_and_reason(session, tmp_path, overrides, column, reason):
    make_province(session)
    path = write_csv(tmp_path / "d.csv", HEADER, [device_row(1), device_row(2, **overrides)])
    report = import_file(session, "devices", path, actor="test")
    assert len(report.errors) == 1
    assert (report.errors[0].row, report.errors[0].column) == (3, column)
    assert reason in report.errors[0].reason


def test_duplicates_within_the_file_are_rejected(session, tmp_path):
    make_province(session)
    rows = [device_row(1), device_row(2, serial="SN00001"), device_row(3, macs=device_row(1)[5], serial="X")]
    report = import_file(session, "devices", write_csv(tmp_path / "d.csv", HEADER, rows), actor="test")
    assert [e.row for e in report.errors] == [3, 4]
    assert all("same device as row 2" in e.reason for e in report.errors)


def test_row_matching_two_recorded_devices_is_a_conflict(session, tmp_path):
    make_province(session)
    import_file(session, "devices", write_csv(tmp_path / "a.csv", HEADER, [device_row(1), device_row(2)]), actor="t")
    session.commit()
    clash = device_row(1, macs=device_row(2)[5])
    report = import_file(session, "devices", write_csv(tmp_path / "b.csv", HEADER, [clash]), actor="t")
    assert len(report.errors) == 1 and "more than one recorded device" in report.errors[0].reason


def test_header_problems_stop_the_import(session, tmp_path):
    make_province(session)
    header = [h for h in HEADER if h != "Loại thiết bị"] + ["Màu sắc"]
    report = import_file(session, "devices", write_csv(tmp_path / "d.csv", header, [["x"] * len(header)]), actor="t")
    assert {(e.row, e.column, e.reason) for e in report.errors} == {
        (1, "Màu sắc", "unknown column"),
        (1, "Loại thiết bị", "required column is missing"),
    }


def test_english_headers_are_accepted(session, tmp_path):
    make_province(session)
    header = [c.header_en for c in DEVICE_COLUMNS]
    report = import_file(session, "devices", write_csv(tmp_path / "d.csv", header, [device_row(1)]), actor="t")
    assert report.created == 1 and not report.errors


def test_not_utf8_csv_is_refused_clearly(session, tmp_path):
    make_province(session)
    path = tmp_path / "d.csv"
    path.write_bytes(",".join(HEADER).encode("cp1258", errors="replace") + b"\n\xff\xfe\n")
    with pytest.raises(TableFormatError, match="not UTF-8"):
        import_file(session, "devices", path, actor="t")


def test_damaged_xlsx_is_refused_clearly(session, tmp_path):
    path = tmp_path / "d.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(TableFormatError, match="not a readable XLSX"):
        import_file(session, "devices", path, actor="t")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_round_trips_vietnamese_text(session, tmp_path, suffix):
    make_province(session)
    names = ["Lò Văn Thắng", "Giàng A Sùng", "Quàng Thị Hồng"]
    rows = [device_row(n, assigned_user=name, notes=f"Máy của {name} — đã kiểm kê") for n, name in enumerate(names)]
    import_file(session, "devices", write_csv(tmp_path / "in.csv", HEADER, rows), actor="t")
    session.commit()

    out = tmp_path / f"out{suffix}"
    assert export_file(session, "devices", out) == 3
    report = import_file(session, "devices", out, actor="t")
    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 0, 3, [])
    users = {row["assigned_user"] for row in list_devices(session, DeviceFilter(), per_page=None)[0]}
    assert users == set(names)


def test_sites_import_creates_zones_and_subnets_and_is_idempotent(session, tmp_path):
    header = ["Mã đơn vị", "Tên đơn vị", "Loại đơn vị", "Dải mạng diện rộng của Đảng", "Dải mạng Internet"]
    rows = [["X-NA-HY", "Xã Nà Hỳ", "Xã", "10.6.1.0/24", "10.6.2.0/24; 10.6.3.0/24"], ["P-MUONG-LAY", "Phường Mường Lay", "ward", "", ""]]
    path = write_xlsx(tmp_path / "sites.xlsx", header, rows)
    first = import_file(session, "sites", path, actor="t")
    session.commit()
    second = import_file(session, "sites", path, actor="t")
    session.commit()
    assert (first.created, second.created, second.updated, second.unchanged) == (2, 0, 0, 2)
    site = session.execute(select(Site).where(Site.code == "X-NA-HY")).scalar_one()
    assert site.kind == "commune" and site.name == "Xã Nà Hỳ"
    assert sorted(session.execute(select(Subnet.cidr)).scalars()) == ["10.6.1.0/24", "10.6.2.0/24", "10.6.3.0/24"]


def test_bad_subnet_in_sites_file(session, tmp_path):
    header = ["code", "name", "kind", "party_wan_subnets"]
    path = write_csv(tmp_path / "s.csv", header, [["A", "Xã A", "commune", "10.0.0.1/24"]])
    report = import_file(session, "sites", path, actor="t")
    assert report.errors[0].row == 2 and "CIDR" in report.errors[0].reason
    assert count(session, Site) == 0


def test_approved_quantities_import(session, tmp_path):
    make_province(session)
    header = ["Mã đơn vị", "Loại thiết bị", "Số lượng được duyệt", "Quyết định phê duyệt"]
    rows = [["S1", "firewall", "2", "QĐ 123"], ["S1", "Máy tính xách tay", "14", "QĐ 123"], ["S2", "laptop", "-3", ""], ["S9", "laptop", "1", ""]]
    report = import_file(session, "approved", write_csv(tmp_path / "a.csv", header, rows), actor="t")
    assert [(e.row, e.column) for e in report.errors] == [(4, "Số lượng được duyệt"), (5, "Mã đơn vị")]
    assert count(session, ApprovedQuantity) == 0
    report = import_file(session, "approved", write_csv(tmp_path / "a.csv", header, rows[:2]), actor="t")
    session.commit()
    assert report.created == 2
    assert dict(session.execute(select(ApprovedQuantity.device_class, ApprovedQuantity.quantity)).all()) == {"firewall": 2, "laptop": 14}


@pytest.mark.parametrize("kind", ["sites", "devices", "approved"])
def test_templates_have_vietnamese_headers(tmp_path, kind):
    path = tmp_path / f"{kind}.csv"
    write_template(kind, path)
    header = path.read_text(encoding="utf-8-sig").splitlines()[0]
    assert "Mã đơn vị" in header


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_formula_like_text_is_exported_as_text_and_round_trips(session, tmp_path, suffix):
    make_province(session)
    hostile = '=HYPERLINK("http://evil","x")'
    import_file(session, "devices", write_csv(tmp_path / "in.csv", HEADER, [device_row(1, hostname=hostile, notes="-1+1")]), actor="t")
    session.commit()
    out = tmp_path / f"out{suffix}"
    export_file(session, "devices", out)
    if suffix == ".csv":
        assert "'=HYPERLINK" in out.read_text(encoding="utf-8-sig")
    else:
        from openpyxl import load_workbook

        cell = load_workbook(out).active.cell(row=2, column=4)
        assert cell.value == hostile and cell.data_type == "s"
    report = import_file(session, "devices", out, actor="t")
    assert (report.unchanged, report.updated, report.errors) == (1, 0, [])
