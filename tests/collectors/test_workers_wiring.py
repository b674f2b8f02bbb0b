"""With KIEMKE_JOBS=workers on PostgreSQL, the work a change, a discovery or an agent-file upload
calls for becomes jobs for `kiemke worker` instead of running in the process that asked:

- a device edit (web) enqueues one `evaluate_scope` job per touched site, in the edit's own
  transaction (a rolled-back change enqueues none); running the job evaluates;
- a change announced after its commit (`changed`) enqueues in a short transaction of its own;
- a discovery started from the web or the CLI is a `queued` scan run and its `discover_site` job,
  written together (a refused one writes neither); the run page follows it; the job carries it out;
- agent files (import page, `kiemke import-agent`) are copied to KIEMKE_HOME/incoming (0600) and
  one `ingest_agent_files` job imports them; a live agent report is stored in its request and
  only its evaluation is queued;
- on SQLite the setting changes nothing: the evaluation runs in process.

PostgreSQL only (KIEMKE_TEST_DATABASE_URL, see scripts/pg_test_server.sh), but for the SQLite case.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from collectors.work import tasks
from collectors.work.queue import ensure_schema, task_name
from inventory.changes import changed, changed_on_commit
from inventory.models import Device, Finding, ScanRun, Site
from inventory.settings import Settings
from tests.conftest import ADMIN_URL
from tests.web.conftest import Seed, csrf_token, login, seed_data
from tests.web.test_device_edit import form_of
from web import create_app

ON_POSTGRES = bool(ADMIN_URL) and ADMIN_URL.startswith("postgresql")
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="workers need PostgreSQL: set KIEMKE_TEST_DATABASE_URL (scripts/pg_test_server.sh)")
pytestmark = pytest.mark.db


@pytest.fixture
def workers(monkeypatch, engine, db_url, tmp_path):
    """KIEMKE_JOBS=workers for this process (and the worker tasks' own settings), with the queue."""
    home = tmp_path / "home"
    for key, value in {"KIEMKE_JOBS": "workers", "DATABASE_URL": db_url, "KIEMKE_HOME": str(home)}.items():
        monkeypatch.setenv(key, value)
    ensure_schema(engine)
    tasks.runtime.cache_clear()  # the tasks open this test's database
    yield Settings()
    tasks.runtime.cache_clear()


@pytest.fixture
def seeded(engine) -> Seed:
    with Session(engine, expire_on_commit=False) as session:
        return seed_data(session)


@pytest.fixture
def officer(workers, seeded, tmp_path):
    app = create_app(Settings(home=tmp_path / "home"), {"TESTING": True})
    client = app.test_client()
    assert login(client, seeded.users["security_officer"]).status_code == 302
    return client


def jobs(engine, task: str) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, args, lock, queue_name, status FROM procrastinate_jobs WHERE task_name = :t ORDER BY id"), {"t": task_name(task)})
        return [dict(r._mapping) for r in rows]


def open_origin_finding(engine, device_id: int) -> Finding | None:
    with Session(engine) as session:
        return session.exec(select(Finding).where(Finding.rule_id == "origin.allowed", Finding.device_id == device_id, Finding.status == "open")).first()


def site_id(engine, code: str) -> int:
    with Session(engine) as session:
        return session.exec(select(Site.id).where(Site.code == code)).one()


# -- item 1: evaluations after a change -------------------------------------------------------------


@needs_postgres
def test_a_device_edit_enqueues_its_evaluation_and_the_job_evaluates(officer, seeded, engine):
    data = form_of(officer, seeded.device_id)
    data["country_of_origin"] = "CN"  # a disallowed origin: the evaluation opens a finding
    response = officer.post(f"/devices/{seeded.device_id}/edit", data=data, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "xếp hàng cho tiến trình nền" in page and "Đã đánh giá" not in page
    (job,) = jobs(engine, "evaluate_scope")
    s1 = site_id(engine, "S1")
    assert job["args"] == {"device_ids": [seeded.device_id], "site_ids": [], "trigger": "edit", "actor": seeded.users["security_officer"]}
    assert (job["lock"], job["queue_name"], job["status"]) == (f"evaluate:site:{s1}", "evaluate", "todo")
    assert open_origin_finding(engine, seeded.device_id) is None  # not evaluated here

    line = tasks.evaluate_scope(**job["args"])  # what a worker runs
    assert line.startswith("evaluated 1 devices: ")
    finding = open_origin_finding(engine, seeded.device_id)
    assert finding is not None and finding.actual == "CN"


@needs_postgres
def test_a_real_worker_runs_the_evaluation_an_edit_enqueued(officer, seeded, engine, workers, db_url):
    import os
    import signal
    import subprocess
    import sys
    import time

    data = form_of(officer, seeded.device_id)
    data["country_of_origin"] = "CN"
    officer.post(f"/devices/{seeded.device_id}/edit", data=data)
    assert len(jobs(engine, "evaluate_scope")) == 1 and open_origin_finding(engine, seeded.device_id) is None
    assert workers.credential_key  # the hub's key in the worker's home (a worker refuses to make one up)
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-c", "from web.main import main; main()", "worker", "--queue", "evaluate", "--concurrency", "1"]
    process = subprocess.Popen(command, env=env, cwd=Path(__file__).parents[2], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while jobs(engine, "evaluate_scope") and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.3)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert jobs(engine, "evaluate_scope") == [], output[-2000:]  # done, so deleted
    finding = open_origin_finding(engine, seeded.device_id)
    assert finding is not None and finding.actual == "CN"


@needs_postgres
def test_a_rolled_back_change_enqueues_nothing_and_a_committed_one_one_job_per_site(workers, seeded, engine):
    from web.recheck import subscribe_evaluation

    subscribe_evaluation()
    with Session(engine) as session:
        session.get(Device, seeded.device_id).notes = "rolled back"
        changed_on_commit(session, device_ids=[seeded.device_id], trigger="edit", actor="tester")
        session.flush()
        session.rollback()
    assert jobs(engine, "evaluate_scope") == []

    s1, s2 = site_id(engine, "S1"), site_id(engine, "S2")
    with Session(engine) as session:
        session.get(Device, seeded.device_id).notes = "kept"
        changed_on_commit(session, device_ids=[seeded.device_id, seeded.hostile_device_id], site_ids=[s2], trigger="edit", actor="tester")
        session.commit()
    queued = jobs(engine, "evaluate_scope")
    assert [(j["lock"], j["args"]["device_ids"], j["args"]["site_ids"]) for j in queued] == [
        (f"evaluate:site:{s1}", sorted([seeded.device_id, seeded.hostile_device_id]), []),
        (f"evaluate:site:{s2}", [], [s2]),
    ]


@needs_postgres
def test_a_change_announced_after_its_commit_is_enqueued_right_after(workers, seeded, engine):
    from web.recheck import subscribe_evaluation

    subscribe_evaluation()
    outcome = changed(engine, device_ids=[seeded.device_id], trigger="import", actor="cli:tester")
    assert outcome.queued == 1 and not outcome.evaluated
    assert outcome.line() == "evaluation queued for the workers (1 job)"
    (job,) = jobs(engine, "evaluate_scope")
    assert job["args"]["trigger"] == "import" and job["status"] == "todo"


@needs_postgres
def test_a_whole_site_evaluation_waiting_in_the_queue_covers_the_next_change_of_that_site(workers, seeded, engine):
    """A poll cycle's batches of one site arrive one after another: while the site's evaluation
    waits, the next batch adds none beside it; once it has started, a new one waits behind it."""
    from web.recheck import subscribe_evaluation

    subscribe_evaluation()
    with Session(engine) as session:
        site_id = session.get(Device, seeded.device_id).site_id
    first = changed(engine, device_ids=[seeded.device_id], site_ids=[site_id], trigger="collector-poll", actor="collector:c1")
    assert first.queued == 1
    second = changed(engine, device_ids=[seeded.hostile_device_id], site_ids=[site_id], trigger="collector-poll", actor="collector:c1")
    assert second.queued == 0 and second.line() == "1 evaluation already waiting for the workers covers it"
    assert len(jobs(engine, "evaluate_scope")) == 1
    with Session(engine) as session:  # the waiting job starts (a worker took it)
        session.execute(text("UPDATE procrastinate_jobs SET status = 'doing'"))
        session.commit()
    third = changed(engine, device_ids=[seeded.device_id], site_ids=[site_id], trigger="collector-poll", actor="collector:c1")
    assert third.queued == 1 and len(jobs(engine, "evaluate_scope")) == 2


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite case: on PostgreSQL the tests above run")
def test_on_sqlite_the_setting_changes_nothing(monkeypatch, engine, seeded, tmp_path):
    from web.recheck import subscribe_evaluation

    monkeypatch.setenv("KIEMKE_JOBS", "workers")
    subscribe_evaluation()
    outcome = changed(engine, device_ids=[seeded.device_id], trigger="edit", actor="tester")
    assert outcome.evaluated and not outcome.queued
    assert outcome.line().startswith("evaluated 1 devices")


# -- item 2: discoveries -----------------------------------------------------------------------------


def runs(engine, kind: str = "discover") -> list[ScanRun]:
    with Session(engine) as session:
        return list(session.exec(select(ScanRun).where(ScanRun.kind == kind).order_by(ScanRun.id)))


def nothing_on_the_wire(monkeypatch):
    """The job's sweep replaced by one that finds nothing: the test sends no packet anywhere."""
    from collectors import service

    monkeypatch.setattr(service, "discovery_targets", lambda *args, **kwargs: ([], {"subnets": []}))


@needs_postgres
def test_a_web_discovery_is_queued_and_its_page_follows_the_run(workers, seeded, engine, tmp_path, monkeypatch):
    app = create_app(Settings(home=tmp_path / "home"), {"TESTING": True})
    client = app.test_client()
    assert login(client, seeded.users["technician"]).status_code == 302
    token = csrf_token(client, "/scans/")
    response = client.post("/scans/start", data={"csrf_token": token, "kind": "discover", "site": "S1", "zone": "party_wan", "snmp_port": "1161", "nmap_timeout": "20"})
    (run,) = runs(engine)
    assert response.status_code == 302 and response.headers["Location"] == f"/scans/{run.id}"
    assert (run.status, run.params["zone"], run.params["snmp_ports"], run.params["nmap_timeout"]) == ("queued", "party_wan", [1161], 20.0)
    assert run.triggered_by == f"web:{seeded.users['technician']}"
    (job,) = jobs(engine, "discover_site")
    assert job["args"] == {"run_id": run.id} and job["queue_name"] == "discover" and job["lock"] == f"discover:site:{run.site_id}"
    progress = client.get(f"/scans/{run.id}/progress").get_json()
    assert (progress["state"], progress["status"], progress["phase"]) == ("running", "queued", "queued")
    assert "worker" in progress["phase_text"] and progress["phase_text"] in client.get(f"/scans/{run.id}").get_data(as_text=True)

    nothing_on_the_wire(monkeypatch)
    assert tasks.discover_site(run.id)["status"] == "ok"  # what a worker runs
    assert client.get(f"/scans/{run.id}/progress").get_json()["state"] == "finished"
    assert tasks.discover_site(run.id) is None  # run again (a retried job): the finished run takes nothing


@needs_postgres
def test_a_cli_discovery_is_queued_and_a_refused_one_writes_nothing(workers, seeded, engine, kiemke_cli, monkeypatch):
    result = kiemke_cli("discover", "--site", "S1")
    assert result.exit_code == 0, result.output
    (run,) = runs(engine)
    assert f"scan run #{run.id} queued for the workers" in result.output and run.status == "queued"
    assert [j["args"] for j in jobs(engine, "discover_site")] == [{"run_id": run.id}]

    result = kiemke_cli("discover", "--site", "S1", "--subnet", "192.0.2.0/24")
    assert result.exit_code != 0 and "not inside any zone subnet" in result.output
    assert len(runs(engine)) == 1 and len(jobs(engine, "discover_site")) == 1


@needs_postgres
def test_cli_discover_wait_follows_the_run_to_its_end(workers, seeded, engine, kiemke_cli, monkeypatch):
    import threading

    from collectors.work import discoveries

    nothing_on_the_wire(monkeypatch)
    monkeypatch.setattr(discoveries, "wait_for_run", _run_then_wait(discoveries.wait_for_run, threading))
    result = kiemke_cli("discover", "--site", "S1", "--wait")
    assert result.exit_code == 0, result.output
    (run,) = runs(engine)
    assert f"scan run #{run.id} ok: 0 devices" in result.output


def _run_then_wait(wait_for_run, threading):
    """`--wait` with a worker: the queued job run in a thread, as `kiemke worker` would."""

    def wait(engine, run_id, every=0.2):
        threading.Thread(target=tasks.discover_site, args=(run_id,), daemon=True).start()
        return wait_for_run(engine, run_id, every=every)

    return wait


# -- item 3: agent files -----------------------------------------------------------------------------


@pytest.fixture
def account(engine, seeded):
    from collectors.agents.accounts import add_account

    with Session(engine, expire_on_commit=False) as session:
        issued = add_account(session, "s1-agents", site="S1", zone="internet", actor="test")
        session.commit()
    return issued


def device_count(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Device.id)).all())


