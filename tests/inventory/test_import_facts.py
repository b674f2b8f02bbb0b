"""Import: the TPM, Secure Boot and disk-encryption columns become "import" observations,
parsed strictly, atomically, idempotently; the template and the export carry them."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from inventory.io.columns import DEVICE_COLUMNS
from inventory.io.exporter import export_file, write_template
from inventory.io.importer import import_file
from inventory.models import Device, Observation
from tests.inventory.factories import make_province
from tests.inventory.test_import import HEADER, device_row, write_csv, write_xlsx

pytestmark = pytest.mark.db

FACTS = ("host.tpm_version", "host.secure_boot", "host.disk_encryption")


def facts(session) -> list[tuple[str, str, str, str]]:
    """(serial, key, value, source) of every fact observation, in order of writing."""
    query = select(Device.serial, Observation.key, Observation.value, Observation.source).join(Device, Device.id == Observation.device_id).where(Observation.key.in_(FACTS)).order_by(Observation.id)
    return [tuple(row) for row in session.execute(query)]


def test_fact_cells_are_stored_as_import_observations_in_either_language(session, tmp_path):
    make_province(session)
    rows = [
        device_row(1, tpm_version="2.0", secure_boot="bật", disk_encryption="Một phần"),
        device_row(2, tpm_version="không có", secure_boot="Không hỗ trợ", disk_encryption="off"),
        device_row(3, tpm_version="1.2", secure_boot="disabled"),  # encryption left blank: nothing written
        device_row(4),
    ]
    report = import_file(session, "devices", write_xlsx(tmp_path / "d.xlsx", HEADER, rows), actor="t")
    session.commit()
    assert report.created == 4 and not report.errors
    assert sorted(facts(session)) == sorted([
        ("SN00001", "host.tpm_version", "2.0", "import"), ("SN00001", "host.secure_boot", "enabled", "import"),
        ("SN00001", "host.disk_encryption", "partial", "import"),
        ("SN00002", "host.tpm_version", "0", "import"), ("SN00002", "host.secure_boot", "unsupported", "import"),
        ("SN00002", "host.disk_encryption", "off", "import"),
        ("SN00003", "host.tpm_version", "1.2", "import"), ("SN00003", "host.secure_boot", "disabled", "import"),
    ])  # fmt: skip


def test_english_headers_for_the_fact_columns(session, tmp_path):
    make_province(session)
    header = [c.header_en for c in DEVICE_COLUMNS]
    assert header[-3:] == ["TPM", "Secure Boot", "Disk encryption"]
    import_file(session, "devices", write_csv(tmp_path / "d.csv", header, [device_row(1, tpm_version="2", secure_boot="on", disk_encryption="on")]), actor="t")
    assert sorted(v for _, _, v, _ in facts(session)) == ["2.0", "enabled", "on"]


@pytest.mark.parametrize(
    ("overrides", "column"),
    [
        ({"tpm_version": "3.0"}, "TPM"),
        ({"tpm_version": "yes"}, "TPM"),
        ({"secure_boot": "maybe"}, "Secure Boot"),
        ({"disk_encryption": "có"}, "Mã hóa ổ đĩa"),
        ({"disk_encryption": "50%"}, "Mã hóa ổ đĩa"),
    ],
)
def test_a_bad_fact_cell_is_the_rows_error_and_nothing_is_written(session, tmp_path, overrides, column):
    make_province(session)
    rows = [device_row(1, tpm_version="2.0"), device_row(2, **overrides)]
    report = import_file(session, "devices", write_csv(tmp_path / "d.csv", HEADER, rows), actor="t")
    assert [(e.row, e.column) for e in report.errors] == [(3, column)]
    assert "allowed:" in report.errors[0].reason and repr(next(iter(overrides.values()))) in report.errors[0].reason
    assert report.applied is False
    session.rollback()
    assert facts(session) == [] and session.execute(select(Device.id)).first() is None


def test_reimport_adds_nothing_and_a_change_adds_one_observation(session, tmp_path):
    make_province(session)
    path = write_csv(tmp_path / "d.csv", HEADER, [device_row(1, tpm_version="2.0", secure_boot="bật", disk_encryption="tắt")])
    import_file(session, "devices", path, actor="t")
    session.commit()
    again = import_file(session, "devices", path, actor="t")
    session.commit()
    assert (again.updated, again.unchanged) == (0, 1) and len(facts(session)) == 3

    changed = write_csv(tmp_path / "d2.csv", HEADER, [device_row(1, tpm_version="2.0", secure_boot="bật", disk_encryption="bật")])
    report = import_file(session, "devices", changed, actor="t")
    session.commit()
    assert (report.updated, report.unchanged) == (1, 0)
    assert facts(session)[3:] == [("SN00001", "host.disk_encryption", "on", "import")]


def test_a_value_equal_to_the_latest_collected_one_adds_nothing(session, tmp_path):
    make_province(session)
    import_file(session, "devices", write_csv(tmp_path / "a.csv", HEADER, [device_row(1)]), actor="t")
    device_id = session.execute(select(Device.id)).scalar_one()
    session.add(Observation(device_id=device_id, source="agent", key="host.disk_encryption", value="on"))
    session.commit()
    report = import_file(session, "devices", write_csv(tmp_path / "b.csv", HEADER, [device_row(1, disk_encryption="bật")]), actor="t")
    assert report.unchanged == 1
    assert facts(session) == [("SN00001", "host.disk_encryption", "on", "agent")]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_carries_the_latest_facts_and_reimports_unchanged(session, tmp_path, suffix):
    make_province(session)
    rows = [device_row(1, tpm_version="2.0", secure_boot="tắt", disk_encryption="một phần"), device_row(2)]
    import_file(session, "devices", write_csv(tmp_path / "in.csv", HEADER, rows), actor="t")
    device_id = session.execute(select(Device.id).where(Device.serial == "SN00002")).scalar_one()
    session.add(Observation(device_id=device_id, source="agent", key="host.secure_boot", value="something new"))  # not importable: left blank
    session.commit()
    out = tmp_path / f"out{suffix}"
    export_file(session, "devices", out)
    if suffix == ".csv":
        with out.open(encoding="utf-8-sig") as handle:
            exported = {row["Số sê-ri"]: row for row in csv.DictReader(handle)}
        assert [exported["SN00001"][h] for h in ("TPM", "Secure Boot", "Mã hóa ổ đĩa")] == ["2.0", "disabled", "partial"]
        assert [exported["SN00002"][h] for h in ("TPM", "Secure Boot", "Mã hóa ổ đĩa")] == ["", "", ""]
    before = len(facts(session))
    report = import_file(session, "devices", out, actor="t")
    assert (report.updated, report.unchanged, report.errors) == (0, 2, [])
    assert len(facts(session)) == before


def test_template_has_the_fact_columns(tmp_path):
    path = tmp_path / "devices.csv"
    write_template("devices", path)
    (header,) = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))  # no example row to import
    assert header[-3:] == ["TPM", "Secure Boot", "Mã hóa ổ đĩa"]
