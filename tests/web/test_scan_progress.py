"""A scan's progress by phase with counts, the timeouts on the scan form, and a partial
discovery's results page explained in Vietnamese."""

from __future__ import annotations

import threading
import time

import pytest
from sqlmodel import Session, select

from collectors import scanjobs
from collectors.records import CollectionTimeout, DeviceFacts, Target
from collectors.runner import Outcome
from collectors.scanjobs import ScanJob, ScanRequest
from collectors.service import RunResult
from inventory.models import ScanOutcome, ScanRun, Site
from tests.web.test_scans import scan_app, start  # noqa: F401 - scan_app is a fixture

pytestmark = pytest.mark.db


def test_the_form_offers_the_timeouts_with_their_defaults(app, login_as):
    page = login_as("technician").get("/scans/").get_data(as_text=True)
    assert 'name="nmap_timeout" type="number" min="10" max="1800"' in page and 'value="60"' in page
    assert 'name="snmp_timeout" type="number" min="1" max="60"' in page and 'value="3"' in page
    assert 'name="ssh_timeout" type="number" min="5" max="300"' in page and 'value="30"' in page
    assert "Thời gian chờ (giây)" in page


@pytest.mark.parametrize(("field", "value", "bounds"), [("nmap_timeout", "5", "10–1800"), ("snmp_timeout", "61", "1–60"), ("ssh_timeout", "x", "5–300")])
def test_a_timeout_out_of_bounds_is_refused_and_kept_on_the_form(app, login_as, engine, field, value, bounds):
    client = login_as("technician")
    with Session(engine) as session:
        before = len(session.exec(select(ScanRun)).all())
    response = start(client, kind="discover", site="S1", **{field: value})
    assert response.status_code == 302 and f"{field}={value}" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Thời gian chờ {value} giây không hợp lệ ({bounds})." in page
    assert f'value="{value}"' in page  # what was typed survives
    with Session(engine) as session:
        assert len(session.exec(select(ScanRun)).all()) == before


def test_the_timeouts_reach_the_scan_request(app, login_as, monkeypatch):
    asked: list[ScanRequest] = []

    def fake_start(request, **kw):
        asked.append(request)
        job = ScanJob(token="t", params=request, triggered_by="x", state="error", error="not really")
        job.settled.set()
        return job

    monkeypatch.setattr(app.extensions["kiemke.scan_jobs"], "start", fake_start)
    client = login_as("technician")
    start(client, kind="discover", site="S1", nmap_timeout="120", snmp_timeout="2", ssh_timeout="45")
    start(client, kind="poll", site="S1", nmap_timeout="120", snmp_timeout="", ssh_timeout="")
    assert (asked[0].nmap_timeout, asked[0].snmp_timeout, asked[0].ssh_timeout) == (120.0, 2.0, 45.0)
    assert (asked[1].nmap_timeout, asked[1].snmp_timeout, asked[1].ssh_timeout) == (None, None, None)  # blank: the defaults; a poll runs no nmap


class SteppedDiscovery:
    """Stands in for service.discover: reports the phases one step at a time, as the test says."""

    def __init__(self, engine):
        self.engine = engine
        self.step = threading.Semaphore(0)
        self.options = None

    def __call__(self, engine, vault, *, site, triggered_by, options, on_started, on_phase, **kw):
        self.options = options
        with Session(engine) as session:
            run = ScanRun(kind="discover", status="running", triggered_by=triggered_by, params={"zone": kw.get("zone")},
                          site_id=session.exec(select(Site.id).where(Site.code == site)).one())  # fmt: skip
            session.add(run)
            session.commit()
            run_id = run.id
        on_started(run_id)
        on_phase("sweep", {"subnets_done": 1, "subnets": 256, "addresses_done": 256, "addresses": 65536, "hosts_found": 3, "subnets_failed": 1})
        self.step.acquire(timeout=20)
        on_phase("collect", {"hosts_found": 3})
        options.progress(1, 3, Outcome(Target("10.1.2.5"), (DeviceFacts(address="10.1.2.5", source="snmp"),)))
        options.progress(2, 3, Outcome(Target("10.1.2.6"), (), CollectionTimeout("no SNMP answer within 2 s")))
        self.step.acquire(timeout=20)
        with Session(engine) as session:
            run = session.get(ScanRun, run_id)
            run.status, run.error = "partial", "1 subnet piece(s) not swept: 10.1.3.0/24: timeout: nmap TCP scan did not finish within 60 s"
            session.add(run)
            session.commit()
        return RunResult(run_id, "partial", {})


