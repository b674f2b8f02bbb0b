"""Compliant, non-compliant, unknown on the device surfaces: the web list (filter, column, the
three shares), the device page (state, reasons, times), the CLI and the API agree on a
hand-built fleet; unknown is never counted as compliant; the English UI reads English."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from inventory.models import Device, DeviceCompliance, Site
from tests.web.conftest import csrf_token
from tests.web.test_api import get, issue_own_token
from web.main import main

pytestmark = pytest.mark.db

EVALUATED = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
COLLECTED = datetime(2026, 5, 31, 22, 0, tzinfo=UTC)
STALE = "stale: last collected 2026-01-02, older than 30 days"
NO_FACTS = "not evaluated: ep.av_present, ep.ram: host facts not collected"

# On top of the seed's S1 (sw1 non-compliant, the hostile laptop unknown): two compliant
# devices, one never evaluated, one disposed; S2: one compliant device.
# S1: 2 compliant, 1 non-compliant, 2 unknown (of 5; the disposed one not counted).
S1_SHARES = "40% tuân thủ · 20% không tuân thủ · 40% chưa rõ"
EXPECTED = {"compliant": {"ok1", "ok2", "far"}, "non_compliant": {"sw1"}, "unknown": {"hostile", "never"}}


@pytest.fixture
def fleet(seed, engine) -> dict[str, int]:
    with Session(engine, expire_on_commit=False) as session:
        sites = dict(session.execute(select(Site.code, Site.id)).all())
        made = {
            "ok1": Device(device_class="laptop", hostname="ok1", site_id=sites["S1"]),
            "ok2": Device(device_class="desktop", hostname="ok2", site_id=sites["S1"]),
            "never": Device(device_class="laptop", hostname="never", site_id=sites["S1"]),
            "gone": Device(device_class="laptop", hostname="gone", status="disposed", site_id=sites["S1"]),
            "far": Device(device_class="laptop", hostname="far", site_id=sites["S2"]),
        }
        session.add_all(made.values())
        session.flush()
        ids = {name: d.id for name, d in made.items()} | {"sw1": seed.device_id, "hostile": seed.hostile_device_id}
        rows = {
            "sw1": ("non_compliant", ["failed: net.telnet_off", "failed: net.snmp_no_rw_community"]),
            "hostile": ("unknown", [STALE, NO_FACTS]),
            "ok1": ("compliant", []),
            "ok2": ("compliant", []),
            "far": ("compliant", []),
        }
        for name, (state, reasons) in rows.items():
            session.add(DeviceCompliance(device_id=ids[name], state=state, evaluated_at=EVALUATED, data_as_of=COLLECTED, failed_rules=state == "non_compliant", reasons=reasons))
        session.commit()
    return ids


def _web_names(client, ids, query: str) -> set[str]:
    body = client.get(f"/devices/?per_page=200&{query}").get_data(as_text=True)
    return {name for name, device_id in ids.items() if f'href="/devices/{device_id}">{device_id}<' in body}


def test_filter_counts_agree_on_web_cli_and_api(login_as, fleet, kiemke_env):
    client = login_as("viewer")
    token = issue_own_token(client)
    runner = CliRunner()
    for state, expected in EXPECTED.items():
        assert _web_names(client, fleet, f"compliance={state}") == expected, state
        api = get(client.application, f"/api/v1/devices?compliance={state}&per_page=200", token).json
        assert {d["id"] for d in api["items"]} == {fleet[n] for n in expected} and api["total"] == len(expected)
        assert api["compliance"]["counts"][state] == len(expected)
        result = runner.invoke(main, ["devices", "--compliance", state, "--per-page", "0", "--json"], catch_exceptions=False)
        cli = json.loads(result.output)
        assert {d["id"] for d in cli["devices"]} == {fleet[n] for n in expected} and cli["total"] == len(expected), state
    # Unfiltered, the three counts cover every device the inventory has (not the disposed one).
    api = get(client.application, "/api/v1/devices", token).json
    assert api["compliance"]["counts"] == {state: len(names) for state, names in EXPECTED.items()}
    result = runner.invoke(main, ["devices", "--site", "S1"], catch_exceptions=False)
    assert "40% compliant · 20% non-compliant · 40% unknown" in result.output
    # A state that is none of the three is refused everywhere, never read as "no filter".
    assert client.get("/devices/?compliance=yes").status_code == 400
    refused = get(client.application, "/api/v1/devices?compliance=yes", token)
    assert refused.status_code == 400 and "compliance must be one of" in refused.json["error"]["message"]
    assert runner.invoke(main, ["devices", "--compliance", "yes"]).exit_code == 2


def test_the_list_shows_three_shares_and_each_state(login_as, fleet):
    client = login_as("viewer")
    body = client.get("/devices/?site=S1").get_data(as_text=True)
    assert S1_SHARES in body
    assert 'name="compliance"' in body and '<option value="unknown" >Chưa rõ</option>' in body
    assert '<span class="dot st-critical"></span> Không tuân thủ' in body and '<span class="dot st-empty"></span> Chưa rõ' in body
    # Unknown is never counted as compliant: the compliant-only list shows 100% of 2, not 4 of 5.
    body = client.get("/devices/?site=S1&compliance=compliant").get_data(as_text=True)
    assert "100% tuân thủ · 0% không tuân thủ · 0% chưa rõ" in body
    body = client.get("/devices/?site=S1&compliance=unknown").get_data(as_text=True)
    assert "0% tuân thủ · 0% không tuân thủ · 100% chưa rõ" in body and ">never<" in body


def test_device_page_shows_the_state_its_reasons_and_times(login_as, fleet):
    client = login_as("viewer")
    body = client.get(f"/devices/{fleet['hostile']}").get_data(as_text=True)
    assert "Chưa rõ" in body
    assert "Dữ liệu cũ: thu thập lần cuối ngày 02/01/2026, quá 30 ngày" in body
    assert "Chưa đánh giá ep.av_present, ep.ram: chưa thu thập thông tin phần cứng, phần mềm của máy" in body
    assert "01/06/2026 10:00" in body and "01/06/2026 05:00" in body  # evaluated, data as of (local time)
    body = client.get(f"/devices/{fleet['sw1']}").get_data(as_text=True)
    assert "Không đạt quy tắc net.telnet_off" in body and "Không đạt quy tắc net.snmp_no_rw_community" in body
    body = client.get(f"/devices/{fleet['never']}").get_data(as_text=True)
    assert "Chưa được đánh giá" in body and "chưa đánh giá" in body
    body = client.get(f"/devices/{fleet['gone']}").get_data(as_text=True)
    assert "Thiết bị đã thanh lý không được đánh giá tuân thủ." in body


def test_api_compliance_fields(login_as, fleet):
    client = login_as("viewer")
    token = issue_own_token(client)
    app = client.application
    items = {d["id"]: d for d in get(app, "/api/v1/devices?per_page=200", token).json["items"]}
    assert items[fleet["hostile"]]["compliance"] == {"state": "unknown", "reasons": [STALE, NO_FACTS], "evaluated_at": EVALUATED.isoformat(), "data_as_of": COLLECTED.isoformat()}
    assert items[fleet["never"]]["compliance"] == {"state": "unknown", "reasons": ["never evaluated"], "evaluated_at": None, "data_as_of": None}
    assert items[fleet["gone"]]["compliance"] is None
    detail = get(app, f"/api/v1/devices/{fleet['sw1']}", token).json
    assert detail["compliance"]["state"] == "non_compliant" and detail["compliance"]["reasons"][0] == "failed: net.telnet_off"
    sites = {s["code"]: s["compliance"] for s in get(app, "/api/v1/sites", token).json["items"]}
    assert sites["S1"] == {"counts": {"compliant": 2, "non_compliant": 1, "unknown": 2}, "percent": {"compliant": 40.0, "non_compliant": 20.0, "unknown": 40.0}}
    assert sites["S2"] == {"counts": {"compliant": 1, "non_compliant": 0, "unknown": 0}, "percent": {"compliant": 100.0, "non_compliant": 0.0, "unknown": 0.0}}


def test_the_english_ui_reads_english(login_as, fleet):
    client = login_as("viewer")
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    body = client.get("/devices/?site=S1").get_data(as_text=True)
    assert "40% compliant · 20% non-compliant · 40% unknown" in body
    assert '<option value="compliant" >Compliant</option>' in body and "Non-compliant" in body
    assert "tuân thủ" not in body.lower()
    body = client.get(f"/devices/{fleet['hostile']}").get_data(as_text=True)
    assert "Stale data: last collected 2026-01-02, older than 30 days" in body
    assert "Not evaluated ep.av_present, ep.ram: host facts (hardware, software) not collected" in body
    assert "Never evaluated" in client.get(f"/devices/{fleet['never']}").get_data(as_text=True)
