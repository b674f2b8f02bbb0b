"""Scans: start a poll in the background and follow it; results; adopt a discovered device."""

from __future__ import annotations

import time

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlmodel import Session, select

from collectors.credentials import add_credential
from collectors.runner import RunOptions
from inventory.crypto import Vault
from inventory.models import AuditLog, Device, ScanOutcome, ScanRun, Site, Zone
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db


@pytest.fixture
def scan_app(app, engine, seed):
    vault = Vault(SecretStr(Fernet.generate_key().decode()))  # a test key, not the user's
    app.extensions["kiemke.vault"] = vault
    app.config["KIEMKE_SCAN_OPTIONS"] = lambda: RunOptions(snmp_timeout=0.5, use_ssh=False)
    with Session(engine) as session:
        s2 = session.exec(select(Site).where(Site.code == "S2")).one()
        zone = session.exec(select(Zone).where(Zone.site_id == s2.id, Zone.kind == "internet")).one()
        # Nothing listens on these loopback addresses, and the credential points at port 1.
        session.add_all([
            Device(device_class="router", site_id=s2.id, zone_id=zone.id, mgmt_ip="127.254.7.1", serial="R-S2-1", hostname="r1"),
            Device(device_class="firewall", site_id=s2.id, zone_id=zone.id, mgmt_ip="127.254.7.2", serial="FW-S2-1", hostname="fw1"),
        ])  # fmt: skip
        session.commit()
        add_credential(session, vault, name="v2", kind="snmp_v2c", secrets={"community": "c0mmunity-x"}, port=1, actor="test")
        session.commit()
    return app


