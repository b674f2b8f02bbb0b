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
    assert int(facts["host.threads"]) <= os.cpu_count()
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
