"""The hub's polls as procrastinate jobs on PostgreSQL, run by real `kiemke worker` processes
against a slice of the lab (snmpsim switches on loopback addresses of this test module).

- two workers poll a site: every device polled exactly once, each result recorded once, the run
  finished once and its evaluation enqueued with it;
- a worker killed (-9) in the middle of a slow device's poll: another worker retries the job once
  the dead one's heartbeat is stale, and nothing is recorded twice;
- a device's poll is never queued twice (queueing lock), and a job enqueued in a transaction that
  rolls back does not exist;
- a run whose jobs failed for good is closed with what it has.

PostgreSQL only (KIEMKE_TEST_DATABASE_URL, see scripts/pg_test_server.sh); on SQLite only the
refusal of `kiemke worker` runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from collectors.credentials import add_credential
from collectors.lab import spec
from collectors.work.polls import enqueue_site_poll, poll_lock, settle_job_runs
from collectors.work.queue import defer_in_transaction, ensure_schema, task_name
from inventory import db
from inventory.crypto import Vault
from inventory.models import Device, Observation, ScanOutcome, ScanRun
from inventory.settings import Settings
from tests.collectors.test_fault_kill import wait_for
from tests.conftest import ADMIN_URL
from tests.inventory.factories import make_province
from tests.lab import snmp_devices as kinds
from tests.lab.support import run_port

ON_POSTGRES = bool(ADMIN_URL) and ADMIN_URL.startswith("postgresql")
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="workers need PostgreSQL: set KIEMKE_TEST_DATABASE_URL (scripts/pg_test_server.sh)")
pytestmark = pytest.mark.db

KIEMKE = [sys.executable, "-c", "from web.main import main; main()"]
NETWORK = "127.253.71"
PORT = run_port(71)
SLOW_DELAY = 0.8  # seconds the slow switch holds each answer: its poll lasts several seconds
STALLED_AFTER = 3.0  # the workers' heartbeat timeout here (seconds)


def _switch(n: int, **overrides) -> spec.LabDevice:
    access = spec.SnmpAccess(PORT, "Kk-workers-ro", f"kiemkew{n}", f"auth-secret-w{n}x", f"priv-secret-w{n}x")
    interfaces = tuple(spec.LabInterface(i, f"GigabitEthernet1/0/{i}", kinds.mac(0xC7, n, 0, i), 1000, True) for i in range(1, 5))
    return kinds.lab_device(n, NETWORK, access, key=f"work{n}", interfaces=interfaces, **overrides)


SWITCHES = [_switch(n) for n in range(1, 7)]
SLOW = _switch(9, behaviour="slow")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not ON_POSTGRES:
        pytest.skip("workers need PostgreSQL")
    from collectors.lab.snmp_agents import SnmpLab

    lab = SnmpLab([*SWITCHES, SLOW], tmp_path_factory.mktemp("workers-lab"), slow_delay=SLOW_DELAY)
    lab.start(timeout=60)
    yield lab
    lab.stop()


@pytest.fixture
def hub(engine, tmp_path: Path, db_url: str):
    """The hub's database with the job queue: site S1 with the six switches, S2 with the slow
    one, and the lab's community as the one credential (encrypted with the home's key)."""
    ensure_schema(engine)
    home = tmp_path / "home"
    settings = Settings(home=home, database_url=db_url)
    with db.session_scope(engine) as session:
        ids = make_province(session, sites=2)
        devices = {}
        for site, lab_devices in (("S1", SWITCHES), ("S2", [SLOW])):
            for d in lab_devices:
                device = Device(device_class="access_switch", site_id=ids[site]["site"], zone_id=ids[site]["party_wan"], mgmt_ip=d.address, serial=d.serial, hostname=d.hostname)
                session.add(device)
                session.flush()
                devices[d.key] = device.id
        add_credential(session, Vault(settings.credential_key), name="lab", kind="snmp_v2c", secrets={"community": "Kk-workers-ro"}, port=PORT, actor="test")
    return {"home": home, "url": db_url, "devices": devices}


def worker(hub: dict, *args: str) -> subprocess.Popen:
    env = os.environ | {"KIEMKE_HOME": str(hub["home"]), "DATABASE_URL": hub["url"], "PYTHONUNBUFFERED": "1"}
    command = [*KIEMKE, "worker", "--concurrency", "2", "--stalled-after", str(STALLED_AFTER), *args]
    return subprocess.Popen(command, env=env, cwd=Path(__file__).parents[2], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(*processes: subprocess.Popen) -> str:
    output = ""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            output += process.communicate(timeout=20)[0] or ""
        except subprocess.TimeoutExpired:
            process.kill()
            output += process.communicate()[0] or ""
    return output


def run_of(engine, run_id: int) -> ScanRun:
    with db.session_scope(engine) as session:
        return session.get(ScanRun, run_id)


def outcomes_per_device(engine, run_id: int) -> dict[int, int]:
    with db.session_scope(engine) as session:
        rows = session.execute(select(ScanOutcome.device_id, func.count()).where(ScanOutcome.scan_run_id == run_id).group_by(ScanOutcome.device_id)).all()
    return dict(rows)


def repeated_observations(engine, run_id: int) -> list:
    """(device, key) pairs observed more than once in the run: a result that landed twice."""
    with db.session_scope(engine) as session:
        query = select(Observation.device_id, Observation.key, func.count()).where(Observation.scan_run_id == run_id).group_by(Observation.device_id, Observation.key)
        return [row for row in session.execute(query).all() if row[2] != 1]


def jobs(engine, where: str = "true", **params) -> list:
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT id, task_name, status, lock, queueing_lock, attempts, args FROM procrastinate_jobs WHERE {where} ORDER BY id"), params).all()


# ------------------------------------------------------------------------------ the tests


def test_a_worker_on_sqlite_refuses_with_the_reason(tmp_path: Path):
    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'kiemke.sqlite3'}"
    db.upgrade(url)
    env = os.environ | {"KIEMKE_HOME": str(home), "DATABASE_URL": url}
    done = subprocess.run([*KIEMKE, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "workers need PostgreSQL; on SQLite jobs run in the serve/scheduler process" in done.stderr


@needs_postgres
def test_kiemke_init_adds_the_job_queue_once(kiemke_env):
    from click.testing import CliRunner

    from web.main import main

    runner = CliRunner()
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    assert "job queue ready" in first.output
    again = runner.invoke(main, ["init"])
    assert again.exit_code == 0 and "job queue ready" not in again.output
    engine = db.engine_for(kiemke_env["DATABASE_URL"])
    assert jobs(engine) == []


@needs_postgres
def test_a_device_poll_is_never_queued_twice_and_jobs_follow_their_transaction(engine, hub):
    first = enqueue_site_poll(engine, "S1", due_only_minutes=60)
    assert first.scan_run_id is not None and first.jobs == len(SWITCHES) and first.already_queued == 0
    queued = jobs(engine)
    assert [j.task_name for j in queued] == [task_name("poll_device")] * len(SWITCHES)
    assert {j.lock for j in queued} == {poll_lock(i) for key, i in hub["devices"].items() if key != SLOW.key}
    assert {j.args["run_id"] for j in queued} == {first.scan_run_id}

    # The scheduler again before any worker ran: every device is waiting already, so no run.
    again = enqueue_site_poll(engine, "S1", due_only_minutes=60)
    assert (again.scan_run_id, again.jobs, again.already_queued) == (None, 0, len(SWITCHES))
    assert len(jobs(engine)) == len(SWITCHES)

    # The database itself refuses a second waiting job with the same queueing lock.
    device = hub["devices"]["work1"]
    with pytest.raises(IntegrityError), db.session_scope(engine) as session:
        defer_in_transaction(session, "poll_device", {"run_id": first.scan_run_id, "device_id": device}, queueing_lock=f"poll:{device}")
    # A job enqueued in a transaction that rolls back never existed.
    with pytest.raises(RuntimeError), db.session_scope(engine) as session:
        defer_in_transaction(session, "evaluate_run", {"run_id": first.scan_run_id})
        raise RuntimeError("the caller's change failed")
    assert len(jobs(engine)) == len(SWITCHES)


@needs_postgres
@pytest.mark.lab
@pytest.mark.usefixtures("lab")
def test_two_workers_poll_each_device_exactly_once(engine, hub):
    queued = enqueue_site_poll(engine, "S1", due_only_minutes=60)
    workers = [worker(hub), worker(hub)]
    try:
        run = wait_for(lambda: (r := run_of(engine, queued.scan_run_id)).status != "running" and r, 45, "the run to finish")
        # The run's last device enqueued the evaluation of what the run touched, in its transaction.
        wait_for(lambda: evaluation_runs(engine), 30, "the evaluation after the poll")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the workers said:\n{stop(*workers)}") from None
    finally:
        output = stop(*workers)
    assert run.status == "ok", output
    assert run.summary["devices"] == len(SWITCHES) and run.summary["ok"] == len(SWITCHES) and run.summary["failed"] == 0
    assert outcomes_per_device(engine, run.id) == {hub["devices"][d.key]: 1 for d in SWITCHES}
    assert repeated_observations(engine, run.id) == []
    with db.session_scope(engine) as session:
        polled = session.execute(select(Device.serial).where(Device.last_polled.is_not(None), Device.reachable.is_(True))).scalars().all()
        observed = session.execute(select(func.count(func.distinct(Observation.device_id))).where(Observation.scan_run_id == run.id)).scalar_one()
    assert sorted(polled) == sorted(d.serial for d in SWITCHES) and observed == len(SWITCHES)
    assert len(evaluation_runs(engine)) == 1
    assert jobs(engine) == []  # every job done (and deleted as done), none failed or left waiting
    # Nothing is due again within the interval.
    assert enqueue_site_poll(engine, "S1", due_only_minutes=60).scan_run_id is None


def evaluation_runs(engine) -> list:
    with db.session_scope(engine) as session:
        return session.execute(select(ScanRun.id).where(ScanRun.kind == "evaluate", ScanRun.params["trigger"].as_string() == "poll", ScanRun.finished_at.is_not(None))).all()


@needs_postgres
@pytest.mark.lab
@pytest.mark.usefixtures("lab")
def test_a_worker_killed_mid_poll_leaves_the_job_to_another_and_nothing_twice(engine, hub):
    queued = enqueue_site_poll(engine, "S2", due_only_minutes=60)
    slow = hub["devices"][SLOW.key]
    first = worker(hub)
    try:
        wait_for(lambda: jobs(engine, "status = 'doing' AND lock = :lock", lock=poll_lock(slow)), 30, "a worker to take the slow device's job")
        time.sleep(0.3)  # the device is being asked now (each of its answers takes SLOW_DELAY)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop(first)
    assert first.returncode == -signal.SIGKILL
    assert outcomes_per_device(engine, queued.scan_run_id) == {} and run_of(engine, queued.scan_run_id).status == "running"
    assert [j.status for j in jobs(engine)] == ["doing"]  # the dead worker's, until its heartbeat is stale

    second = worker(hub)
    try:
        run = wait_for(lambda: (r := run_of(engine, queued.scan_run_id)).status != "running" and r, 45, "another worker to finish the run")
    finally:
        output = stop(second)
    assert "retried: its worker stopped sending heartbeats" in output, output
    assert run.status == "ok" and run.summary["devices"] == 1 and run.summary["ok"] == 1, output
    assert outcomes_per_device(engine, run.id) == {slow: 1}
    with db.session_scope(engine) as session:
        took = session.execute(select(ScanOutcome.duration_ms).where(ScanOutcome.scan_run_id == run.id)).scalar_one()
    assert took > 1500, "the slow device's poll must outlast the moment of the kill"
    assert repeated_observations(engine, run.id) == []
    assert [j.task_name for j in jobs(engine)] == []


@needs_postgres
def test_a_run_whose_jobs_failed_for_good_is_closed_with_what_it_has(engine, hub):
    queued = enqueue_site_poll(engine, "S1", due_only_minutes=60)
    assert settle_job_runs(engine) == []  # its jobs are waiting: nothing to close
    with engine.begin() as connection:
        connection.execute(text("UPDATE procrastinate_jobs SET status = 'failed'"))
    assert settle_job_runs(engine) == [queued.scan_run_id]
    run = run_of(engine, queued.scan_run_id)
    assert run.status == "failed" and run.finished_at is not None
    assert run.error == f"{len(SWITCHES)} of {len(SWITCHES)} devices not polled: their jobs failed"
    # Its evaluation is enqueued with the closing (nothing was touched; the job finds that out).
    assert [j.task_name for j in jobs(engine, "status = 'todo'")] == [task_name("evaluate_run")]
    assert settle_job_runs(engine) == []


def test_the_scheduler_with_workers_refuses_sqlite(engine, kiemke_env, monkeypatch):
    from click.testing import CliRunner

    from collectors.scheduler import build_scheduler
    from collectors.work.queue import JobsUnavailable
    from web.main import main

    if ON_POSTGRES:
        pytest.skip("the refusal is SQLite's")
    with pytest.raises(JobsUnavailable, match="workers need PostgreSQL"):
        build_scheduler(engine, Vault(Settings().credential_key), workers=True)
    monkeypatch.setenv("KIEMKE_JOBS", "workers")
    done = CliRunner().invoke(main, ["scheduler", "--run-for", "1"])
    assert done.exit_code == 1 and "workers need PostgreSQL" in done.output


@needs_postgres
def test_the_scheduler_with_workers_enqueues_polls_instead_of_polling(engine, hub):
    from apscheduler.schedulers.background import BackgroundScheduler
    from sqlalchemy import update

    from collectors.scheduler import SETTLE_JOB, build_scheduler
    from inventory.models import Site

    with db.session_scope(engine) as session:
        session.execute(update(Site).where(Site.code == "S2").values(poll_interval_minutes=0))
    scheduler = build_scheduler(engine, Vault(Settings(home=hub["home"]).credential_key), scheduler=BackgroundScheduler(timezone="UTC"), workers=True)
    assert SETTLE_JOB in [job.id for job in scheduler.get_jobs()]
    scheduler.start()
    try:
        queued = wait_for(lambda: jobs(engine, "task_name = :name", name=task_name("poll_device")), 30, "the site's poll to be enqueued")
    finally:
        scheduler.shutdown(wait=True)
    assert len(queued) == len(SWITCHES) and {j.status for j in queued} == {"todo"}
    with db.session_scope(engine) as session:
        runs = session.execute(select(ScanRun).where(ScanRun.kind == "poll")).scalars().all()
    # One run, waiting for the workers: nothing was polled by the scheduler itself, and no owner
    # process is recorded (the scheduler may stop while the workers go on).
    assert len(runs) == 1 and runs[0].status == "running" and runs[0].summary["devices"] == 0 and "owner" not in runs[0].params
    assert outcomes_per_device(engine, runs[0].id) == {}


def test_the_app_knows_every_task_kiemke_enqueues():
    """The names deferred in SQL (collectors.work) are tasks of the one App a worker runs."""
    from collectors.work.queue import build_app, conninfo

    app = build_app("postgresql+psycopg://kiemke:secret@127.0.0.1:1/kiemke")  # built, never connected
    expected = {"poll_device", "evaluate_run", "evaluate_scope", "evaluate_fleet", "discover_site", "ingest_agent_files", "apply_collector_batch"}
    assert {task_name(name) for name in expected} <= set(app.tasks)
    assert conninfo("postgresql+psycopg://kiemke:secret@db.example:5433/kiemke?sslmode=require") == "postgresql://kiemke:secret@db.example:5433/kiemke?sslmode=require"


@needs_postgres
def test_the_daily_evaluation_is_enqueued_once(engine, hub):
    from collectors.scheduler import enqueue_daily_evaluation_job

    enqueue_daily_evaluation_job(engine)
    enqueue_daily_evaluation_job(engine)  # the scheduler's next day while the first still waits
    assert [(j.task_name, j.queueing_lock, j.lock) for j in jobs(engine)] == [(task_name("evaluate_fleet"), "evaluate:fleet", "evaluate:fleet")]


@needs_postgres
def test_a_device_job_that_runs_again_records_nothing_twice(engine, hub):
    """In process, no lab: the one credential is scoped to site S2, so each poll of S1's devices
    ends at once, unanswered. A job run twice (its worker died after the commit,
    before procrastinate marked it done) finds its outcome and stops; a device disposed of since it
    was queued still counts, so the run finishes; the last device's job closes the run and
    enqueues its evaluation."""
    from sqlalchemy import update

    from collectors.credentials import Scope
    from collectors.work.polls import poll_device
    from inventory.models import Site

    vault = Vault(Settings(home=hub["home"]).credential_key)
    with db.session_scope(engine) as session:
        session.execute(text("DELETE FROM credential"))
        s2 = session.execute(select(Site.id).where(Site.code == "S2")).scalar_one()
        add_credential(session, vault, name="elsewhere", kind="snmp_v2c", secrets={"community": "not-for-s1"}, scope=Scope(site_id=s2), actor="test")
    queued = enqueue_site_poll(engine, "S1", due_only_minutes=None)
    ids = [hub["devices"][d.key] for d in SWITCHES]
    first, *middle, last = ids
    assert poll_device(engine, vault, queued.scan_run_id, first).status == "recorded"
    assert poll_device(engine, vault, queued.scan_run_id, first).status == "already-recorded"
    for device in middle:
        poll_device(engine, vault, queued.scan_run_id, device)
    with db.session_scope(engine) as session:
        session.execute(update(Device).where(Device.id == last).values(status="disposed"))
    assert run_of(engine, queued.scan_run_id).status == "running" and jobs(engine, "task_name = :name", name=task_name("evaluate_run")) == []
    done = poll_device(engine, vault, queued.scan_run_id, last)
    assert (done.status, done.run_finished) == ("gone", True)
    run = run_of(engine, queued.scan_run_id)
    assert run.status == "failed" and run.summary["devices"] == len(SWITCHES) and run.summary["failed"] == len(SWITCHES) - 1 and run.summary["skipped"] == 1
    assert outcomes_per_device(engine, run.id) == dict.fromkeys(ids[:-1], 1)
    assert [j.args for j in jobs(engine, "task_name = :name", name=task_name("evaluate_run"))] == [{"run_id": run.id}]
    assert poll_device(engine, vault, queued.scan_run_id, first).status == "run-closed"


@needs_postgres
def test_devices_of_one_run_recorded_at_once_never_deadlock(engine, hub):
    """Eight device jobs of one run reconcile at the same moment (no lab: the one credential is
    scoped to S2, so each S1 poll ends at once). The run's row is counted under FOR NO KEY UPDATE:
    under FOR UPDATE two of them deadlock on the KEY SHARE locks their new outcomes hold."""
    from concurrent.futures import ThreadPoolExecutor

    from collectors.credentials import Scope
    from collectors.work.polls import poll_device
    from inventory.models import Site

    vault = Vault(Settings(home=hub["home"]).credential_key)
    with db.session_scope(engine) as session:
        session.execute(text("DELETE FROM credential"))
        s1, s2 = (session.execute(select(Site.id).where(Site.code == code)).scalar_one() for code in ("S1", "S2"))
        add_credential(session, vault, name="elsewhere", kind="snmp_v2c", secrets={"community": "not-for-s1"}, scope=Scope(site_id=s2), actor="test")
        zone = session.execute(select(Device.zone_id).where(Device.id == hub["devices"]["work1"])).scalar_one()
        session.add_all(Device(device_class="router", site_id=s1, zone_id=zone, mgmt_ip=f"127.253.72.{n}", serial=f"DL{n:04d}") for n in range(1, 35))
    queued = enqueue_site_poll(engine, "S1", due_only_minutes=None)
    ids = [j.args["device_id"] for j in jobs(engine)]
    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(lambda device: poll_device(engine, vault, queued.scan_run_id, device), ids))
    assert sorted(d.status for d in done) == ["recorded"] * len(ids) and sum(d.run_finished for d in done) == 1
    run = run_of(engine, queued.scan_run_id)
    assert run.status == "failed" and run.summary["devices"] == len(ids) == 40 and outcomes_per_device(engine, run.id) == dict.fromkeys(ids, 1)


def test_transient_database_errors_are_retried_a_bounded_number_of_times():
    from procrastinate.jobs import Job

    from collectors.work.tasks import RETRY_EVALUATION, RETRY_TRANSIENT

    lost = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    def decision(strategy, exc, attempts):
        return strategy.get_retry_decision(exception=exc, job=Job(id=1, queue="poll", lock=None, queueing_lock=None, task_name="t", attempts=attempts))

    assert decision(RETRY_TRANSIENT, lost, 0) is not None and decision(RETRY_TRANSIENT, lost, 1) is not None
    assert decision(RETRY_TRANSIENT, lost, 2) is None  # three tries in all
    assert decision(RETRY_TRANSIENT, ValueError("a bug"), 0) is None  # never retried: it would fail again
    assert decision(RETRY_TRANSIENT, IntegrityError("INSERT", {}, Exception("duplicate")), 0) is None
    assert decision(RETRY_EVALUATION, IntegrityError("INSERT", {}, Exception("duplicate")), 0) is not None  # a concurrent evaluation won


# ------------------------------------------------------------------------------ started from the web


@pytest.fixture
def technician(engine, hub, monkeypatch):
    """A technician's web client of the hub, this process with KIEMKE_JOBS=workers: it enqueues."""
    from inventory.users import add_user
    from tests.web.conftest import PASSWORD, login
    from web import create_app

    for key, value in {"KIEMKE_JOBS": "workers", "DATABASE_URL": hub["url"], "KIEMKE_HOME": str(hub["home"])}.items():
        monkeypatch.setenv(key, value)
    with db.session_scope(engine) as session:
        add_user(session, "kt_hub", "technician", PASSWORD, actor="test")
    app = create_app(Settings(home=hub["home"], database_url=hub["url"]), {"TESTING": True})
    client = app.test_client()
    assert login(client, "kt_hub").status_code == 302
    return app, client


