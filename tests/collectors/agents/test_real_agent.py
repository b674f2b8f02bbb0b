"""The real FusionInventory Agent (Debian's package, installed by scripts/setup.sh) on this very
machine: its offline file imported with `kiemke import-agent`, and its reports over HTTP to a
real `kiemke serve` on loopback, compressed and not. The device kiemke records must hold this
machine's real cores, RAM, OS and MACs, read here from /proc, /sys and /etc/os-release, and a
later run must update it, never add a second one.

The agent runs once (never as a daemon), with no listener, its state in the test's directory,
and talks to nothing but 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from collectors.agents.cli import run_fusion_agent
from inventory.models import Device, DeviceMac, Site
from inventory.observations import latest_observations
from tests.inventory.factories import make_province
from web.main import main

AGENT = shutil.which("fusioninventory-agent")
pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(AGENT is None, reason="fusioninventory-agent is not installed (scripts/setup.sh installs Debian's package)"),
]


# -- this machine, as Linux tells it --------------------------------------------------------------


def physical_cores() -> int:
    """Distinct (socket, core) pairs in /proc/cpuinfo; the CPU count where those are not shown."""
    pairs, socket = set(), None
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "physical id":
            socket = value
        elif key == "core id":
            pairs.add((socket, value))
    return len(pairs) or os.cpu_count()


def memory_kb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    raise AssertionError("no MemTotal in /proc/meminfo")


def os_name() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("NAME="):
            return line.partition("=")[2].strip().strip('"')
    raise AssertionError("no NAME in /etc/os-release")


def macs() -> tuple[set[str], set[str]]:
    """(MACs of the physical interfaces, MACs of every interface but loopback)."""
    physical, every = set(), set()
    for iface in Path("/sys/class/net").iterdir():
        try:
            mac = (iface / "address").read_text().strip().lower()
        except OSError:
            continue
        if iface.name == "lo" or not mac or mac == "00:00:00:00:00:00":
            continue
        every.add(mac)
        if not (Path("/sys/devices/virtual/net") / iface.name).exists():
            physical.add(mac)
    return physical, every


def assert_is_this_machine(session, device_id: int) -> None:
    session.expire_all()
    device = session.get(Device, device_id)
    facts = latest_observations(session, [device_id])[device_id]
    assert device.os_name == os_name() and facts["os_name"] == os_name()
    assert int(facts["host.cores"]) == physical_cores()
    if "host.threads" in facts:  # not every CPU says
        assert physical_cores() <= int(facts["host.threads"]) <= os.cpu_count()
    assert abs(int(facts["host.ram_kb"]) - memory_kb()) <= max(memory_kb() // 50, 65536)  # within 2 % (or 64 MB)
    recorded = set(session.execute(select(DeviceMac.mac).where(DeviceMac.device_id == device_id)).scalars())
    physical, every = macs()
    assert physical <= recorded <= every, (recorded, physical, every)
    assert facts["agent.version"].startswith("FusionInventory-Agent")


def device_count(session) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(Device)).scalar_one()


# -- offline: --local DIR, then kiemke import-agent ------------------------------------------------


@pytest.fixture
def cli(kiemke_env, engine, session):
    make_province(session, sites=1)  # one site: whatever this machine's address, no other site claims it
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    assert invoke("init").exit_code == 0
    # The machine's address (a container's, a VM's) fits no subnet of the site: the zone is the account's.
    assert invoke("agents", "add", "s1-agents", "--site", "S1", "--zone", "internet").exit_code == 0
    return invoke


def agent_local(state: Path, out: Path) -> Path:
    out.mkdir(parents=True)
    ran = run_fusion_agent(AGENT, state, "--local", str(out), timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    written = sorted(out.glob("*.ocs"))
    assert len(written) == 1, (written, ran.stderr[-2000:])
    return written[0]


def test_an_offline_inventory_of_this_machine_is_imported_as_one_device(cli, session, tmp_path):
    state = tmp_path / "agent-state"
    first = agent_local(state, tmp_path / "run1")
    imported = cli("import-agent", first, "--account", "s1-agents", "--json")
    assert imported.exit_code == 0, imported.output
    files = json.loads(imported.output)["files"]
    assert [f["status"] for f in files] == ["created"], files
    device_id = files[0]["device_id"]
    assert_is_this_machine(session, device_id)
    assert session.get(Device, device_id).site_id == session.execute(select(Site.id).where(Site.code == "S1")).scalar_one()
    assert device_count(session) == 1

    second = agent_local(state, tmp_path / "run2")  # the next day's run: the same agent, a new file
    again = json.loads(cli("import-agent", second, "--account", "s1-agents", "--json").output)
    assert again["failed"] == 0 and again["files"][0]["device_id"] == device_id and again["created"] == 0
    assert device_count(session) == 1
    repeated = json.loads(cli("import-agent", second, "--account", "s1-agents", "--json").output)
    assert repeated["unchanged"] == 1 and device_count(session) == 1

    if macs()[0]:  # the agent reinstalled: a new device id, and the machine found by its MACs
        reinstalled = agent_local(tmp_path / "fresh-state", tmp_path / "run3")
        fresh = json.loads(cli("import-agent", reinstalled, "--account", "s1-agents", "--json").output)
        assert fresh["files"][0]["device_id"] == device_id and device_count(session) == 1


# -- online: kiemke serve on loopback, the agent's --server ----------------------------------------

KIEMKE = [sys.executable, "-c", "from web.main import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(cli, tmp_path):
    """`kiemke serve` in a process of its own, over the test's database; its base URL."""
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen([*KIEMKE, "serve", "--port", str(port), "--threads", "4"], stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[3])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(url + "/login", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "kiemke serve did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def reports_of(cli, account: str) -> int:
    """How many inventories `kiemke agents list` counts for the account."""
    return next(row["reports"] for row in json.loads(cli("agents", "list", "--json").output) if row["name"] == account)


def test_the_agent_reports_this_machine_to_kiemke_serve(cli, server, session, tmp_path):
    issued = json.loads(cli("agents", "add", "s1-online", "--site", "S1", "--zone", "internet", "--json").output)
    state = tmp_path / "agent-state"

    def agent(*args: str, user: str = issued["user"], password: str = issued["password"]):
        return run_fusion_agent(AGENT, state, "--server", f"{server}/inventory", "--user", user, "--password", password, "--force", "--timeout=30", "--debug", *args, timeout=120)

    refused = agent(password=issued["password"] + "x")
    assert "authentication required, wrong credentials" in refused.stderr, refused.stderr[-2000:]
    assert "Inventory sent" not in refused.stderr and device_count(session) == 0

    compressed = agent()
    assert compressed.returncode == 0 and "[error]" not in compressed.stderr, compressed.stderr[-2000:]
    assert "Using Compress::Zlib for compression" in compressed.stderr
    assert device_count(session) == 1
    device_id = session.execute(select(Device.id)).scalar_one()
    assert_is_this_machine(session, device_id)
    assert reports_of(cli, "s1-online") == 1

    plain = agent("--no-compression")
    assert plain.returncode == 0 and "[error]" not in plain.stderr, plain.stderr[-2000:]
    assert "Not using compression" in plain.stderr
    assert device_count(session) == 1 and session.execute(select(Device.id)).scalar_one() == device_id
    assert_is_this_machine(session, device_id)
    assert reports_of(cli, "s1-online") == 2


# -- kiemke demo ----------------------------------------------------------------------------------


def test_the_demo_has_this_machine_report_itself_and_goes_on_when_it_cannot(cli, server, session, caplog):
    from collectors.agents.cli import DEMO_ACCOUNT, demo_agent_report
    from inventory.cli import AppContext
    from inventory.settings import Settings

    app = AppContext(Settings())
    for run in (1, 2):  # a second demo gives the account a fresh password (the first is not kept) and updates the device
        with caplog.at_level("WARNING", logger="kiemke.agents"):
            demo_agent_report(app, server + "/", agent=AGENT).join(timeout=120)
        assert not caplog.records, caplog.text
        assert device_count(session) == 1 and reports_of(cli, DEMO_ACCOUNT) == run
    assert_is_this_machine(session, session.execute(select(Device.id)).scalar_one())

    with caplog.at_level("WARNING", logger="kiemke.agents"):
        demo_agent_report(app, f"http://127.0.0.1:{free_port()}/", agent=AGENT, wait_seconds=1).join(timeout=30)
    assert "did not answer; FusionInventory Agent not run" in caplog.text and device_count(session) == 1
