"""Browser tests: the real WSGI app under waitress on 127.0.0.1, driven by Playwright through
Debian's chromium (/usr/bin/chromium; Playwright never downloads a browser here).

One server per test session, on a temporary KIEMKE_HOME and SQLite database holding the demo
province, its compliance findings, one user per role, hostile data (a `<script>` in hostnames,
notes and a finding) and a device found by a scan that nobody recorded. Each test gets a fresh
browser context (no shared cookies) whose page records every request and every dialog: a test
ends with `guard.assert_clean()` (nothing loaded from outside, no script of the data ran).
Screenshots go to `$KIEMKE_TEST_ARTIFACTS/screens/` (default `artifacts/screens/` in the repo).
"""

from __future__ import annotations

import os
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "mat-khau-trinh-duyet-123"
HOSTILE = '<script>alert("xss")</script>'
HOSTILE_RULE = "net.telnet_off"
DISCOVERED_HOSTNAME = "may-la-chua-ghi-nhan"
DISCOVERY_SUBNET_CIDR = "127.0.0.0/29"
DISCOVERY_ADDRESS = "127.0.0.1"  # the only address the technician's discovery touches

try:  # Playwright is in the test extra; without it (or without chromium) these tests skip.
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "playwright is not installed (pip install playwright; never `playwright install`)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def screens_dir() -> Path:
    root = Path(os.environ.get("KIEMKE_TEST_ARTIFACTS") or REPO / "artifacts")
    path = root / "screens"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- data --------------------------------------------------------------------------------------


@dataclass
class Seeded:
    users: dict[str, str]  # role -> username
    password: str
    hostile_device_id: int
    hostile_finding_id: int
    discovered_device_id: int
    discovered_site: str


def seed_browser_data(engine) -> Seeded:
    """The demo province + findings, users per role, hostile data, one discovered device."""
    from sqlmodel import Session, select

    from compliance.service import run_check
    from inventory.demo import load_demo
    from inventory.models import Device, Finding, Observation, Site, Subnet, Zone
    from tests.inventory.factories import one_user_per_role

    with Session(engine, expire_on_commit=False) as session:
        load_demo(session, actor="test")
        session.commit()
    run_check(engine, actor="test")

    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session:
        sites = session.exec(select(Site).order_by(Site.id)).all()
        office, commune = sites[0], next(s for s in sites if s.kind == "commune")
        zones = {z.kind: z for z in session.exec(select(Zone).where(Zone.site_id == office.id))}
        commune_zones = {z.kind: z for z in session.exec(select(Zone).where(Zone.site_id == commune.id))}
        hostile = Device(device_class="laptop", site_id=office.id, zone_id=zones["internet"].id, hostname=HOSTILE,
                         mgmt_ip="127.250.2.9", vendor="Dell", serial="SN-HOSTILE", assigned_user="<b>bold</b>",
                         notes=HOSTILE, status="in_use")  # fmt: skip
        # The commune's Internet zone also holds 127.0.0.0/29, and the device nobody recorded
        # answers at 127.0.0.1: a discovery of 127.0.0.1/32 finds it with no traffic elsewhere.
        session.add(Subnet(zone_id=commune_zones["internet"].id, cidr=DISCOVERY_SUBNET_CIDR))
        discovered = Device(device_class="other", site_id=commune.id, zone_id=commune_zones["internet"].id,
                            hostname=DISCOVERED_HOSTNAME, mgmt_ip=DISCOVERY_ADDRESS, vendor="TP-Link", model=HOSTILE,
                            source="discovered", status="in_use", reachable=True, first_seen=now, last_seen=now,
                            notes=HOSTILE)  # fmt: skip
        session.add_all([hostile, discovered])
        session.flush()
        session.add(Observation(device_id=discovered.id, source="nmap", key="sysDescr", value=HOSTILE + "<img src=x onerror=alert(2)>"))
        # After run_check: a finding no rule produced would be resolved by the next check only.
        finding = Finding(rule_id=HOSTILE_RULE, subject_key=f"device:{hostile.id}:hostile", device_id=hostile.id, site_id=office.id,
                          severity="critical", expected="telnet off", actual=HOSTILE, evidence=HOSTILE)  # fmt: skip
        session.add(finding)
        session.flush()
        users = one_user_per_role(session, "b", PASSWORD)
        session.commit()
        return Seeded(users, PASSWORD, hostile.id, finding.id, discovered.id, commune.code)