def follow(client, run_id: int, timeout: float = 60) -> list[dict]:
    """Every answer of the run's progress endpoint, asked ten times a second, until it is finished."""
    answers: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers.append(client.get(f"/scans/{run_id}/progress").get_json())
        if answers[-1]["state"] != "running":
            return answers
        time.sleep(0.1)
    raise AssertionError(f"scan run #{run_id} not finished; its last progress: {answers[-1]}")


def scan_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith("kiemke-scan-")]


@needs_postgres
@pytest.mark.lab
@pytest.mark.usefixtures("lab")
def test_a_web_poll_with_workers_is_device_jobs_that_a_worker_carries_out(engine, hub, technician):
    from tests.web.test_scans import start

    app, client = technician
    response = start(client, kind="poll", zone="party_wan", snmp_timeout="4")  # every site: the slow switch keeps the run going for seconds
    assert response.status_code == 302, response.get_data(as_text=True)
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert app.extensions["kiemke.scan_jobs"].running() == [] and scan_threads() == []  # nothing runs in the web process
    devices = sorted(hub["devices"].values())
    queued = jobs(engine)
    assert sorted(j.args["device_id"] for j in queued) == devices and {j.args["run_id"] for j in queued} == {run_id}
    assert {(j.task_name, j.status) for j in queued} == {(task_name("poll_device"), "todo")}
    assert {(j.lock, j.queueing_lock) for j in queued} == {(poll_lock(d), f"poll:{d}") for d in devices}
    with engine.connect() as connection:  # a person waits for it: before the scheduler's cycle
        assert set(connection.execute(text("SELECT priority FROM procrastinate_jobs")).scalars()) == {1}
    run = run_of(engine, run_id)
    assert (run.status, run.site_id, run.triggered_by, run.params["targets"], run.params["snmp_timeout"]) == ("running", None, "web:kt_hub", len(devices), 4.0)
    waiting = client.get(f"/scans/{run_id}/progress").get_json()
    assert (waiting["state"], waiting["phase"], waiting["done"], waiting["total"]) == ("running", "queued", 0, len(devices)) and "worker" in waiting["phase_text"]

    again = start(client, kind="poll", zone="party_wan")  # the same devices again while they wait: nothing more
    assert again.status_code == 302 and "/scans/?" in again.headers["Location"]
    assert f"Cả {len(devices)} thiết bị đều đang chờ" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(jobs(engine)) == len(devices) and len(runs_of_kind(engine, "poll")) == 1

    workers = [worker(hub, "--queue", "poll")]
    try:
        answers = follow(client, run_id)
    finally:
        output = stop(*workers)
    phases = [a["phase"] for a in answers if a["state"] == "running"]
    assert phases[0] == "queued" and "collect" in phases and set(phases) == {"queued", "collect"}, output  # queued -> running -> finished
    assert phases.index("collect") > max(i for i, p in enumerate(phases) if p == "queued")  # never back to "queued"
    for answer in answers:
        if answer["phase"] == "collect":
            assert answer["total"] == len(devices) and answer["counts"]["answered"] + answer["counts"]["silent"] == answer["done"] <= len(devices)
            assert answer["phase_text"].startswith("Thu thập thiết bị: ")
    assert (answers[-1]["state"], answers[-1]["status"], answers[-1]["done"]) == ("finished", "ok", len(devices)), output
    run = run_of(engine, run_id)
    assert run.summary["devices"] == run.summary["ok"] == len(devices) and outcomes_per_device(engine, run_id) == dict.fromkeys(devices, 1)
    assert [j.task_name for j in jobs(engine)] == [task_name("evaluate_run")]  # left for an evaluate worker


