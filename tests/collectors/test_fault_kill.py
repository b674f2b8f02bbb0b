"""kill -9 in the middle of work: the scheduler mid-poll and `kiemke check` mid-evaluation.

Each test runs the real `kiemke` command as a process of its own and kills it with SIGKILL, then
reads the database as the next process would. SQLite only: the processes share the test's
database file (the PostgreSQL suite runs only `-m db`, and a transaction that never commits is
the server's business there, not kiemke's).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from collectors.credentials import add_credential
from compliance.service import run_check
from inventory import db
from inventory.crypto import Vault
from inventory.models import Device, Finding, ScanRun, Site, utcnow
from inventory.settings import Settings
from tests.inventory.factories import make_province
from tests.lab.support import run_port

KIEMKE = [sys.executable, "-c", "from web.main import main; main()"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    db.upgrade(sqlite_url(home))
    return home


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'kiemke.sqlite3'}"


def kiemke(home: Path, *args: str) -> subprocess.Popen:
    env = os.environ | {"KIEMKE_HOME": str(home), "DATABASE_URL": sqlite_url(home), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([*KIEMKE, *args], env=env, cwd=Path(__file__).parents[2], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def kill_hard(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL, f"the process had ended on its own: {process.stdout.read()}"


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def assert_database_intact(home: Path) -> None:
    with sqlite3.connect(home / "kiemke.sqlite3") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def assert_no_half_written_run(home: Path) -> None:
    """A poll's results go in with its finish, in one transaction: a run that never finished has
    no outcome, observation or config snapshot, and a finished run has all of its outcomes.
    Evaluation runs (the scheduler's policy-change job evaluates at start) collect nothing and
    have no outcomes by design: they are not collection runs."""
    with sqlite3.connect(home / "kiemke.sqlite3") as connection:
        for run_id, status, summary in connection.execute("SELECT id, status, summary FROM scan_run WHERE kind != 'evaluate'"):
            outcomes = connection.execute("SELECT count(*) FROM scan_outcome WHERE scan_run_id = ?", (run_id,)).fetchone()[0]
            written = sum(connection.execute(f"SELECT count(*) FROM {table} WHERE scan_run_id = ?", (run_id,)).fetchone()[0] for table in ("observation", "config_snapshot"))
            if status in ("running", "interrupted", "error"):
                assert (outcomes, written) == (0, 0), f"run #{run_id} ({status}) is half-written"
            else:
                assert outcomes == json.loads(summary)["devices"], f"run #{run_id} lacks outcomes"


@pytest.fixture
def silent_device():
    """A device that takes the request and never answers, like the lab's silent ones: a poll
    of it waits for the SNMP timeout, so the poll is in flight long enough to be killed."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", run_port(41)))
        yield sock.getsockname()[1]


def test_scheduler_killed_mid_poll_leaves_no_half_written_run_and_is_marked_interrupted_at_restart(home, silent_device):
    engine = db.engine_for(sqlite_url(home))
    with db.session_scope(engine) as session:
        ids = make_province(session, sites=1)
        session.execute(update(Site).values(poll_interval_minutes=60))
        session.add(Device(device_class="router", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], mgmt_ip="127.0.0.1", serial="R-SILENT"))
        session.add(Device(device_class="access_switch", site_id=ids["S1"]["site"], zone_id=ids["S1"]["party_wan"], mgmt_ip="127.0.0.1", serial="SW-SILENT"))
        vault = Vault(Settings(home=home, database_url=sqlite_url(home)).credential_key)
        for n in range(3):  # each tried in turn, each waiting out its timeout: the poll lasts 9 s or more
            add_credential(session, vault, name=f"v2-{n}", kind="snmp_v2c", secrets={"community": f"c0mmunity-{n}"}, port=silent_device, actor="test")

    scheduler = kiemke(home, "scheduler")
    try:
        run_id = wait_for(lambda: running_poll(engine), 30, "the scheduled poll to start")
        time.sleep(0.5)  # the devices are being asked now
        kill_hard(scheduler)
    finally:
        scheduler.kill()
    with db.session_scope(engine) as session:
        run = session.get(ScanRun, run_id)
        assert run.status == "running" and run.params["owner"]["pid"] == scheduler.pid
        assert session.execute(select(Device.last_polled).where(Device.last_polled.is_not(None))).first() is None
    assert_database_intact(home)
    assert_no_half_written_run(home)

    with db.session_scope(engine) as session:
        session.execute(update(Site).values(poll_interval_minutes=0))  # the restart only has to start
    restarted = kiemke(home, "scheduler", "--run-for", "1")
    output, _ = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, output
    interrupted = re.search(r"scan runs? ((?:#\d+(?:, )?)+) marked interrupted", output)
    assert interrupted and f"#{run_id}" in interrupted.group(1).split(", "), output
    with db.session_scope(engine) as session:
        run = session.get(ScanRun, run_id)
        assert run.status == "interrupted" and run.finished_at is not None
        assert run.error == f"interrupted: the process running it stopped (pid {scheduler.pid})"
    assert_no_half_written_run(home)


