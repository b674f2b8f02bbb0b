"""Findings follow the web's writes, and "Kiểm tra lại" re-evaluates on request: importing a device
of a disallowed origin shows its finding on the next page load; adoption is evaluated once
committed; security officers and admins re-check the fleet or one site with live progress."""

from __future__ import annotations

import io
import re
import time

import pytest
from sqlalchemy import select
from sqlmodel import Session

from inventory import changes
from inventory.models import AuditLog, Device, Finding
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db


def upload(client, content: str, name: str = "thiet-bi.csv"):
    """Upload and confirm the preview (web.transfers: the upload itself writes nothing)."""
    token = csrf_token(client, "/transfers/")
    data = {"csrf_token": token, "kind": "devices", "file": (io.BytesIO(content.encode()), name)}
    preview = client.post("/transfers/import", data=data, content_type="multipart/form-data")
    held = re.search(r'name="token" type="hidden" value="([^"]+)"', preview.get_data(as_text=True))
    assert held, preview.get_data(as_text=True)
    return client.post("/transfers/import/confirm", data={"csrf_token": token, "token": held.group(1), "apply": "y"})


def device_id(engine, serial: str) -> int:
    with Session(engine) as session:
        return session.execute(select(Device.id).where(Device.serial == serial)).scalar_one()


def wait_for(app, token: str, seconds: float = 20.0):
    job = app.extensions["kiemke.scan_jobs"].by_token(token)
    deadline = time.monotonic() + seconds
    while job.state == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.state != "running", "the re-check did not finish"
    return job


def recheck(client, site: str | None = None, page: str = "/"):
    data = {"csrf_token": csrf_token(client, page)} | ({"site": site} if site else {})
    return client.post("/recheck/", data=data)


def test_a_web_import_of_a_disallowed_origin_shows_its_finding_on_the_next_page(login_as, engine):
    client = login_as("technician")
    page = upload(client, "Mã đơn vị,Loại thiết bị,Tên máy,Số sê-ri,Xuất xứ\nS2,laptop,lt-import-cn,SN-IMPORT-CN,CN\n").get_data(as_text=True)
    assert "Đã nhập." in page and "Đã đánh giá" in page and "phát hiện mới" in page
    new_id = device_id(engine, "SN-IMPORT-CN")
    with Session(engine) as session:
        assert session.execute(select(Finding.status).where(Finding.rule_id == "origin.allowed", Finding.device_id == new_id)).scalar_one() == "open"
    assert "origin.allowed" in client.get(f"/devices/{new_id}").get_data(as_text=True)


def test_a_failing_evaluation_keeps_the_web_import_and_says_so(login_as, engine):
    def broken(_engine, _change):
        raise RuntimeError("postgresql://kiemke:hunter2@db/kiemke unreachable")

    changes.subscribe(broken)
    try:
        page = upload(login_as("planner"), "Mã đơn vị,Loại thiết bị,Tên máy,Số sê-ri\nS1,desktop,pc-keep,SN-KEEP\n").get_data(as_text=True)
    finally:
        changes.unsubscribe(broken)
    assert "Đã nhập." in page and "Đã lưu; đánh giá tuân thủ thất bại: RuntimeError" in page
    assert "hunter2" not in page and "Traceback" not in page
    assert device_id(engine, "SN-KEEP")


def test_adoption_in_the_web_is_evaluated(login_as, engine, seed):
    with Session(engine) as session:
        site_id = session.execute(select(Device.site_id).where(Device.id == seed.device_id)).scalar_one()
        stranger = Device(device_class="other", site_id=site_id, mgmt_ip="10.1.2.77", serial="SN-WEB-STRANGER", source="discovered", country_of_origin="CN")
        session.add(stranger)
        session.commit()
        stranger_id = stranger.id
    client = login_as("technician")
    token = csrf_token(client, "/scans/")
    response = client.post(f"/scans/devices/{stranger_id}/adopt", data={"csrf_token": token, "device_class": "desktop", "hostname": "pc-adopted", "confirm": "1"})
    assert response.status_code == 302
    with Session(engine) as session:
        assert session.execute(select(Finding.status).where(Finding.rule_id == "origin.allowed", Finding.device_id == stranger_id)).scalar_one() == "open"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r"Đã đánh giá \d+ thiết bị: \d+ phát hiện mới", page)  # the technician is told what the evaluation found


@pytest.mark.parametrize("role", ["viewer", "technician", "planner"])
def test_only_security_officers_and_admins_may_recheck(login_as, role):
    client = login_as(role)
    assert recheck(client).status_code == 403
    assert "/recheck/" not in client.get("/").get_data(as_text=True)  # and see no button


def test_a_recheck_of_the_fleet_shows_progress_then_its_summary(app, login_as, engine, seed):
    client = login_as("security_officer")
    assert 'action="/recheck/"' in client.get("/").get_data(as_text=True)
    response = recheck(client)
    assert response.status_code == 302
    token = response.headers["Location"].rsplit("/", 1)[1]
    progress = client.get(f"/recheck/{token}/progress")
    assert progress.status_code == 200 and progress.json["state"] in ("running", "finished") and progress.headers["Cache-Control"] == "no-store"
    job = wait_for(app, token)
    assert job.error is None and job.params.site is None
    assert client.get(f"/recheck/{token}/progress").json["state"] == "finished"
    page = client.get(f"/recheck/{token}").get_data(as_text=True)
    assert "data-progress-url" not in page and "data-recheck-devices" in page and "Phát hiện mới" in page
    assert client.get("/recheck/progress.js").status_code == 200
    with Session(engine) as session:
        entry = session.execute(select(AuditLog).where(AuditLog.action == "recheck")).scalar_one()
        assert entry.actor == seed.users["security_officer"] and entry.entity == "fleet"


def test_a_recheck_of_one_site_from_its_page(app, login_as, engine, seed):
    client = login_as("admin")
    page = client.get(f"/sites/{seed.site_code}").get_data(as_text=True)
    assert f'name="site" value="{seed.site_code}"' in page
    response = recheck(client, site=seed.site_code, page=f"/sites/{seed.site_code}")
    assert response.status_code == 302
    job = wait_for(app, response.headers["Location"].rsplit("/", 1)[1])
    assert job.params.site == seed.site_code and job.error is None and job.result is not None
    with Session(engine) as session:
        entry = session.execute(select(AuditLog).where(AuditLog.action == "recheck")).scalar_one()
        assert entry.entity == "site" and entry.entity_id == seed.site_code


def test_a_recheck_needs_a_known_site_and_a_csrf_token(login_as):
    client = login_as("security_officer")
    assert recheck(client, site="NOPE").status_code == 404
    assert client.post("/recheck/", data={}).status_code == 400
    assert client.get("/recheck/deadbeef").status_code == 404
    assert client.get("/recheck/deadbeef/progress").status_code == 404