def runs_of_kind(engine, kind: str) -> list[ScanRun]:
    with db.session_scope(engine) as session:
        return session.execute(select(ScanRun).where(ScanRun.kind == kind)).scalars().all()


@needs_postgres
@pytest.mark.lab
@pytest.mark.usefixtures("lab")
def test_a_worker_run_discovery_reports_its_sweep_and_collection_through_the_row(engine, hub, technician):
    from inventory.models import Subnet
    from tests.web.test_scans import start

    _app, client = technician
    with db.session_scope(engine) as session:
        zone = session.execute(select(Device.zone_id).where(Device.id == hub["devices"]["work1"])).scalar_one()
        session.add(Subnet(zone_id=zone, cidr=f"{NETWORK}.0/28"))  # S1's six switches answer there
    response = start(client, kind="discover", site="S1", zone="party_wan", subnet=f"{NETWORK}.0/28", snmp_port=str(PORT), nmap_timeout="30")
    assert response.status_code == 302, response.get_data(as_text=True)
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert scan_threads() == [] and [j.task_name for j in jobs(engine)] == [task_name("discover_site")]

    discoverer = worker(hub, "--queue", "discover")
    try:
        answers = follow(client, run_id, timeout=120)
    finally:
        output = stop(discoverer)
    assert answers[0]["phase"] == "queued" and answers[-1]["state"] == "finished", output
    assert answers[-1]["status"] in ("ok", "partial"), f"{answers[-1]}\n{output}"
    for answer in answers:  # whatever the page was told while it ran came from the worker's row, in its shape
        if answer["phase"] in ("sweep", "probe"):
            assert (answer["counts"]["addresses"], answer["counts"]["subnets"]) == (16, 1) and answer["phase_text"].startswith(("Dò quét địa chỉ", "Dò SNMP"))
        elif answer["phase"] == "collect":
            assert answer["counts"]["answered"] + answer["counts"]["silent"] == answer["done"] <= answer["total"]
    # What the worker recorded last: the sweep's counts gave way to the collection's, every device counted.
    recorded = run_of(engine, run_id).params["progress"]
    assert recorded["phase"] == "collect" and recorded["done"] == recorded["total"] == recorded["counts"]["hosts_found"], recorded
    assert recorded["counts"]["answered"] >= len(SWITCHES) and recorded["counts"]["answered"] + recorded["counts"]["silent"] == recorded["done"]
    assert run_of(engine, run_id).summary["devices"] == recorded["done"]


