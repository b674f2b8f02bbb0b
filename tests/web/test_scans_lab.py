"""A technician's discovery started from the web, against the lab: the commune's Internet zone
is scanned by the real collectors, the devices nobody recorded appear on the results page, and
one is adopted into the inventory in one click."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from collectors.lab.manager import register_credentials
from collectors.runner import RunOptions
from inventory import db
from inventory.crypto import Vault
from inventory.models import AuditLog, Device, ScanRun
from inventory.settings import Settings
from inventory.users import add_user
from tests.lab.support import TEST_LAB_PORTS, running_demo_lab
from tests.web.conftest import PASSWORD, login
from tests.web.test_scans import adopt, start, wait_until_finished
from web import create_app

pytestmark = pytest.mark.lab

SNMP_PORT = TEST_LAB_PORTS.snmp  # the lab's agents; the scan form offers it by default


@pytest.fixture(scope="module")
def lab_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("web-lab")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'kiemke.sqlite3'}", snmp_port=SNMP_PORT)
    with running_demo_lab(home) as demo:
        with db.session_scope(demo.engine) as session:
            add_user(session, "kt_xa", "technician", PASSWORD, actor="test")
            register_credentials(session, Vault(settings.credential_key), demo.lab.secrets(), actor="test", ports=demo.lab.ports)
        app = create_app(settings, {"TESTING": True})
        app.config["KIEMKE_SCAN_OPTIONS"] = lambda: RunOptions(snmp_timeout=5, use_ssh=False)  # margin for a busy machine
        yield app, demo.engine, demo.devices


def test_technician_discovers_the_commune_and_adopts_a_stranger(lab_app):
    app, engine, devices = lab_app
    strangers = [d for d in devices if not d.recorded]
    assert strangers, "the lab has unrecorded devices"
    site = strangers[0].site_code
    client = app.test_client()
    assert login(client, "kt_xa").status_code == 302
    assert f'name="snmp_port" type="number" min="1" max="65535" value="{SNMP_PORT}"' in client.get("/scans/").get_data(as_text=True)

    response = start(client, kind="discover", site=site, zone="internet")  # the form's default port
    assert response.status_code == 302, response.get_data(as_text=True)
    run_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    data = wait_until_finished(client, run_id, timeout=120)
    assert data["state"] == "finished" and data["error"] is None

    with Session(engine) as session:
        run = session.get(ScanRun, run_id)
        assert run.kind == "discover" and run.triggered_by.startswith("web:kt_xa")
        assert run.summary["created"] == len(strangers)
        found = {d.mgmt_ip: d for d in session.exec(select(Device).where(Device.source == "discovered"))}
    assert {d.address for d in strangers} <= set(found)
    results = client.get(f"/scans/{run_id}").get_data(as_text=True)
    for stranger in strangers:
        assert stranger.address in results
        assert f'action="/scans/devices/{found[stranger.address].id}/adopt"' in results

    chosen = found[strangers[0].address]
    assert adopt(client, chosen.id, run_id, device_class=strangers[0].device_class, hostname="NHAN-1").status_code == 302
    with Session(engine) as session:
        device = session.get(Device, chosen.id)
        assert (device.source, device.hostname, device.device_class) == ("recorded", "NHAN-1", strangers[0].device_class)
        assert session.exec(select(AuditLog).where(AuditLog.action == "adopt", AuditLog.entity_id == str(chosen.id))).one().actor == "kt_xa"
    assert f'action="/scans/devices/{chosen.id}/adopt"' not in client.get(f"/scans/{run_id}").get_data(as_text=True)


def test_a_bad_port_is_refused_before_any_scan(lab_app):
    app, engine, devices = lab_app
    client = app.test_client()
    login(client, "kt_xa")
    with Session(engine) as session:
        runs = len(session.exec(select(ScanRun)).all())
    for port in ("0", "70000", "abc"):
        response = start(client, kind="discover", site=devices[0].site_code, zone="internet", snmp_port=port)
        assert response.status_code == 302 and "/scans/start" not in response.headers["Location"]
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Cổng SNMP" in page and "không hợp lệ" in page
    with Session(engine) as session:
        assert len(session.exec(select(ScanRun)).all()) == runs