def _progress_until(client, run_id: int, phase: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        data = client.get(f"/scans/{run_id}/progress").get_json()
        if data["phase"] == phase or data["state"] != "running":
            return data
        time.sleep(0.05)
    raise AssertionError(f"no {phase} phase")


def test_a_running_discovery_reports_its_phase_and_counts(scan_app, login_as, engine, monkeypatch):  # noqa: F811 - the fixture
    fake = SteppedDiscovery(engine)
    monkeypatch.setattr(scanjobs, "discover", fake)
    client = login_as("technician")
    response = start(client, kind="discover", site="S1", snmp_timeout="2", ssh_timeout="40")
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert (fake.options.snmp_timeout, fake.options.ssh_timeout) == (2.0, 40.0)

    data = _progress_until(client, run_id, "sweep")
    assert data["counts"] == {"subnets_done": 1, "subnets": 256, "addresses_done": 256, "addresses": 65536, "hosts_found": 3, "subnets_failed": 1}
    assert data["phase_text"] == "Dò quét địa chỉ (nmap): dải 1/256, 256/65.536 địa chỉ, tìm thấy 3 máy, 1 phần lỗi"
    page = client.get(f"/scans/{run_id}").get_data(as_text=True)
    assert "data-phase-text" in page and "Dò quét địa chỉ (nmap)" in page
    assert "Dò tìm S1 — Dò quét địa chỉ (nmap)" in client.get("/scans/").get_data(as_text=True)  # the running list

    fake.step.release()
    data = _progress_until(client, run_id, "collect")
    deadline = time.monotonic() + 10
    while data["done"] < 2 and time.monotonic() < deadline:
        data = client.get(f"/scans/{run_id}/progress").get_json()
    assert (data["done"], data["total"], data["counts"]["answered"], data["counts"]["silent"]) == (2, 3, 1, 1)
    assert data["phase_text"] == "Thu thập thiết bị: 2/3 xong, 1 trả lời, 1 không trả lời"

    fake.step.release()
    deadline = time.monotonic() + 10
    while data["state"] == "running" and time.monotonic() < deadline:
        data = client.get(f"/scans/{run_id}/progress").get_json()
    assert data["state"] == "finished" and data["status"] == "partial"


def test_a_jobs_progress_in_english_uses_english_numbers(app, login_as, engine):
    with Session(engine) as session:
        run = ScanRun(kind="poll", status="running", triggered_by="web:x", params={"targets": 1500})
        session.add(run)
        session.commit()
        run_id = run.id
    registry = app.extensions["kiemke.scan_jobs"]
    job = ScanJob(token="t1", params=ScanRequest("poll"), triggered_by="web:x", done=1200, total=1500, phase="collect", counts={"answered": 1200, "silent": 0})
    registry.add(job)
    registry.attach(job, run_id)
    client = login_as("technician")
    assert client.get(f"/scans/{run_id}/progress").get_json()["phase_text"] == "Thu thập thiết bị: 1.200/1.500 xong, 1.200 trả lời, 0 không trả lời"
    with client.session_transaction() as session:
        session["lang"] = "en"
    data = client.get(f"/scans/{run_id}/progress").get_json()
    assert (data["phase"], data["done"], data["total"]) == ("collect", 1200, 1500)
    assert data["phase_text"] == "Collecting devices: 1,200/1,500 done, 1,200 answered, 0 silent"


def test_a_partial_discovery_explains_itself_in_vietnamese(app, login_as, engine, seed):
    piece = {"subnet": "10.1.3.0/24", "kind": "timeout", "message": "nmap TCP scan did not finish within 60 s"}
    with Session(engine) as session:
        s1 = session.exec(select(Site).where(Site.code == "S1")).one()
        run = ScanRun(kind="discover", site_id=s1.id, status="partial", triggered_by="web:kt", params={"nmap_timeout": 60},
                      error="1 subnet piece(s) not swept: 10.1.3.0/24: timeout: nmap TCP scan did not finish within 60 s",
                      summary={"devices": 1, "ok": 0, "failed": 1, "created": 0, "answered": 0, "not_manageable": 1, "unreachable": 0, "errors": 0,
                               "subnet_errors": [piece], "hosts_found": 1, "subnets": ["10.1.2.0/23"]})  # fmt: skip
        session.add(run)
        session.flush()
        silent = "no SNMP answer from 10.1.2.60:161 within 3 s (wrong community?)"
        session.add(ScanOutcome(scan_run_id=run.id, device_id=None, address="10.1.2.60", status="failed", error_kind="timeout", message=silent))
        session.commit()
        run_id = run.id
    page = login_as("technician").get(f"/scans/{run_id}").get_data(as_text=True)
    assert "1 phần của dải mạng không quét được; kết quả của các phần khác vẫn được ghi nhận." in page
    assert "Nên thử:" in page and "dải nhỏ hơn" in page
    assert "Phần dải 10.1.3.0/24" in page and "nmap không quét xong trong 60 giây." in page
    assert "Tìm thấy, không quản lý được" in page and "không quản lý được</span>" in page
    assert "did not finish" not in page and "no SNMP answer" not in page  # the English texts stay in the database


# -- runs carried out by workers (KIEMKE_JOBS=workers): their progress is read from the run's row


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _job_run(engine, kind: str, *, every_site: bool = False, **fields) -> int:
    with Session(engine) as session:
        s1 = session.exec(select(Site).where(Site.code == "S1")).one()
        run = ScanRun(kind=kind, site_id=None if every_site else s1.id, triggered_by="web:kt", **fields)
        session.add(run)
        session.commit()
        return run.id


def _recorded(engine, run_id: int) -> dict | None:
    with Session(engine) as session:
        return session.get(ScanRun, run_id).params.get("progress")


SWEEP = {"subnets_done": 1, "subnets": 4, "addresses_done": 256, "addresses": 1024, "hosts_found": 2, "subnets_failed": 0}


def test_a_worker_writes_its_discovery_progress_at_most_once_a_second(app, engine, seed):
    from collectors.work.progress import RowProgress

    run_id = _job_run(engine, "discover", params={"jobs": "procrastinate"})
    clock = Clock()
    progress = RowProgress(engine, run_id, clock=clock)
    progress.phase("sweep", SWEEP)  # the first word: written at once
    assert progress.writes == 1 and _recorded(engine, run_id)["counts"] == SWEEP
    clock.now = 0.4
    progress.phase("probe", SWEEP | {"hosts_found": 3})  # within the second: kept for later
    assert progress.writes == 1 and _recorded(engine, run_id)["phase"] == "sweep"
    clock.now = 1.5
    progress.phase("sweep", SWEEP | {"subnets_done": 2, "hosts_found": 3})
    assert progress.writes == 2 and _recorded(engine, run_id)["counts"]["subnets_done"] == 2
    clock.now = 1.6
    progress.phase("collect", {"hosts_found": 3})  # the sweep's end: at once
    progress.device(1, 3, Outcome(Target("10.1.2.5"), (DeviceFacts(address="10.1.2.5", source="snmp"),)))  # throttled
    assert progress.writes == 3 and (_recorded(engine, run_id)["phase"], _recorded(engine, run_id)["done"]) == ("collect", 0)
    progress.device(2, 3, Outcome(Target("10.1.2.6"), (), CollectionTimeout("no SNMP answer within 2 s")))
    progress.device(3, 3, Outcome(Target("10.1.2.7"), (DeviceFacts(address="10.1.2.7", source="snmp"),)))  # the last: at once
    recorded = _recorded(engine, run_id)
    assert progress.writes == 4 and (recorded["done"], recorded["total"], recorded["counts"]["answered"], recorded["counts"]["silent"]) == (3, 3, 2, 1)
    progress.flush()  # nothing new: nothing written
    assert progress.writes == 4 and recorded["at"]


def test_a_worker_run_discovery_shows_the_rows_progress(app, login_as, engine, seed):
    from collectors.work.progress import RowProgress

    run_id = _job_run(engine, "discover", params={"jobs": "procrastinate"})
    client = login_as("technician")
    data = client.get(f"/scans/{run_id}/progress").get_json()
    assert (data["state"], data["phase"], data["counts"]) == ("running", None, {})  # taken by a worker, nothing told yet
    RowProgress(engine, run_id).phase("sweep", SWEEP)
    data = client.get(f"/scans/{run_id}/progress").get_json()
    assert (data["state"], data["phase"], data["counts"]) == ("running", "sweep", SWEEP)
    assert data["phase_text"] == "Dò quét địa chỉ (nmap): dải 1/4, 256/1.024 địa chỉ, tìm thấy 2 máy"
    assert "Dò quét địa chỉ (nmap): dải 1/4" in client.get(f"/scans/{run_id}").get_data(as_text=True)
    with Session(engine) as session:
        run = session.get(ScanRun, run_id)
        run.status, run.summary = "ok", {"devices": 2, "ok": 2, "failed": 0}
        session.add(run)
        session.commit()
    data = client.get(f"/scans/{run_id}/progress").get_json()
    assert (data["state"], data["status"], data["done"]) == ("finished", "ok", 2)


def test_a_poll_job_runs_progress_is_its_summary(app, login_as, engine, seed):
    counts = {"ok": 0, "failed": 0, "created": 0, "updated": 0, "unreachable": 0, "snapshots": 0, "sightings": 0, "devices": 0}
    run_id = _job_run(engine, "poll", every_site=True, params={"jobs": "procrastinate", "targets": 5}, summary=counts)  # all sites: no site
    client = login_as("technician")
    data = client.get(f"/scans/{run_id}/progress").get_json()
    assert (data["state"], data["phase"], data["done"], data["total"]) == ("running", "queued", 0, 5)  # no worker has taken a job
    assert "worker" in data["phase_text"]
    with Session(engine) as session:
        run = session.get(ScanRun, run_id)
        run.summary = counts | {"devices": 3, "ok": 2, "failed": 1}
        session.add(run)
        session.commit()
    data = client.get(f"/scans/{run_id}/progress").get_json()
    assert (data["phase"], data["done"], data["total"], data["counts"]) == ("collect", 3, 5, {"answered": 2, "silent": 1})
    assert data["phase_text"] == "Thu thập thiết bị: 3/5 xong, 2 trả lời, 1 không trả lời"
    page = client.get(f"/scans/{run_id}")
    assert page.status_code == 200 and "Thu thập thiết bị: 3/5 xong" in page.get_data(as_text=True)