@needs_postgres
def test_a_poll_queued_meanwhile_by_someone_else_is_left_out_not_failed(engine, hub, monkeypatch):
    """The queue is read, then the jobs inserted: a device queued in between (the scheduler's
    cycle while a technician asks) fails the insert on its queueing lock; the poll is enqueued
    again, reading the queue again, and leaves that device out."""
    from collectors.work import polls
    from collectors.work.polls import PollRequest, enqueue_poll

    first = enqueue_site_poll(engine, "S1", due_only_minutes=None)
    reads = []
    real = polls.queued_locks

    def stale_first(session, locks):
        reads.append(len(locks))
        return set() if len(reads) == 1 else real(session, locks)  # the first read misses the queued jobs

    monkeypatch.setattr(polls, "queued_locks", stale_first)
    again = enqueue_poll(engine, PollRequest(site="S1"), triggered_by="web:kt", priority=polls.ASKED_PRIORITY)
    assert len(reads) == 2 and (again.scan_run_id, again.jobs, again.already_queued) == (None, 0, len(SWITCHES))
    assert {j.args["run_id"] for j in jobs(engine)} == {first.scan_run_id} and len(jobs(engine)) == len(SWITCHES)
    assert [r.id for r in runs_of_kind(engine, "poll")] == [first.scan_run_id]  # the failed attempt left no run


@needs_postgres
def test_a_poll_without_any_credential_is_refused_before_anything_is_queued(engine, hub):
    from collectors.service import ServiceError
    from collectors.work.polls import PollRequest, enqueue_poll

    with db.session_scope(engine) as session:
        session.execute(text("DELETE FROM credential"))
    with pytest.raises(ServiceError, match="no device credentials are stored"):
        enqueue_poll(engine, PollRequest(site="S1"), triggered_by="web:kt")
    with pytest.raises(ServiceError, match="unknown site 'S9'"):
        enqueue_poll(engine, PollRequest(site="S9"), triggered_by="web:kt")
    assert jobs(engine) == [] and runs_of_kind(engine, "poll") == []