# --- server ------------------------------------------------------------------------------------


@dataclass
class LiveServer:
    base_url: str
    engine: object
    seeded: Seeded
    home: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    if _skip_reason():
        pytest.skip(_skip_reason())
    import waitress

    from inventory import db
    from inventory.settings import Settings
    from web import create_app

    home = tmp_path_factory.mktemp("kiemke-browser") / "home"
    home.mkdir()
    url = f"sqlite:///{home / 'kiemke.sqlite3'}"
    db.upgrade(url)
    engine = db.engine_for(url)
    seeded = seed_browser_data(engine)
    from collectors.runner import RunOptions

    settings = Settings(home=home, database_url=url)
    app = create_app(settings)
    # Scans read the credential key from these settings (the temporary home, never the user's),
    # with short timeouts and no SSH.
    app.extensions["kiemke.settings"] = settings
    app.config["KIEMKE_SCAN_OPTIONS"] = lambda: RunOptions(snmp_timeout=0.5, use_ssh=False)
    server = waitress.create_server(app, host="127.0.0.1", port=_free_port(), threads=4, ident="kiemke-test")
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.effective_port}", engine, seeded, home)
    finally:
        server.close()
        thread.join(timeout=5)
        engine.dispose()


# --- browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if _skip_reason():
        pytest.skip(_skip_reason())
    with sync_playwright() as pw:
        # launch() gives every run a fresh, temporary user-data-dir.
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Guard:
    """What a page did that it must not: load from elsewhere, or run a script from the data."""

    base_url: str
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def external(self) -> list[str]:
        prefix = self.base_url + "/"
        return [u for u in self.requests if not (u.startswith(prefix) or u == self.base_url)]

    def csp_violations(self) -> list[str]:
        # The CSP would stop an injected inline script or an outside load before any request or
        # dialog: chromium reports each refusal on the console, so a refusal is a failure too.
        return [m for m in self.console_errors if "Content Security Policy" in m]

    def assert_clean(self) -> None:
        assert self.requests, "no request was seen: the guard is not listening"
        assert not self.external(), f"requests outside {self.base_url}: {self.external()}"
        assert not self.dialogs, f"a script from the data ran (dialogs: {self.dialogs})"
        assert not self.csp_violations(), f"the page tried what the CSP refused: {self.csp_violations()}"


class Browse:
    """A signed-out browser tab on the live server, with a guard and a screenshot helper."""

    def __init__(self, page, server: LiveServer, guard: Guard, screens: Path, prefix: str):
        self.page, self.server, self.guard, self.screens, self.prefix = page, server, guard, screens, prefix
        self.shots = 0

    def url(self, path: str) -> str:
        return self.server.base_url + path

    def goto(self, path: str):
        response = self.page.goto(self.url(path))
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        return response

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        self.shots += 1
        path = self.screens / f"{self.prefix}-{self.shots:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def assert_no_injected_markup(self) -> None:
        """Hostile data on this page stayed text: no inline script, no element from the data."""
        injected = self.page.evaluate(
            """() => Array.from(document.querySelectorAll('script:not([src]), img[src="x"], [onerror], b'))
                       .map(e => e.outerHTML.slice(0, 120))"""
        )
        assert not injected, f"markup from the data was rendered: {injected}"
        scripts = self.page.evaluate("() => Array.from(document.scripts).map(s => s.src)")
        assert all(src.startswith(self.server.base_url + "/") for src in scripts), scripts

    def login(self, role: str) -> None:
        seeded = self.server.seeded
        self.goto("/login")
        self.page.fill("input[name=username]", seeded.users[role])
        self.page.fill("input[name=password]", seeded.password)
        self.shot("login")
        with self.page.expect_navigation():
            self.page.click("form.panel button[type=submit]")
        assert not re.search(r"/login(\?|$)", self.page.url), f"still on the login page: {self.page.url}"
        assert self.page.locator(".who").count() == 1


@pytest.fixture
def browse(request, browser, live_server, screens_dir):
    context = browser.new_context(accept_downloads=True, service_workers="block", locale="vi-VN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    guard = Guard(live_server.base_url)
    page.on("request", lambda req: guard.requests.append(req.url))

    def on_dialog(dialog):
        guard.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda msg: guard.console_errors.append(msg.text) if msg.type == "error" else None)
    prefix = request.node.name.removeprefix("test_")
    try:
        yield Browse(page, live_server, guard, screens_dir, prefix)
    finally:
        context.close()
