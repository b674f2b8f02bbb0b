"""The device page's collected facts in words: labels per key, values by kind, sources by label;
a value that is not what its key should hold is shown as stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from flask import session as flask_session
from sqlmodel import Session

from inventory.models import Observation
from tests.web.conftest import HOSTILE, csrf_token
from web.facts import fact_rows, readable

DEFENDER = {"name": "Microsoft Defender Antivirus", "company": "Microsoft", "version": "4.18", "enabled": True, "up_to_date": True,
            "signature_version": "1.421.13.0", "signature_date": "2026-12-01"}  # fmt: skip
STALE = {"name": "Kaspersky Endpoint Security", "enabled": False, "up_to_date": False, "signature_version": "2026.10.01"}
GB = 1024 * 1024  # KB

pytestmark = pytest.mark.db


def in_language(app, lang: str):
    context = app.test_request_context()
    context.push()
    flask_session["lang"] = lang
    return context


@pytest.mark.parametrize(
    ("key", "value", "vietnamese", "english"),
    [
        ("host.cores", "8", "8", "8"),
        ("host.ram_kb", str(16 * GB), "16 GB", "16 GB"),
        ("host.ram_kb", str(8_000_000), "7,6 GB", "7.6 GB"),
        (
            "host.disks",
            json.dumps([["Samsung SSD 980", 512 * GB, "SSD"], ["WDC WD10", 931 * GB, "HDD"]]),
            "512 GB SSD (Samsung SSD 980); 931 GB HDD (WDC WD10)",
            "512 GB SSD (Samsung SSD 980); 931 GB HDD (WDC WD10)",
        ),
        ("host.disks", json.dumps([["C:\\", 120 * GB]]), "120 GB (C:\\)", "120 GB (C:\\)"),  # SNMP: no kind
        ("host.antivirus", json.dumps([DEFENDER]), "Microsoft Defender Antivirus — bật, cập nhật, mẫu 01/12/2026", "Microsoft Defender Antivirus — on, up to date, signatures 2026-12-01"),
        ("host.antivirus", json.dumps([STALE]), "Kaspersky Endpoint Security — tắt, chưa cập nhật, mẫu 2026.10.01", "Kaspersky Endpoint Security — off, not up to date, signatures 2026.10.01"),
        ("host.antivirus", "[]", "không có", "none"),
        ("host.disk_encryption", "partial", "một phần", "partial"),
        ("host.disk_encryption", "on", "bật", "on"),
        ("host.secure_boot", "unsupported", "không hỗ trợ", "unsupported"),
        ("host.firewall", "off", "tắt", "off"),
        ("host.tpm_version", "2.0", "2.0", "2.0"),
        ("host.tpm_version", "0", "không có", "none"),
        ("host.software", json.dumps([["7-Zip", None], ["Firefox", "2026-01-02"]]), "2 phần mềm: 7-Zip, Firefox", "2 programs: 7-Zip, Firefox"),
        # not what the key should hold: as stored
        ("host.ram_kb", "lots", "lots", "lots"),
        ("host.disks", "{broken json", "{broken json", "{broken json"),
        ("host.secure_boot", "weird", "weird", "weird"),
        ("sys_descr", "Cisco IOS XE", "Cisco IOS XE", "Cisco IOS XE"),
    ],
)
def test_values_read_in_words(app, key, value, vietnamese, english):
    for lang, expected in (("vi", vietnamese), ("en", english)):
        context = in_language(app, lang)
        try:
            assert readable(key, value) == expected, lang
        finally:
            context.pop()


def test_rows_put_labelled_keys_first_with_source_labels(app):
    when = datetime(2026, 12, 1, tzinfo=UTC)
    observations = [
        {"key": "open_ports", "value": "22,443", "source": "nmap", "observed_at": when},
        {"key": "zz.unknown", "value": "x" * 600, "source": "snmp", "observed_at": when},
        {"key": "host.cores", "value": "4", "source": "agent", "observed_at": when},
        {"key": "host.tpm_version", "value": "2.0", "source": "import", "observed_at": when},
    ]
    context = in_language(app, "vi")
    try:
        rows = fact_rows(observations)
    finally:
        context.pop()
    assert [(r.key, r.title, r.source_title) for r in rows] == [
        ("host.cores", "Số nhân CPU", "Tác nhân (agent)"), ("host.tpm_version", "TPM", "Nhập từ tệp"),
        ("open_ports", "Cổng đang mở", "nmap"), ("zz.unknown", "zz.unknown", "SNMP"),
    ]  # fmt: skip
    assert rows[-1].value == "x" * 500 + "…"


def test_device_page_shows_facts_in_words_and_keeps_the_key(login_as, seed, engine):
    with Session(engine) as session:
        session.add_all([
            Observation(device_id=seed.hostile_device_id, source="agent", key="host.ram_kb", value=str(16 * GB)),
            Observation(device_id=seed.hostile_device_id, source="agent", key="host.antivirus", value=json.dumps([DEFENDER])),
            Observation(device_id=seed.hostile_device_id, source="import", key="host.disk_encryption", value="on"),
            Observation(device_id=seed.hostile_device_id, source="agent", key="host.firewall", value=HOSTILE),
        ])  # fmt: skip
        session.commit()
    client = login_as("viewer")
    body = client.get(f"/devices/{seed.hostile_device_id}").get_data(as_text=True)
    latest = body.split("Dữ liệu thu thập mới nhất")[1].split("</table>")[0]
    ram = latest.split('data-key="host.ram_kb"')[1].split("</tr>")[0]
    assert "RAM" in ram and "<code>host.ram_kb</code>" in ram and "16 GB" in ram and "Tác nhân (agent)" in ram
    assert f'title="{16 * GB}"' in ram  # the stored value stays at hand
    av = latest.split('data-key="host.antivirus"')[1].split("</tr>")[0]
    assert "Microsoft Defender Antivirus — bật, cập nhật, mẫu 01/12/2026" in av
    encryption = latest.split('data-key="host.disk_encryption"')[1].split("</tr>")[0]
    assert "Mã hóa ổ đĩa" in encryption and ">bật<" in encryption and "Nhập từ tệp" in encryption
    assert "<script>" not in latest and "&lt;script&gt;" in latest  # an odd value is shown as stored, escaped
    assert latest.index('data-key="host.ram_kb"') < latest.index('data-key="sysDescr"')  # labelled facts first
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    english = client.get(f"/devices/{seed.hostile_device_id}").get_data(as_text=True)
    assert "Disk encryption" in english and "Microsoft Defender Antivirus — on, up to date, signatures 2026-12-01" in english
    assert ">Agent<" in english and ">Imported<" in english