AGENT_FILES = [("PC-KT-0142.json", "windows11_laptop.json"), ("may-tram-linux.ocs", "fusion_linux_inventory.xml")]


@needs_postgres
def test_uploaded_agent_files_are_queued_on_shared_storage_and_the_job_imports_them(workers, seeded, account, engine, tmp_path):
    import io

    from tests.web.agents.conftest import fixture_bytes

    app = create_app(Settings(home=tmp_path / "home"), {"TESTING": True})
    client = app.test_client()
    assert login(client, seeded.users["technician"]).status_code == 302
    before = device_count(engine)
    token = csrf_token(client, "/transfers/")
    files = [(io.BytesIO(fixture_bytes(fixture)), name) for name, fixture in AGENT_FILES]
    response = client.post("/transfers/agent-files", data={"account": account.name, "csrf_token": token, "files": files}, content_type="multipart/form-data")
    assert response.status_code == 200 and "Đã xếp hàng 2 tệp cho tiến trình nền" in response.get_data(as_text=True)
    assert device_count(engine) == before  # nothing imported in the request
    (job,) = jobs(engine, "ingest_agent_files")
    args = job["args"]
    assert (args["account"], args["actor"], args["names"], job["queue_name"]) == (account.name, seeded.users["technician"], [n for n, _ in AGENT_FILES], "ingest")
    incoming = (workers.home / "incoming").resolve()
    for path in map(Path, args["paths"]):
        assert path.parent.parent == incoming and path.stat().st_mode & 0o777 == 0o600
    assert Path(args["paths"][0]).parent.stat().st_mode & 0o777 == 0o700

    result = tasks.ingest_agent_files(**args)  # what a worker runs
    assert [(f["name"], f["status"]) for f in result["files"]] == [(n, "created") for n, _ in AGENT_FILES]
    assert device_count(engine) == before + 2
    assert not any(Path(p).exists() for p in args["paths"]) and not Path(args["paths"][0]).parent.exists()
    assert result["evaluation"] == "evaluation queued for the workers (1 job)"  # and its evaluation is a job too
    assert len(jobs(engine, "evaluate_scope")) == 1


