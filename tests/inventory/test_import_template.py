"""Import templates (drop-down lists, instructions, no example row) and the import's dry run."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from inventory.io.columns import DEVICE_COLUMNS, KINDS
from inventory.io.exporter import template_sites
from inventory.io.importer import import_file
from inventory.io.tabular import read_table
from inventory.io.template import INSTRUCTIONS_TITLE, LISTS_TITLE, write_template
from inventory.models import AuditLog, Device, DeviceMac, Observation, Site, Subnet
from tests.inventory.factories import make_province
from tests.inventory.test_import import HEADER, device_row, write_csv

pytestmark = pytest.mark.db


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize("kind", list(KINDS))
def test_template_has_only_the_header_on_its_first_sheet(session, tmp_path, kind):
    path = tmp_path / f"{kind}.xlsx"
    write_template(kind, path, [("S1", "Xã Thử 1")])
    header, body = read_table(path)  # what the importer reads
    assert header == [c.header_vi for c in KINDS[kind]] and list(body) == []
    report = import_file(session, kind, path, actor="t")
    assert report.rows == 0 and not report.errors
    book = load_workbook(path)
    assert book.sheetnames[1:] == [INSTRUCTIONS_TITLE, LISTS_TITLE] and book[LISTS_TITLE].sheet_state == "hidden"
    data = book.worksheets[0]
    assert data.freeze_panes == "A2" and all(data.column_dimensions[chr(65 + n)].width >= 10 for n in range(len(KINDS[kind])))
    # The instructions name every column, whether it is required, and its example.
    guide = {row[0]: row for row in book[INSTRUCTIONS_TITLE].iter_rows(values_only=True) if row[0]}
    for column in KINDS[kind]:
        assert guide[column.header_vi][1] == ("Có" if column.required else "Không") and guide[column.header_vi][2] == column.meaning


def test_template_csv_is_the_header_alone(tmp_path):
    path = tmp_path / "devices.csv"
    write_template("devices", path)
    assert path.read_text(encoding="utf-8-sig").splitlines() == [",".join(HEADER)]


def test_drop_down_lists_offer_codes_with_labels_that_the_importer_takes(session, tmp_path):
    make_province(session)
    path = tmp_path / "devices.xlsx"
    write_template("devices", path, template_sites(session))
    book = load_workbook(path)
    data, lists = book.worksheets[0], book[LISTS_TITLE]
    offered: dict[str, list[str]] = {}
    for validation in data.data_validations.dataValidation:
        column = str(validation.sqref).split(":")[0].rstrip("0123456789")
        assert validation.type == "list" and str(validation.sqref).endswith("100001")
        reference = book.defined_names[validation.formula1].attr_text
        assert reference.startswith(f"'{LISTS_TITLE}'!")
        cells = lists[reference.split("!")[1].replace("$", "")]
        offered[data[f"{column}1"].value] = [row[0].value for row in cells]
    assert offered["Mã đơn vị"] == ["S1 — Xã Thử 1", "S2 — Xã Thử 2"]
    assert "laptop — Máy tính xách tay" in offered["Loại thiết bị"] and "in_use — Đang sử dụng" in offered["Tình trạng"]
    assert offered["Vùng mạng"] == ["party_wan — Mạng diện rộng của Đảng", "internet — Mạng Internet"]
    assert "VN — Việt Nam" in offered["Xuất xứ"] and offered["Secure Boot"] == ["bật", "tắt", "không hỗ trợ"]
    # A row filled from the lists alone imports.
    picked = {"Mã đơn vị": "S2 — Xã Thử 2", "Vùng mạng": "internet — Mạng Internet", "Loại thiết bị": "laptop — Máy tính xách tay",
              "Số sê-ri": "SN-PICKED", "Xuất xứ": "VN — Việt Nam", "Tình trạng": "in_stock — Trong kho", "TPM": "không có",
              "Secure Boot": "không hỗ trợ", "Mã hóa ổ đĩa": "một phần"}  # fmt: skip
    for number, column in enumerate(DEVICE_COLUMNS, start=1):
        if column.header_vi in picked:
            assert column.key == "serial" or picked[column.header_vi] in offered[column.header_vi]
            data.cell(2, number, picked[column.header_vi])
    book.save(path)
    report = import_file(session, "devices", path, actor="t")
    assert (report.created, report.errors) == (1, [])
    device = session.execute(select(Device).where(Device.serial == "SN-PICKED")).scalar_one()
    assert (device.device_class, device.status, device.country_of_origin) == ("laptop", "in_stock", "VN")
    assert session.get(Site, device.site_id).code == "S2"


def test_dry_run_reports_each_change_and_writes_nothing(session, tmp_path):
    make_province(session)
    rows = [device_row(n) for n in range(3)]
    import_file(session, "devices", write_csv(tmp_path / "a.csv", HEADER, rows), actor="t")
    session.commit()
    before = {model: count(session, model) for model in (Device, DeviceMac, AuditLog, Observation, Subnet)}
    changed = [device_row(0), device_row(1, assigned_user="Lò Văn Minh", site_code="S2", macs="02:00:00:00:00:01 02:aa:00:00:00:01", tpm_version="2.0"), device_row(7)]
    report = import_file(session, "devices", write_csv(tmp_path / "b.csv", HEADER, changed), actor="t", dry_run=True)
    assert (report.created, report.updated, report.unchanged, report.errors) == (1, 1, 1, [])
    assert report.would_apply and not report.applied
    assert [(c.row, c.outcome, c.record) for c in report.changes] == [(2, "unchanged", "SN00000"), (3, "updated", "SN00001"), (4, "created", "SN00007")]
    fields = {f.key: (f.before, f.after) for f in report.changes[1].fields}
    assert fields == {"assigned_user": ("Nguyễn Thị Hương", "Lò Văn Minh"), "site_code": ("S1", "S2"),
                      "macs": ("02:00:00:00:00:01", "02:00:00:00:00:01; 02:aa:00:00:00:01"), "tpm_version": (None, "2.0")}  # fmt: skip
    assert [f.key for f in report.changes[2].fields][:4] == ["site_code", "zone", "device_class", "hostname"]  # the file's order
    assert {f.key for f in report.changes[2].fields} >= {"serial", "macs"}
    assert report.as_dict()["dry_run"] is True and report.as_dict()["changes"][1]["fields"][0]["column"] == "assigned_user"
    session.commit()  # even a commit after it keeps nothing of the dry run
    assert {model: count(session, model) for model in before} == before
    assert session.execute(select(Device.assigned_user).where(Device.serial == "SN00001")).scalar_one() == "Nguyễn Thị Hương"
    # Applied for real, the same file does what the dry run said.
    applied = import_file(session, "devices", tmp_path / "b.csv", actor="t")
    assert (applied.created, applied.updated, applied.unchanged, applied.applied) == (1, 1, 1, True)
    assert [(c.row, c.outcome) for c in applied.changes] == [(c.row, c.outcome) for c in report.changes]


def test_dry_run_of_sites_and_approved_quantities(session, tmp_path):
    make_province(session)
    header = [c.header_vi for c in KINDS["sites"]]
    rows = [["S1", "Xã Thử Một", "commune — Xã", "", "10.1.9.0/24", ""], ["S3", "Phường Mới", "ward", "", "", "30"]]
    report = import_file(session, "sites", write_csv(tmp_path / "s.csv", header, rows), actor="t", dry_run=True)
    assert [(c.outcome, c.record) for c in report.changes] == [("updated", "S1"), ("created", "S3")]
    assert {f.key: (f.before, f.after) for f in report.changes[0].fields} == {"name": ("Xã Thử 1", "Xã Thử Một"), "internet_subnets": ("10.1.2.0/24", "10.1.2.0/24; 10.1.9.0/24")}
    session.commit()
    assert count(session, Site) == 2 and count(session, Subnet) == 4
    header = [c.header_vi for c in KINDS["approved"]]
    report = import_file(session, "approved", write_csv(tmp_path / "q.csv", header, [["S1 — Xã Thử 1", "laptop", "12", ""]]), actor="t", dry_run=True)
    assert [(c.outcome, c.record, [(f.key, f.before, f.after) for f in c.fields]) for c in report.changes] == [("created", "S1 / laptop", [("quantity", None, 12)])]


def test_dry_run_with_a_bad_row_would_not_apply(session, tmp_path):
    make_province(session)
    rows = [device_row(0), device_row(1, device_class="lapptop")]
    path = write_csv(tmp_path / "bad.csv", HEADER, rows)
    report = import_file(session, "devices", path, actor="t", dry_run=True)
    assert not report.would_apply and report.changes == [] and [e.row for e in report.errors] == [3]
    partial = import_file(session, "devices", path, actor="t", dry_run=True, partial=True)
    assert partial.would_apply and [(c.row, c.outcome) for c in partial.changes] == [(2, "created")]
    session.commit()
    assert count(session, Device) == 0


def test_template_lists_no_site_when_none_is_recorded(tmp_path: Path):
    path = tmp_path / "approved.xlsx"
    write_template("approved", path)
    book = load_workbook(path)
    validated = {str(v.sqref)[0] for v in book.worksheets[0].data_validations.dataValidation}
    assert validated == {"B"}  # the class; no list of sites to offer
    guide = {row[0]: row for row in book[INSTRUCTIONS_TITLE].iter_rows(values_only=True) if row[0]}
    assert "Chưa có đơn vị" in guide["Mã đơn vị"][3]


def test_cli_dry_run_shows_the_changes_and_writes_nothing(kiemke_env, tmp_path):
    import json

    from click.testing import CliRunner

    from web.main import main

    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    assert run("init").exit_code == 0
    sites = write_csv(tmp_path / "s.csv", [c.header_vi for c in KINDS["sites"]], [["S1", "Xã Một", "commune", "", "", ""]])
    assert run("import", "sites", sites).exit_code == 0
    renamed = write_csv(tmp_path / "s2.csv", [c.header_vi for c in KINDS["sites"]], [["S1", "Xã Một Mới", "commune", "", "", ""], ["S2", "Xã Hai", "ward", "", "", ""]])
    result = run("import", "sites", renamed, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "row 2: updated S1\n  name: Xã Một -> Xã Một Mới\nrow 3: created S2" in result.output
    assert "dry run, nothing written; would import: 2 rows read, 1 to create" in result.output
    report = json.loads(run("import", "sites", renamed, "--dry-run", "--json").output)
    assert report["would_apply"] and report["applied"] is False and [c["outcome"] for c in report["changes"]] == ["updated", "created"]
    exported = tmp_path / "out.csv"
    assert run("export", "sites", exported).exit_code == 0
    assert "Xã Một Mới" not in exported.read_text(encoding="utf-8-sig") and "S2" not in exported.read_text(encoding="utf-8-sig")
    bad = write_csv(tmp_path / "s3.csv", [c.header_vi for c in KINDS["sites"]], [["S3", "Xã Ba", "spaceship", "", "", ""]])
    refused = run("import", "sites", bad, "--dry-run")
    assert refused.exit_code == 1 and "would import nothing" in refused.output
