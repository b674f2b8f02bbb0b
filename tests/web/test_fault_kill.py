"""kill -9 of `kiemke serve` while it imports a large device file (and runs a scan started from
the web): the import is one transaction, so after the kill either every row is in the database
or none is; the database is intact; the restarted server marks the scan interrupted and serves
the next page.

SQLite only: the server process and the test share the test's database file (the PostgreSQL
suite runs only `-m db`).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from collectors.credentials import add_credential
from inventory import db
from inventory.crypto import Vault
from inventory.models import Device
from inventory.settings import Settings
from inventory.users import add_user
from tests.inventory.factories import make_province
from tests.lab.support import run_port
from tests.web.conftest import PASSWORD

KIEMKE = [sys.executable, "-c", "from web.main import main; main()"]
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
ROWS = 6000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Server:
    """`kiemke serve` in a process of its own, with its own temporary directory."""

    def __init__(self, home: Path, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        env = os.environ | {"KIEMKE_HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'kiemke.sqlite3'}", "TMPDIR": str(tmp)}
        self.process = subprocess.Popen([*KIEMKE, "serve", "--port", str(self.port), "--threads", "2"], env=env, cwd=Path(__file__).parents[2],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("/login")
                return
            except (urllib.error.URLError, ConnectionError):
                assert self.process.poll() is None, self.process.stdout.read().decode()
                assert time.monotonic() < deadline, "kiemke serve did not start"
                time.sleep(0.1)

    def get(self, path: str):
        with self.opener.open(self.url + path, timeout=30) as response:
            return response.status, response.read().decode()

    def post(self, path: str, data: bytes, content_type: str, timeout: float = 60):
        request = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": content_type}, method="POST")
        with self.opener.open(request, timeout=timeout) as response:
            return response.status, response.read().decode()

    def token(self, path: str) -> str:
        match = TOKEN.search(self.get(path)[1])
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def login(self, username: str) -> None:
        """Sign in; the redirect is not followed (the next page is the test's to choose)."""
        form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": self.token("/login")}).encode()
        request = urllib.request.Request(self.url + "/login", data=form, method="POST")
        signing_in = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            signing_in.open(request, timeout=30)
        assert redirect.value.code == 302 and "/login" not in redirect.value.headers["Location"], "sign-in failed"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def multipart(fields: dict[str, str], name: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode() for key, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def devices_csv(rows: int) -> bytes:
    lines = ["site_code,device_class,hostname,serial,vendor,os_name,purchase_date"]
    lines += [f"S{1 + n % 2},desktop,PC-{n:05d},SN-KILL-{n:05d},Dell,Windows 11 Pro,2023-05-12" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def device_count(home: Path) -> int:
    with sqlite3.connect(home / "kiemke.sqlite3") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        return connection.execute("SELECT count(*) FROM device").fetchone()[0]


@pytest.fixture
def silent_device():
    """A device that takes SNMP requests and never answers: a poll of it is in flight for seconds."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", run_port(43)))
        yield sock.getsockname()[1]


@pytest.fixture
def home(tmp_path: Path, silent_device: int) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    url = f"sqlite:///{home / 'kiemke.sqlite3'}"
    db.upgrade(url)
    with db.session_scope(db.engine_for(url)) as session:
        ids = make_province(session, sites=2)
        session.add(Device(device_class="router", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], mgmt_ip="127.0.0.1", serial="R-SILENT"))
        vault = Vault(Settings(home=home, database_url=url).credential_key)
        for n in range(3):  # each tried in turn, each waiting out its timeout: the poll lasts 9 s or more
            add_credential(session, vault, name=f"v2-{n}", kind="snmp_v2c", secrets={"community": f"c0mmunity-{n}"}, port=silent_device, actor="test")
        add_user(session, "kt_import", "technician", PASSWORD, actor="test")
    return home


def test_serve_killed_during_an_import_keeps_all_rows_or_none_and_starts_again(home, tmp_path):
    server_tmp = tmp_path / "server-tmp"
    server_tmp.mkdir()
    server = Server(home, server_tmp)
    try:
        server.login("kt_import")
        # A scan started from the web is in flight too: it dies with the server.
        scan = urllib.parse.urlencode({"csrf_token": server.token("/scans/"), "kind": "poll", "site": "S1"}).encode()
        status, _ = server.post("/scans/start", scan, "application/x-www-form-urlencoded")
        assert status == 200
        scan_run = wait_for_running_scan(home)
        csrf = server.token("/transfers/")
        body, content_type = multipart({"csrf_token": csrf, "kind": "devices"}, "file", "thiet-bi.csv", devices_csv(ROWS))
        # The upload's preview writes nothing; its confirmation imports the file held on the server.
        status, page = server.post("/transfers/import", body, content_type)
        held = re.search(r'name="token" type="hidden" value="([^"]+)"', page)
        assert status == 200 and held, page[-2000:]
        confirm = urllib.parse.urlencode({"csrf_token": csrf, "token": held.group(1), "apply": "y"}).encode()
        answer: dict = {}

        def upload() -> None:
            try:
                answer["status"] = server.post("/transfers/import/confirm", confirm, "application/x-www-form-urlencoded")[0]
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                answer["error"] = exc

        request = threading.Thread(target=upload)
        request.start()
        time.sleep(0.3)  # the import of 6,000 rows is under way (parse, plan, write take seconds)
        server.kill()
        request.join(timeout=30)
        assert "error" in answer, f"the import had finished before the kill: {answer}"
    finally:
        server.stop()

    assert device_count(home) - 1 in (0, ROWS), "half an import is in the database"
    assert scan_status(home, scan_run) == "running"

    again = Server(home, server_tmp)
    try:
        assert scan_status(home, scan_run) == "interrupted"  # marked as the server started
        again.login("kt_import")
        status, page = again.get("/scans/")
        assert status == 200 and "Bị gián đoạn" in page
        status, page = again.get("/devices/")
        assert status == 200
    finally:
        again.stop()


def wait_for_running_scan(home: Path) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sqlite3.connect(home / "kiemke.sqlite3") as connection:
            row = connection.execute("SELECT id FROM scan_run WHERE status = 'running'").fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    raise AssertionError("the web scan did not start")


def scan_status(home: Path, run_id: int) -> str:
    with sqlite3.connect(home / "kiemke.sqlite3") as connection:
        return connection.execute("SELECT status FROM scan_run WHERE id = ?", (run_id,)).fetchone()[0]