def running_poll(engine) -> int | None:
    with db.session_scope(engine) as session:
        return session.execute(select(ScanRun.id).where(ScanRun.kind == "poll", ScanRun.status == "running")).scalar_one_or_none()


def test_a_run_of_a_live_process_is_never_marked_interrupted(home):
    """Only runs whose process is gone: this test's own process, another host's, an unknown owner."""
    import socket as socket_

    from inventory.runs import current_owner, mark_interrupted

    engine = db.engine_for(sqlite_url(home))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owners = {
        "mine": current_owner(),
        "other-host": {"host": socket_.gethostname() + "-elsewhere", "pid": dead.pid, "started": 1},
        "unknown": None,
        "dead": {"host": socket_.gethostname(), "pid": dead.pid, "started": 1},
        # The same pid, started at another time: the kernel gave the pid to another process.
        "reused": current_owner() | {"started": (current_owner()["started"] or 0) + 1},
    }
    with db.session_scope(engine) as session:
        for name, owner in owners.items():
            session.add(ScanRun(kind="poll", triggered_by=name, params={"owner": owner} if owner else {}))
    with db.session_scope(engine) as session:
        mark_interrupted(session)
    with db.session_scope(engine) as session:
        status = dict(session.execute(select(ScanRun.triggered_by, ScanRun.status)).all())
    assert status == {"mine": "running", "other-host": "running", "unknown": "running", "dead": "interrupted", "reused": "interrupted"}


def test_check_killed_mid_evaluation_leaves_the_findings_as_they_were(home):
    engine = db.engine_for(sqlite_url(home))
    with db.session_scope(engine) as session:
        ids = make_province(session, sites=2)
        now = utcnow()
        desktops = [
            {"device_class": "desktop", "site_id": ids[f"S{1 + n % 2}"]["site"], "serial": f"PC-{n:05d}", "os_name": "Windows 7", "os_version": "SP1",
             "purchase_date": date(2012, 1, 1), "vendor": "Dell", "status": "in_use", "source": "recorded", "notes": "", "created_at": now, "updated_at": now}
            for n in range(1200)
        ]  # fmt: skip
        session.execute(insert(Device), desktops)
    started = time.monotonic()
    run_check(engine, actor="test")
    seconds = time.monotonic() - started
    before = open_findings(engine)
    assert before
    with db.session_scope(engine) as session:  # the next check would resolve the findings of half the fleet
        session.execute(update(Device).where(Device.site_id == ids["S2"]["site"]).values(status="disposed"))

    check = kiemke(home, "check")
    try:
        wait_for(lambda: has_database_open(check.pid, home), 30, "the check to open the database")
        time.sleep(seconds / 3)  # well inside the evaluation, which takes longer in a fresh process
        kill_hard(check)
    finally:
        check.kill()
    assert_database_intact(home)
    assert open_findings(engine) == before
    with db.session_scope(engine) as session:
        assert session.execute(select(Finding.id).where(Finding.status == "resolved")).first() is None

    run_check(engine, actor="test")  # the next check (in this process: a second CLI start costs seconds)
    after = open_findings(engine)
    assert after and after < before


def open_findings(engine) -> set[tuple]:
    with db.session_scope(engine) as session:
        return set(session.execute(select(Finding.rule_id, Finding.device_id, Finding.first_seen).where(Finding.status == "open")).all())


def has_database_open(pid: int, home: Path) -> bool:
    database = str(home / "kiemke.sqlite3")
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == database for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False
