"""Issue 11: text from devices and imports is cleaned of control characters on arrival, and the
terminal tables escape them, so an escape sequence in a device's sysName (or an old row stored
before cleaning) never reaches the operator's terminal."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from collectors.reconcile import Reconciler
from collectors.records import DeviceFacts, InterfaceRecord, Target
from collectors.runner import Outcome
from inventory.io.columns import DEVICE_COLUMNS
from inventory.io.importer import import_file
from inventory.models import Device, Interface, Observation, ScanRun
from inventory.text import clean_text, escape_control
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

HOSTILE = "sw\x1b[31m1\x07"
CLEANED = "sw\ufffd[31m1\ufffd"
TITLE_AND_CLEAR = "\x1b]0;pwned\x07\x1b[2J"


def test_the_rule_keeps_tab_and_newlines_and_replaces_c0_del_c1():
    assert clean_text("a\tb\nc\rd") == "a\tb\nc\rd"
    assert clean_text("\x00\x1b\x7f\x9b") == "\ufffd" * 4
    assert escape_control(TITLE_AND_CLEAR + "\r\x9b") == "\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x9b"
    assert escape_control("Máy 1\tcổng\n") == "Máy 1\tcổng\n"


def test_reconcile_stores_cleaned_device_facts(session):
    ids = make_province(session)
    sw = Device(device_class="access_switch", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], mgmt_ip="10.1.2.3", serial="SW1")
    session.add(sw)
    session.flush()
    facts = DeviceFacts(
        address="10.1.2.3", source="snmp", sys_name=HOSTILE, sys_descr="Cisco IOS" + TITLE_AND_CLEAR,
        vendor="Cisco\x9b", model="WS\x1b[2J", serial="SW1", os_name="IOS\x07", os_version="15.2\x1b",
        interfaces=(InterfaceRecord(1, "Gi1/0/1\x1b[A", description="uplink" + TITLE_AND_CLEAR),),
    )  # fmt: skip
    run = ScanRun(kind="poll")
    session.add(run)
    session.flush()
    Reconciler(session, run).apply([Outcome(Target("10.1.2.3", sw.id, "S1", "internet", "access_switch"), (facts,))])
    session.commit()

    session.refresh(sw)
    assert sw.hostname == CLEANED
    assert (sw.vendor, sw.model, sw.os_name, sw.os_version) == ("Cisco\ufffd", "WS\ufffd[2J", "IOS\ufffd", "15.2\ufffd")
    interface = session.execute(select(Interface).where(Interface.device_id == sw.id)).scalar_one()
    assert interface.name == "Gi1/0/1\ufffd[A" and "\x1b" not in interface.description
    values = session.execute(select(Observation.value).where(Observation.device_id == sw.id)).scalars().all()
    assert values and not any(clean_text(v) != v for v in values)
    assert CLEANED in values


def test_imported_text_columns_are_cleaned(session, tmp_path):
    make_province(session)
    values = {c.key: "" for c in DEVICE_COLUMNS}
    values.update(site_code="S1", device_class="laptop", hostname=HOSTILE, model="Latitude" + TITLE_AND_CLEAR, serial="SN\x1b1", notes="a\nb\tc\x07")
    path = tmp_path / "devices.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.header_vi for c in DEVICE_COLUMNS])
        writer.writerow([values[c.key] for c in DEVICE_COLUMNS])

    report = import_file(session, "devices", path, actor="test")
    session.commit()

    assert not report.errors, report.errors
    device = session.execute(select(Device)).scalar_one()
    assert device.hostname == CLEANED
    assert device.model == "Latitude\ufffd]0;pwned\ufffd\ufffd[2J"
    assert device.serial == "SN\ufffd1"
    assert device.notes == "a\nb\tc\ufffd"  # tab and newlines are text, not control


def test_devices_table_escapes_control_characters_stored_before_cleaning(kiemke_env, monkeypatch):
    from inventory import cli, db
    from web.main import main

    monkeypatch.setattr(cli.console, "_width", 400)  # one line per row: no wrapping inside values
    runner = CliRunner()
    assert runner.invoke(main, ["init"], catch_exceptions=False).exit_code == 0
    with db.session_scope(db.engine_for(kiemke_env["DATABASE_URL"])) as session:
        ids = make_province(session)
        # Stored raw, as an older version (or a direct database edit) would have left it.
        session.add(Device(device_class="router", site_id=ids["S1"]["site"], hostname=TITLE_AND_CLEAR + "r1", vendor="[bold]x\x9b", model="m\r\x07"))

    result = runner.invoke(main, ["devices", "--per-page", "0"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out and "\r" not in out
    assert "\\x1b]0;pwned" in out and "[bold]x" in out  # visible, and never read as rich markup
