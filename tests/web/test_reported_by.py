"""The "reported by" device filter: devices with at least one observation of a source, the same
on DeviceFilter (SQL), the devices page, the API and `kiemke devices`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from inventory.models import Device, Observation
from inventory.repository import REPORTING_SOURCES, DeviceFilter, list_devices
from tests.inventory.factories import make_province
from tests.web.conftest import csrf_token
from tests.web.test_api import get, tokens  # noqa: F401 (fixture)
from web.main import main

pytestmark = pytest.mark.db


def _fleet(session: Session) -> None:
    s1 = make_province(session, sites=1)["S1"]
    devices = {name: Device(device_class="laptop", hostname=name, site_id=s1["site"], zone_id=s1["internet"]) for name in ("by-agent", "by-both", "by-import", "silent")}
    session.add_all(devices.values())
    session.flush()
    session.add_all([
        Observation(device_id=devices["by-agent"].id, source="agent", key="host.cores", value="4"),
        Observation(device_id=devices["by-agent"].id, source="agent", key="host.ram_kb", value="8388608"),
        Observation(device_id=devices["by-both"].id, source="snmp", key="sysDescr", value="x"),
        Observation(device_id=devices["by-both"].id, source="agent", key="host.cores", value="8"),
        Observation(device_id=devices["by-import"].id, source="import", key="host.tpm_version", value="2.0"),
    ])  # fmt: skip
    session.commit()


def names(session, **filters) -> set[str]:
    rows, total = list_devices(session, DeviceFilter(**filters), per_page=None)
    assert total == len(rows)
    return {r["hostname"] for r in rows}


def test_reported_by_keeps_devices_with_an_observation_of_that_source(session):
    _fleet(session)
    assert names(session, reported_by="agent") == {"by-agent", "by-both"}
    assert names(session, reported_by="snmp") == {"by-both"}
    assert names(session, reported_by="import") == {"by-import"}
    assert names(session, reported_by="nmap") == set()
    assert names(session) == {"by-agent", "by-both", "by-import", "silent"}
    assert names(session, reported_by="agent", q="both") == {"by-both"}  # combines with the others


def test_an_unknown_source_is_refused_not_ignored():
    assert DeviceFilter.from_mapping({"reported_by": "agent"}).reported_by == "agent"
    assert DeviceFilter.from_mapping({"reported_by": ""}).reported_by is None
    with pytest.raises(ValueError, match="reported_by must be one of: agent, snmp, ssh, nmap, import"):
        DeviceFilter.from_mapping({"reported_by": "agnet"})
    assert REPORTING_SOURCES == ("agent", "snmp", "ssh", "nmap", "import")


def test_devices_page_filters_by_source(login_as, seed, engine):
    with Session(engine) as session:
        session.add(Observation(device_id=seed.device_id, source="agent", key="host.cores", value="4"))
        session.commit()
    client = login_as("viewer")
    body = client.get("/devices/").get_data(as_text=True)
    assert 'name="reported_by"' in body and "Báo cáo bởi" in body and "Tác nhân (agent)" in body and "Nhập từ tệp" in body
    body = client.get("/devices/?reported_by=agent").get_data(as_text=True)
    assert ">sw1<" in body and "SN-HOSTILE" not in body
    assert '<option value="agent" selected>' in body
    body = client.get("/devices/?reported_by=snmp").get_data(as_text=True)
    assert ">sw1<" in body and "SN-HOSTILE" in body
    body = client.get("/devices/?reported_by=import").get_data(as_text=True)
    assert "Không có thiết bị nào khớp bộ lọc." in body
    assert client.get("/devices/?reported_by=nope").status_code == 400
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    english = client.get("/devices/").get_data(as_text=True)
    assert ">Reported by" in english and ">Agent<" in english and ">Imported<" in english and ">SNMP<" in english
    csv_text = login_as("technician").get("/devices/export.csv?reported_by=agent").get_data(as_text=True)
    assert "SN-SW1" in csv_text and "SN-HOSTILE" not in csv_text


def test_api_takes_the_same_filter(app, seed, tokens, engine):  # noqa: F811 (fixture)
    with Session(engine) as session:
        session.add(Observation(device_id=seed.device_id, source="agent", key="host.cores", value="4"))
        session.commit()
    body = get(app, "/api/v1/devices?reported_by=agent", tokens["viewer"]).json
    assert body["total"] == 1
    response = get(app, "/api/v1/devices?reported_by=bogus", tokens["viewer"])
    assert response.status_code == 400 and "reported_by" in response.json["error"]["message"]


def test_cli_devices_reported_by(kiemke_env, tmp_path):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    run("init")
    sites = tmp_path / "sites.csv"
    sites.write_text("Mã đơn vị,Tên đơn vị,Loại đơn vị,Dải mạng Internet\nX-A,Xã A,commune,10.9.2.0/24\n", encoding="utf-8")
    devices = tmp_path / "devices.csv"
    devices.write_text("Mã đơn vị,Loại thiết bị,Số sê-ri,TPM\nX-A,laptop,SN-1,2.0\nX-A,laptop,SN-2,\n", encoding="utf-8")
    assert run("import", "sites", sites).exit_code == 0
    assert run("import", "devices", devices).exit_code == 0
    listed = json.loads(run("devices", "--reported-by", "import", "--json").output)
    assert listed["total"] == 1 and listed["devices"][0]["serial"] == "SN-1"
    assert json.loads(run("devices", "--reported-by", "agent", "--json").output)["total"] == 0
    refused = run("devices", "--reported-by", "agnet")
    assert refused.exit_code == 2 and "agnet" in refused.output