@needs_postgres
def test_cli_import_agent_queues_the_files_and_refuses_an_unknown_account(workers, seeded, account, engine, kiemke_cli, tmp_path):
    source = tmp_path / "from-usb"
    source.mkdir()
    from tests.web.agents.conftest import fixture_bytes

    for name, fixture in AGENT_FILES:
        (source / name).write_bytes(fixture_bytes(fixture))
    result = kiemke_cli("import-agent", source, "--account", account.name)
    assert result.exit_code == 0, result.output
    (job,) = jobs(engine, "ingest_agent_files")
    assert f"2 files queued for the workers (job #{job['id']})" in result.output
    assert sorted(job["args"]["names"]) == sorted(n for n, _ in AGENT_FILES)

    result = kiemke_cli("import-agent", source, "--account", "nobody")
    assert result.exit_code != 0 and "no agent account named 'nobody'" in result.output
    assert len(jobs(engine, "ingest_agent_files")) == 1 and len(list((workers.home / "incoming").iterdir())) == 1


@needs_postgres
def test_a_live_agent_report_is_stored_in_its_request_and_its_evaluation_queued(workers, seeded, account, engine, tmp_path):
    import base64

    from tests.web.agents.conftest import fixture_bytes
    from web.agents_endpoint import BATCHER

    app = create_app(Settings(home=tmp_path / "home"), {"TESTING": True})
    auth = "Basic " + base64.b64encode(f"{account.name}:{account.password}".encode()).decode()
    before = device_count(engine)
    response = app.test_client().post("/inventory", data=fixture_bytes("windows11_laptop.json"), headers={"Authorization": auth, "Content-Type": "application/json"})
    assert response.status_code == 200 and device_count(engine) == before + 1  # stored before the answer
    batcher = app.extensions[BATCHER]
    outcome = batcher.flush() or batcher.last  # its own thread may have told it first
    assert outcome.queued == 1 and not outcome.evaluated
    (job,) = jobs(engine, "evaluate_scope")
    assert job["args"]["trigger"] == "agent"


@needs_postgres
def test_a_discovery_whose_job_failed_for_good_is_closed(workers, seeded, engine):
    from collectors.work.discoveries import DiscoveryRequest, enqueue_discovery
    from collectors.work.polls import settle_job_runs

    waiting = enqueue_discovery(engine, DiscoveryRequest("S1"), triggered_by="cli:tester")
    failed = enqueue_discovery(engine, DiscoveryRequest("S2"), triggered_by="cli:tester")
    with engine.begin() as connection:
        connection.execute(text("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = :id"), {"id": failed.job_id})
    assert settle_job_runs(engine) == [failed.scan_run_id]
    by_id = {r.id: r for r in runs(engine)}
    closed, queued = by_id[failed.scan_run_id], by_id[waiting.scan_run_id]
    assert (closed.status, queued.status) == ("error", "queued") and "its job failed" in closed.error
    assert settle_job_runs(engine) == []