def wait_until_finished(client, run_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get(f"/scans/{run_id}/progress").get_json()
        if data["state"] != "running":
            return data
        time.sleep(0.2)
    raise AssertionError(f"scan run {run_id} did not finish")


def start(client, **form):
    token = csrf_token(client, "/scans/")
    return client.post("/scans/start", data={"csrf_token": token, **form})


def test_poll_runs_in_the_background_and_reports_unreachable_devices(scan_app, login_as, engine):
    client = login_as("technician")
    page = client.get("/scans/").get_data(as_text=True)
    assert 'action="/scans/start"' in page and "S2" in page
    response = start(client, kind="poll", site="S2")
    assert response.status_code == 302, response.get_data(as_text=True)
    run_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    data = wait_until_finished(client, run_id)
    assert data["done"] == 2 and data["total"] == 2 and data["status"] == "failed"
    with Session(engine) as session:
        run = session.get(ScanRun, run_id)
        assert run.status == "failed" and run.triggered_by.startswith("web:u_technician")
        assert len(session.exec(select(ScanOutcome).where(ScanOutcome.scan_run_id == run_id)).all()) == 2
        assert all(d.reachable is False for d in session.exec(select(Device).where(Device.mgmt_ip.like("127.254.7.%"))))
    results = client.get(f"/scans/{run_id}").get_data(as_text=True)
    assert "127.254.7.1" in results and "127.254.7.2" in results and "fw1" in results
    assert "data-progress-url" not in results  # finished: no live progress
    assert "c0mmunity-x" not in results
    assert f"/scans/{run_id}" in client.get("/scans/").get_data(as_text=True)


def test_progress_page_while_running_uses_the_local_script(scan_app, login_as, engine):
    with Session(engine) as session:
        run = ScanRun(kind="poll", status="running", triggered_by="cli:x", params={"targets": 7})
        session.add(run)
        session.commit()
        run_id = run.id
    client = login_as("technician")
    page = client.get(f"/scans/{run_id}").get_data(as_text=True)
    assert f'data-progress-url="/scans/{run_id}/progress"' in page
    assert 'src="/scans/progress.js"' in page and 'http-equiv="refresh"' in page
    assert client.get(f"/scans/{run_id}/progress").get_json() == {
        "run_id": run_id, "status": "running", "state": "running", "done": 0, "total": 7, "error": None, "results_url": f"/scans/{run_id}",
        "phase": None, "counts": {}, "phase_text": "Đang chuẩn bị…", "error_text": None,  # a run of another process: no phase known
    }  # fmt: skip
    script = client.get("/scans/progress.js")
    assert script.mimetype == "text/javascript" and b"fetch(" in script.data
    assert client.get("/scans/999999/progress").status_code == 404


def test_bad_start_requests_are_refused_with_a_message(scan_app, login_as, engine):
    client = login_as("technician")
    for form in ({"kind": "poll", "site": "NOPE"}, {"kind": "discover"}, {"kind": "discover", "site": "S1", "subnet": "not-a-net"},
                 {"kind": "poll", "site": "S1", "subnet": "10.1.1.0/24"}, {"kind": "rm -rf"}, {"kind": "poll", "zone": "mars"}):  # fmt: skip
        response = start(client, **form)
        assert response.status_code == 302 and response.headers["Location"].startswith("/scans/?"), form
        assert 'class="flash error"' in client.get("/scans/").get_data(as_text=True), form
    with Session(engine) as session:
        assert session.exec(select(ScanRun).where(ScanRun.triggered_by.like("web:%"))).all() == []


def test_a_service_error_is_shown(app, seed, login_as):
    client = login_as("technician")
    response = start(client, kind="poll", site="S1")  # no credential stored
    assert response.status_code == 302
    page = client.get("/scans/").get_data(as_text=True)
    assert "Chưa lưu thông tin đăng nhập thiết bị nào" in page and "kiemke credential add" in page  # in Vietnamese, with what to do


@pytest.fixture
def discovered(engine, seed):
    with Session(engine) as session:
        s1 = session.exec(select(Site).where(Site.code == "S1")).one()
        run = ScanRun(kind="discover", site_id=s1.id, status="ok", triggered_by="test", summary={"devices": 1, "created": 1})
        session.add(run)
        session.flush()
        device = Device(device_class="other", site_id=s1.id, mgmt_ip="10.1.2.77", source="discovered", vendor="Hik<b>vision</b>", hostname=None)
        session.add(device)
        session.flush()
        session.add(ScanOutcome(scan_run_id=run.id, device_id=device.id, address="10.1.2.77", status="ok", protocols="snmp", created_device=True))
        session.commit()
        return run.id, device.id


def adopt(client, device_id, run_id, **form):
    token = csrf_token(client, f"/scans/{run_id}")
    return client.post(f"/scans/devices/{device_id}/adopt", data={"csrf_token": token, "device_class": "printer", "hostname": "IN-01", "next": f"/scans/{run_id}", "confirm": "1", **form})


def test_technician_adopts_a_discovered_device(login_as, discovered, engine):
    run_id, device_id = discovered
    client = login_as("technician")
    page = client.get(f"/scans/{run_id}").get_data(as_text=True)
    assert f'action="/scans/devices/{device_id}/adopt"' in page and "Hik&lt;b&gt;vision&lt;/b&gt;" in page
    response = adopt(client, device_id, run_id)
    assert response.status_code == 302 and response.headers["Location"] == f"/scans/{run_id}"
    with Session(engine) as session:
        device = session.get(Device, device_id)
        assert (device.source, device.device_class, device.hostname) == ("recorded", "printer", "IN-01")
        entry = session.exec(select(AuditLog).where(AuditLog.action == "adopt")).one()
        assert entry.actor == "u_technician" and entry.entity_id == str(device_id)
        assert entry.before["source"] == "discovered" and entry.after["source"] == "recorded"
    page = client.get(f"/scans/{run_id}").get_data(as_text=True)
    assert f'action="/scans/devices/{device_id}/adopt"' not in page
    # Twice: refused, nothing changes.
    assert adopt(client, device_id, run_id, device_class="laptop").status_code == 302
    with Session(engine) as session:
        assert session.get(Device, device_id).device_class == "printer"


@pytest.mark.parametrize("role", ["viewer", "planner", "security_officer"])
def test_others_may_not_adopt(login_as, discovered, engine, role):
    run_id, device_id = discovered
    client = login_as(role)
    token = csrf_token(client, "/devices/")
    response = client.post(f"/scans/devices/{device_id}/adopt", data={"csrf_token": token, "device_class": "printer"})
    assert response.status_code == 403
    with Session(engine) as session:
        assert session.get(Device, device_id).source == "discovered"


def test_adopt_needs_csrf_and_a_known_class(login_as, discovered, engine):
    run_id, device_id = discovered
    client = login_as("technician")
    assert client.post(f"/scans/devices/{device_id}/adopt", data={"device_class": "printer"}).status_code == 400
    adopt(client, device_id, run_id, device_class="spaceship")
    with Session(engine) as session:
        assert session.get(Device, device_id).source == "discovered"
    assert adopt(client, 999999, run_id).status_code == 404
