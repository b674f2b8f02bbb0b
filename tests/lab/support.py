"""Labs for the tests, apart from any other lab on the machine.

The demo's lab (`kiemke demo`, `kiemke lab start`) listens on the demo province's loopback
addresses at UDP 1161 / TCP 2222. A test run's labs listen on ports of their own, derived from
the run's pid and kept below the ephemeral range (32768-60999), where a client's socket could
hold them: the suite runs beside the demo's lab and beside another test run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from collectors.lab.manager import Lab
from collectors.lab.scenario import LabPorts, Profile
from collectors.lab.snmp_agents import SLOW_SNMP_DELAY
from collectors.lab.spec import LabDevice
from inventory import db
from inventory.demo import load_demo


def run_port(salt: int) -> int:
    """A port of this test run (10000-29999): the same salt, the same port for the whole run."""
    return 10000 + (os.getpid() + salt) % 20000


TEST_LAB_PORTS = LabPorts(snmp=run_port(0), ssh=run_port(7))
# The province lab of tests/test_demo_truth.py has ports of its own: a lab just stopped may still
# hold (or, with SO_REUSEPORT, share) the small lab's ports for a moment, and a poll must never
# reach a device of the other lab at the same loopback address.
PROVINCE_LAB_PORTS = LabPorts(snmp=run_port(100), ssh=run_port(107))


@dataclass(frozen=True)
class DemoLab:
    engine: Engine
    lab: Lab
    state: dict
    devices: list[LabDevice]


@contextmanager
def running_demo_lab(home: Path, *, with_netns: bool = False, slow_snmp_delay: float = SLOW_SNMP_DELAY, profile: Profile = "small", ports: LabPorts = TEST_LAB_PORTS) -> Iterator[DemoLab]:
    """The demo province in a SQLite database in `home` (kiemke.sqlite3) and its lab (`profile`),
    started on the test run's ports; stopped on leaving, also when the start fails half way."""
    url = f"sqlite:///{home / 'kiemke.sqlite3'}"
    db.upgrade(url)
    engine = db.engine_for(url)
    with db.session_scope(engine) as session:
        load_demo(session, actor="test")
    lab = Lab(home, ports, slow_snmp_delay=slow_snmp_delay)
    try:
        with db.session_scope(engine) as session:
            state = lab.start(session, profile, with_netns=with_netns, progress=lambda *_: None)
            devices = lab.build(session, profile)
        yield DemoLab(engine, lab, state, devices)
    finally:
        lab.stop()
