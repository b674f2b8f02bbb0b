"""How SNMP answers become facts (collectors.snmp.facts), without the lab: the value helpers,
and the golden walks recorded from the collector tests' lab (tests/collectors/golden/snmp)
turned into facts that must match what the lab serves."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from collectors.records import Target
from collectors.snmp.facts import date_and_time, mac_text, text
from tests.collectors import snmp_golden
from tests.collectors.snmp_lab import (
    DEVICES,
    ENDPOINT,
    HOSTILE,
    SWITCH,
    check_endpoint_facts,
    check_hostile_facts,
    check_switch_facts,
    v2c,
)


def test_value_helpers() -> None:
    assert mac_text(bytes.fromhex("001ac0010001")) == "00:1a:c0:01:00:01"
    assert mac_text(b"00:1A:C0:01:00:01") == "00:1a:c0:01:00:01"
    assert mac_text(b"") is None and mac_text(b"\x00" * 6) is None and mac_text(b"abc") is None
    assert date_and_time(bytes.fromhex("07e8011e00000000")) == date(2024, 1, 30)
    assert date_and_time(bytes.fromhex("07e8011e000000002b0700")) == date(2024, 1, 30)
    assert date_and_time(b"\x00" * 8) is None and date_and_time(b"\x07") is None
    assert text(b"a\xffb\x00c\x00\x00") == "a\ufffdb\ufffdc"
    warnings: list[str] = []
    assert len(text(b"x" * 70_000, warnings, "sysDescr")) == 65535 and "sysDescr" in warnings[0]


# ------------------------------------------------------------------------------ golden walks
CHECKS = {SWITCH.key: check_switch_facts, ENDPOINT.key: check_endpoint_facts, HOSTILE.key: check_hostile_facts}
BY_KEY = {d.key: d for d in DEVICES}


def test_every_recorded_device_is_checked() -> None:
    assert snmp_golden.recorded_keys() == sorted(CHECKS)


@pytest.mark.parametrize("key", sorted(CHECKS))
def test_golden_walk_gives_the_facts_the_lab_serves(key: str) -> None:
    """The whole visit (probe, concurrent walks, fact building) over an in-memory agent that
    serves the recorded walk: the facts hold what the lab device is made of, and equal those
    collected from the live lab when the walk was recorded."""
    d = BY_KEY[key]
    folder = snmp_golden.device_dir(d)
    collector = snmp_golden.WalkCollector({d.address: snmp_golden.read_walk(folder / "walk.txt")})
    facts = asyncio.run(collector.collect(Target(d.address), v2c(d), 10))
    CHECKS[key](facts)
    assert snmp_golden.facts_json(facts) == snmp_golden.read_facts(folder / "facts.json")
