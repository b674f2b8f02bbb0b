"""SnmpCollector against snmpsim agents on 127.252.1.x (the devices: tests/collectors/snmp_lab.py).

The codec, USM and fact-builder tests need no lab: test_snmp_ber.py, test_snmp_usm.py and
test_snmp_facts.py (on golden walks recorded from this lab)."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import SecretStr

from collectors.base import Collector
from collectors.records import (
    AuthenticationFailed,
    CollectionTimeout,
    DeviceFacts,
    SnmpCredential,
    Target,
    Unreachable,
)
from collectors.snmp import ConfigError, SnmpCollector
from tests.collectors.snmp_lab import (
    DEAD,
    DEVICES,
    ENDPOINT,
    HANG,
    HOSTILE,
    HUGE,
    PADDED,
    SLOW,
    SWITCH,
    check_endpoint_facts,
    check_hostile_facts,
    check_switch_facts,
    v2c,
    v3,
)


def collect_all(jobs: list[tuple]) -> list[tuple[DeviceFacts | BaseException, float]]:
    """Run the visits (device, credential, timeout[, v3 backend]) concurrently, one collector
    per backend; each result is (facts or error, seconds)."""

    async def main():
        collectors = {"native": SnmpCollector(), "pysnmp": SnmpCollector(v3_backend="pysnmp")}

        async def one(d, cred, timeout, backend="native"):
            t0 = time.monotonic()
            try:
                result = await collectors[backend].collect(Target(d.address), cred, timeout)
            except Exception as exc:
                result = exc
            return result, time.monotonic() - t0

        try:
            return await asyncio.gather(*(one(*job) for job in jobs))
        finally:
            for collector in collectors.values():
                await collector.aclose()

    return asyncio.run(main())


# ------------------------------------------------------------------------------ live lab
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from collectors.lab.snmp_agents import SnmpLab

    lab = SnmpLab(DEVICES, tmp_path_factory.mktemp("snmpcollector"), slow_delay=1.0)
    lab.start(timeout=60)
    yield lab
    lab.stop()


WRONG_KEY_TIMEOUT = 10


@pytest.fixture(scope="module")
def visits(lab):
    """One concurrent round: every device over v2c and v3, plus the failure cases."""
    jobs = {
        "switch_v2c": (SWITCH, v2c(SWITCH), 10),
        "switch_v3": (SWITCH, v3(SWITCH), 10),
        "switch_v3-pysnmp": (SWITCH, v3(SWITCH), 10, "pysnmp"),
        "endpoint_v2c": (ENDPOINT, v2c(ENDPOINT), 10),
        "endpoint_v3": (ENDPOINT, v3(ENDPOINT), 10),
        "endpoint_v3-pysnmp": (ENDPOINT, v3(ENDPOINT), 10, "pysnmp"),
        "hostile_v2c": (HOSTILE, v2c(HOSTILE), 10),
        "hostile_v3": (HOSTILE, v3(HOSTILE), 10),
        "huge_v2c": (HUGE, v2c(HUGE), 12),
        "slow_v2c": (SLOW, v2c(SLOW), 10),
        "slow_v3": (SLOW, v3(SLOW), 10),
        "wrong_community": (SWITCH, v2c(SWITCH, "public"), 2),
        # A wrong key is answered at once by a report; the long timeout only keeps a loaded machine
        # (pysnmp's decoding shares this event loop with the big walks) from turning it into a timeout.
        "wrong_auth": (SWITCH, v3(SWITCH, auth="WrongAuthKey-4242"), WRONG_KEY_TIMEOUT),
        "wrong_priv": (SWITCH, v3(SWITCH, priv="WrongPrivKey-4242"), WRONG_KEY_TIMEOUT),
        "wrong_auth-pysnmp": (SWITCH, v3(SWITCH, auth="WrongAuthKey-4242"), WRONG_KEY_TIMEOUT, "pysnmp"),
        "hang_v2c": (HANG, v2c(HANG), 2),
        "hang_v3": (HANG, v3(HANG), 2),
        "hang_v3-pysnmp": (HANG, v3(HANG), 2, "pysnmp"),
        "dead_v2c": (DEAD, v2c(DEAD), 2),
        "dead_v3": (DEAD, v3(DEAD), 2),
    }
    return dict(zip(jobs, collect_all(list(jobs.values())), strict=True))


pytestmark = pytest.mark.lab


def test_collector_follows_the_protocol() -> None:
    assert isinstance(SnmpCollector(), Collector)
    assert SnmpCollector.name == "snmp"


@pytest.mark.parametrize("version", ["v2c", "v3", "v3-pysnmp"])
def test_switch_facts_match_the_lab(visits, version: str) -> None:
    facts, took = visits[f"switch_{version}"]
    assert isinstance(facts, DeviceFacts), facts
    check_switch_facts(facts)
    assert took < 5


@pytest.mark.parametrize("version", ["v2c", "v3", "v3-pysnmp"])
def test_endpoint_host_resources(visits, version: str) -> None:
    facts, _ = visits[f"endpoint_{version}"]
    assert isinstance(facts, DeviceFacts), facts
    check_endpoint_facts(facts)


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_hostile_values_stay_text(visits, version: str) -> None:
    facts, _ = visits[f"hostile_{version}"]
    assert isinstance(facts, DeviceFacts), facts
    check_hostile_facts(facts)


def test_a_value_too_big_for_any_answer_is_a_warning_not_a_failure(visits) -> None:
    facts, took = visits["huge_v2c"]
    assert isinstance(facts, DeviceFacts), facts
    assert facts.model is None
    assert any("1.3.6.1.2.1.47.1.1.1.1.13.1" in w for w in facts.warnings)
    # the interface walk may also end on the huge entPhysicalDescr that follows ifAlias
    assert all(w.startswith(("ENTITY-MIB", "interfaces")) for w in facts.warnings), facts.warnings
    assert (facts.serial, facts.vendor, facts.os_name, facts.os_version) == (HUGE.serial, "Fortinet", "FortiOS", "7.2.8")
    assert [i.name for i in facts.interfaces] == ["port1"]
    assert took <= 13.0


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_slow_device_is_collected(visits, version: str) -> None:
    facts, took = visits[f"slow_{version}"]
    assert isinstance(facts, DeviceFacts), facts
    assert facts.warnings == ()
    assert (facts.sys_name, facts.serial) == (SLOW.hostname, SLOW.serial)
    assert [i.name for i in facts.interfaces] == ["Gi0/1"]
    assert 1.0 <= took < 10


def test_wrong_community_times_out_within_the_timeout(visits) -> None:
    exc, took = visits["wrong_community"]
    assert isinstance(exc, CollectionTimeout), exc
    assert exc.kind == "timeout"
    assert "no SNMP answer from 127.252.1.1:1161 within 2 s" in str(exc)
    assert "wrong community" in str(exc)
    assert SWITCH.snmp.community not in str(exc)
    assert 1.0 < took <= 3.0  # a 2 s timeout, with room for a loaded machine


@pytest.mark.parametrize("case", ["wrong_auth", "wrong_priv", "wrong_auth-pysnmp"])
def test_wrong_v3_key_is_an_authentication_failure(visits, case: str) -> None:
    exc, took = visits[case]
    assert isinstance(exc, AuthenticationFailed), exc
    assert exc.kind == "auth"
    assert "SNMPv3 authentication failed for user 'kiemke1'" in str(exc)
    for secret in ("WrongAuthKey-4242", "WrongPrivKey-4242", SWITCH.snmp.v3_auth_key, SWITCH.snmp.v3_priv_key):
        assert secret not in str(exc) and secret not in repr(exc.args)
    assert took < WRONG_KEY_TIMEOUT  # reported, never waited out


@pytest.mark.parametrize("case", ["hang_v2c", "hang_v3", "hang_v3-pysnmp", "dead_v2c", "dead_v3"])
def test_silent_devices_end_within_the_timeout(visits, case: str) -> None:
    exc, took = visits[case]
    assert isinstance(exc, CollectionTimeout | Unreachable), exc
    assert took <= 3.0  # a 2 s timeout, with room for a loaded machine
    if case.startswith("dead"):  # connected UDP socket: ICMP port unreachable ends it at once
        assert isinstance(exc, Unreachable) and took < 1.0
    else:
        assert isinstance(exc, CollectionTimeout) and took > 1.0


def test_v3_keys_are_per_credential(lab) -> None:
    """One collector, one user name with different keys on two devices: each gets its own keys
    (a single pysnmp engine would keep the first keys it saw for the name)."""
    assert HOSTILE.snmp.v3_user == HUGE.snmp.v3_user and HOSTILE.snmp.v3_auth_key != HUGE.snmp.v3_auth_key
    results = collect_all(
        [
            (HOSTILE, v3(HOSTILE), 8),
            (HUGE, v3(HUGE), 12),
            (HUGE, v3(HUGE, auth=HOSTILE.snmp.v3_auth_key, priv=HOSTILE.snmp.v3_priv_key), 3),
            (HOSTILE, v3(HOSTILE), 8),
        ]
    )
    kinds = [type(r).__name__ for r, _ in results]
    assert kinds == ["DeviceFacts", "DeviceFacts", "AuthenticationFailed", "DeviceFacts"], results
    assert results[1][0].serial == HUGE.serial and results[3][0].serial == PADDED.decode()


def test_bad_credential_is_a_config_error() -> None:
    async def main():
        c = SnmpCollector()
        with pytest.raises(ConfigError, match="at least 8 characters") as info:
            await c.collect(Target("127.252.1.9"), SnmpCredential("x", "v3", user="u", auth_key=SecretStr("short"), priv_key=SecretStr("short")), 1)
        assert info.value.kind == "config" and "short" not in str(info.value)
        with pytest.raises(ConfigError, match="has no community") as info:
            await c.collect(Target("127.252.1.9"), SnmpCredential("x", "v2c"), 1)
        assert info.value.kind == "config"

    asyncio.run(main())
