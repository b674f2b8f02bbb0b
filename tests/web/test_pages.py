"""The pages: content, filters, export, hostile data escaped, secrets masked."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlmodel import Session, select

from inventory.models import AuditLog
from tests.web.conftest import HOSTILE, SECRET_COMMUNITY, SECRET_ENABLE, login

pytestmark = pytest.mark.db

ESCAPED = "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;"


def assert_escaped(body: str) -> None:
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert "<b>bold</b>" not in body
    assert ESCAPED in body


def test_overview(login_as, seed):
    body = login_as("viewer").get("/").get_data(as_text=True)
    tiles = re.findall(r'<li class="tile" data-band="(\w+)">\s*<a class="band-\w+" href="/sites/(\w+)"', body)
    assert tiles == [("bad", "S1"), ("empty", "S2")]  # S1: nothing compliant, a critical finding; S2 has no devices (last)
    assert "net.telnet_off" in body and "Tắt Telnet" in body  # rule title from the baseline
    assert "Thu thập" in body  # latest scans (a poll)


def test_device_list_filters_sort_and_pages(login_as, seed):
    client = login_as("viewer")
    body = client.get("/devices/?device_class=access_switch").get_data(as_text=True)
    assert "sw1" in body and "SN-HOSTILE" not in body
    body = client.get("/devices/?q=sn-hostile").get_data(as_text=True)
    assert "SN-HOSTILE" in body and ">sw1<" not in body
    body = client.get("/devices/?sort=hostname&desc=1&per_page=25&page=1").get_data(as_text=True)
    assert "1–2 trên 2" in body
    # Bad input is ignored, not an error.
    assert client.get("/devices/?sort=password_hash&page=-3&per_page=99999").status_code == 200


def test_hostile_data_is_escaped_everywhere(login_as, seed):
    client = login_as("security_officer")
    for path in ("/devices/", f"/devices/{seed.hostile_device_id}", f"/devices/{seed.device_id}", "/findings/?status=all",
                 f"/findings/{seed.finding_ids[1]}", "/sites/S1"):  # fmt: skip
        body = client.get(path).get_data(as_text=True)
        assert_escaped(body)
    # sysDescr from the device (SNMP) on the device page
    body = client.get(f"/devices/{seed.hostile_device_id}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(2)&gt;" in body


def test_hostile_username_in_audit_log_is_escaped(app, login_as, seed):
    login(app.test_client(), HOSTILE, "whatever-password")
    body = login_as("security_officer").get("/audit/").get_data(as_text=True)
    assert_escaped(body)


def test_device_page_masks_secrets_in_configs_and_diff(login_as, seed):
    body = login_as("viewer").get(f"/devices/{seed.device_id}").get_data(as_text=True)
    assert SECRET_COMMUNITY not in body and SECRET_ENABLE not in body
    assert "&lt;redacted&gt;" in body
    assert "transport input ssh" in body  # the diff shows the real change
    assert 'class="del"' in body and 'class="add"' in body
    assert "Gi1/0/1" in body  # interfaces


def test_export_reuses_the_exporter_with_the_filters(login_as, seed):
    client = login_as("planner")
    response = client.get("/devices/export.csv?device_class=access_switch")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2 and "sw1" in rows[1]
    xlsx = client.get("/devices/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_findings_filters(login_as, seed):
    client = login_as("viewer")
    body = client.get("/findings/?severity=critical").get_data(as_text=True)
    assert "<code>net.telnet_off</code>" in body and "<code>endpoint.origin</code>" not in body
    body = client.get("/findings/?rule=endpoint.origin&site=S1").get_data(as_text=True)
    assert "<code>endpoint.origin</code>" in body and "<code>net.telnet_off</code>" not in body
    body = client.get("/findings/?status=resolved").get_data(as_text=True)
    assert "Không có phát hiện nào." in body
    # viewers see no waive form and no checkboxes
    assert 'id="waive-form"' not in body and 'name="ids"' not in body


def test_sites(login_as, seed):
    client = login_as("technician")
    body = client.get("/sites/").get_data(as_text=True)
    assert "S1" in body and "Xã Thử 2" in body and "10.1.1.0/24" in body
    body = client.get("/sites/S1").get_data(as_text=True)
    assert "Mạng diện rộng của Đảng" in body and "net.telnet_off" in body and "Thu thập" in body


def test_audit_page_lists_logins(login_as, seed, engine):
    body = login_as("admin").get("/audit/?action=login").get_data(as_text=True)
    assert "u_admin" in body
    with Session(engine) as session:
        assert session.exec(select(AuditLog).where(AuditLog.action == "login")).first() is not None
    assert "password_hash" not in body
