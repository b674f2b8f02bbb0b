"""A PostgreSQL restart under a running `kiemke serve` and `kiemke scheduler`.

The test runs its own throw-away PostgreSQL (own data directory, own loopback port; never the
shared test server), so it is not marked `db` and runs once, in the SQLite pass. Requests during
the outage answer 503 quickly; both processes stay up; once PostgreSQL is back the same processes
answer 200 and the scheduler's job records its run again.
"""

from __future__ import annotations

import glob
import http.cookiejar
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlmodel import Session

from collectors.scheduler import poll_site_job
from inventory import db
from inventory.crypto import Vault
from inventory.models import ScanRun
from inventory.settings import Settings
from inventory.users import add_user
from tests.collectors.test_fault_kill import wait_for
from tests.inventory.factories import make_province
from web import create_app
from web.database import close_session, get_session

KIEMKE = str(Path(sys.executable).with_name("kiemke"))
PASSWORD = "mat-khau-thu-123"
OUTAGE_BOUND = 15.0  # seconds a request may take while the database is down


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_scheduled_job_survives_an_unreachable_database(tmp_path, caplog):
    """No server on the port: the job logs one line and returns; no exception escapes to APScheduler."""
    engine = db.make_engine(f"postgresql+psycopg://kiemke@127.0.0.1:{free_port()}/kiemke")
    vault = Vault(Settings(home=tmp_path / "home").credential_key)
    with caplog.at_level(logging.ERROR, logger="kiemke.scheduler"):
        assert poll_site_job(engine, vault, "S1", 60) is None
    assert "site S1: database unavailable, poll skipped until the next run" in caplog.text
    assert "Traceback" not in caplog.text
    engine.dispose()


def _bindir() -> Path | None:
    found = [Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin") if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists()]
    return max(found, key=lambda d: [int(n) for n in re.findall(r"\d+", d.parent.name)] or [0]) if found else None


BINDIR = _bindir()


class Cluster:
    """A private PostgreSQL on 127.0.0.1 (as root: run by the `postgres` user, which it requires)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kiemke-pg-fault."))
        self.port = free_port()
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.run_as:
            shutil.chown(self.dir, "postgres")
        self.url = f"postgresql+psycopg://kiemke@127.0.0.1:{self.port}/postgres"

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run([*self.run_as, str(BINDIR / tool), *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._pg("initdb", "-D", f"{self.dir}/data", "-U", "kiemke", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._pg("pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o", options, "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        subprocess.run([*self.run_as, str(BINDIR / "pg_ctl"), "-D", f"{self.dir}/data", "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    if BINDIR is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl under /usr/lib/postgresql/*/bin)")
    cluster = Cluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


class Browser:
    """A signed-in web client over real HTTP (cookies kept; errors returned as status codes)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str, data: bytes | None = None) -> tuple[int, dict, str]:
        try:
            with self.opener.open(self.base + path, data=data, timeout=OUTAGE_BOUND + 5) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()

    def login(self, username: str) -> None:
        _status, _headers, page = self.get("/login")
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": token}).encode()
        status, _headers, page = self.get("/login?next=/devices/", data=body)
        assert status == 200 and "/logout" in page, status


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except (OSError, urllib.error.URLError):
        return False


def scheduler_runs(engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(ScanRun).where(ScanRun.triggered_by == "scheduler", ScanRun.finished_at.is_not(None))).scalar_one()


def test_postgres_restart_under_serve_and_scheduler(cluster, tmp_path):
    env = {**os.environ, "KIEMKE_HOME": str(tmp_path / "home"), "DATABASE_URL": cluster.url}
    subprocess.run([KIEMKE, "init"], env=env, check=True, capture_output=True, timeout=120)
    engine = db.make_engine(cluster.url)
    with Session(engine) as session:
        make_province(session, sites=1)  # site S1, polled every 60 minutes: the scheduler's first run is now
        add_user(session, "tech", "technician", PASSWORD, actor="test")
        session.commit()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("serve", "scheduler")}
    serve = subprocess.Popen([KIEMKE, "serve", "--port", str(port), "--threads", "4"], env=env, stdout=logs["serve"], stderr=subprocess.STDOUT)
    scheduler = subprocess.Popen([KIEMKE, "scheduler"], env=env, stdout=logs["scheduler"], stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: answers(base + "/login"), 30, "kiemke serve")
        wait_for(lambda: scheduler_runs(engine) >= 1, 30, "the scheduler's first run")  # no credentials: a failed run, recorded
        browser = Browser(base)
        browser.login("tech")
        assert browser.get("/devices/")[0] == 200

        cluster.stop()
        for path in ("/devices/", "/sites/", "/api/v1/sites"):
            started = time.monotonic()
            status, headers, page = browser.get(path)
            assert time.monotonic() - started < OUTAGE_BOUND, path
            assert status in (503, 401) if path.startswith("/api/") else status == 503, (path, status)
            if status == 503:
                assert headers["Retry-After"].isdigit() and "Traceback" not in page
        # The scheduler's job during the outage: one log line, no exception (same code as the process runs).
        assert poll_site_job(engine, Vault(Settings(home=tmp_path / "home").credential_key), "S1", 60) is None
        assert serve.poll() is None and scheduler.poll() is None  # both still running

        cluster.start()
        status, _headers, page = browser.get("/devices/")
        assert status == 200, status  # the same process, still signed in: no restart of kiemke
        assert browser.get("/sites/")[0] == 200
        before = scheduler_runs(engine)
        assert poll_site_job(engine, Vault(Settings(home=tmp_path / "home").credential_key), "S1", 60) is None
        assert scheduler_runs(engine) == before + 1  # recorded again: a clear failed run (no credentials stored)
        assert serve.poll() is None and scheduler.poll() is None
    finally:
        for process in (serve, scheduler):
            process.send_signal(signal.SIGINT)
        for process in (serve, scheduler):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for name, handle in logs.items():
            handle.close()
            print(f"--- kiemke {name} ---\n" + (tmp_path / f"{name}.log").read_text()[-4000:])  # shown when the test fails
        engine.dispose()
    scheduler_log = (tmp_path / "scheduler.log").read_text()
    assert "Traceback" not in scheduler_log and "Traceback" not in (tmp_path / "serve.log").read_text()


def test_a_request_whose_connection_died_is_closed_cleanly(cluster, tmp_path):
    """PostgreSQL goes away while a request holds a transaction: the teardown's rollback cannot
    reach it; the broken connection is discarded (no error out of the teardown, none left checked out)."""
    app = create_app(Settings(home=tmp_path / "home", database_url=cluster.url), {"TESTING": True})
    engine = app.extensions["kiemke.engine"]
    with app.app_context():
        get_session().execute(text("SELECT 1"))  # a transaction open on a pooled connection
        cluster.stop()
        try:
            close_session()
        finally:
            cluster.start()
    assert engine.pool.checkedout() == 0
    with engine.connect() as connection:  # and the pool serves a working connection again
        assert connection.execute(text("SELECT 1")).scalar() == 1
