"""Running-configs handed to the engine as texts (ConfigTexts) are parsed where their device is
evaluated, in this process or a forked worker: the same results as configs parsed beforehand, and
the texts that do not parse come back in Evaluation.config_errors, from the workers too."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import select
from sqlmodel import Session

from collectors.lab.configs import cisco_ios_config, fortios_config
from compliance import engine as engine_module
from compliance.configparse import parse_config
from compliance.engine import ConfigTexts, evaluate
from compliance.evaluation import evaluate_scope
from compliance.policy import load_policy
from compliance.subjects import DeviceSubject
from inventory.models import ConfigSnapshot, Device, DeviceCompliance
from tests.inventory.factories import make_province

POLICY = load_policy()
TODAY = date(2026, 11, 22)
UNSUPPORTED = "unsupported platform 'extreme_exos'"


def switch(i: int) -> DeviceSubject:
    return DeviceSubject(
        id=i, device_class="access_switch" if i % 2 else "firewall", site_id=1, zone="internet", status="in_use", today=TODAY, policy=POLICY,
        vendor="Cisco", model="C9200", os_name="IOS-XE", os_version="17.9", country_of_origin="US", purchase_date=date(2023, 1, 1),
        mgmt_ip=f"10.1.2.{i}", zone_subnets=("10.1.2.0/24",), facts={},
    )  # fmt: skip


def texts_for(ids: range) -> dict[int, tuple[str, str]]:
    """A config per device, each breaking a rule or two; every seventh of a platform with no parser."""
    rules = ("net.telnet_off", "net.ntp_two_servers", "net.remote_syslog", "net.exec_timeout")
    texts = {}
    for i in ids:
        broken = frozenset({rules[i % len(rules)]} if i % 3 else ())
        if i % 7 == 0:
            texts[i] = ("sysname hw\n", "extreme_exos")
        elif i % 2:
            texts[i] = (cisco_ios_config(f"sw{i}", broken, is_firewall=False, mgmt_subnet="10.1.2.0/24"), "cisco_ios")
        else:
            texts[i] = (fortios_config(f"fw{i}", broken, is_firewall=True, mgmt_subnet="10.1.2.0/24"), "fortinet")
    return texts


def test_config_texts_parse_when_asked_and_remember_what_does_not_parse():
    texts = ConfigTexts({1: ("hostname a\n", "cisco_ios"), 7: ("sysname hw\n", "extreme_exos")})
    assert texts.get(1) == parse_config("hostname a\n", "cisco_ios") == texts[1]
    assert texts.get(7) is None and list(texts.errors) == [7] and UNSUPPORTED in texts.errors[7]
    assert texts.get(2) is None and 2 not in texts.errors  # no config: not an error
    with pytest.raises(KeyError):
        texts[7]
    assert sorted(texts) == [1, 7] and len(texts) == 2


@pytest.mark.parametrize("this_process_helps", [True, False])
def test_workers_parse_their_chunks_and_give_the_results_of_parsed_configs(monkeypatch, this_process_helps):
    devices = [switch(i) for i in range(1, 43)]
    raw = texts_for(range(1, 43))
    parsed = {i: parse_config(*value) for i, value in raw.items() if value[1] != "extreme_exos"}
    reference = evaluate(devices, [], POLICY, parsed)
    serial = evaluate(devices, [], POLICY, ConfigTexts(raw))
    monkeypatch.setattr(engine_module, "PARALLEL_MIN_DEVICES", 10)
    monkeypatch.setattr(engine_module, "_CHUNK", 4)
    monkeypatch.setattr(engine_module, "_workers", lambda: 3)
    if not this_process_helps:  # it takes no chunk: the workers parse and evaluate them all
        parent, take = os.getpid(), engine_module._take_chunk
        monkeypatch.setattr(engine_module, "_take_chunk", lambda counter, chunks: None if os.getpid() == parent else take(counter, chunks))
    parallel = evaluate(devices, [], POLICY, ConfigTexts(raw))
    assert len({v.rule_id for v in reference.violations if v.rule_id.startswith("net.")}) >= 3
    for result in (serial, parallel):
        assert result.violations == reference.violations
        assert (result.checks_run, result.failing_devices, result.not_evaluated, result.unread) == (
            reference.checks_run, reference.failing_devices, reference.not_evaluated, reference.unread,
        )  # fmt: skip
        assert set(result.config_errors) == {i for i in range(1, 43) if i % 7 == 0}
        assert all(UNSUPPORTED in message for message in result.config_errors.values())
    assert reference.config_errors == {}  # parsed beforehand: the caller knew the errors


@pytest.mark.db
def test_a_configuration_that_does_not_parse_is_a_reason_in_its_devices_state(engine, session, monkeypatch):
    parse = engine_module.parse_config

    def refusing(text: str, platform: str):
        if text.startswith("garbled"):
            raise ValueError("line 1: not a running-config")
        return parse(text, platform)

    monkeypatch.setattr(engine_module, "parse_config", refusing)
    ids = make_province(session, sites=1)
    kind = dict(device_class="access_switch", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], vendor="Cisco", platform="cisco_ios")
    readable = Device(mgmt_ip="10.1.2.2", serial="SW1", **kind)
    garbled = Device(mgmt_ip="10.1.2.3", serial="SW2", **kind)
    session.add_all([readable, garbled])
    session.flush()
    session.add(ConfigSnapshot(device_id=readable.id, sha256="0" * 64, text=cisco_ios_config("sw1", frozenset({"net.telnet_off"}), is_firewall=False, mgmt_subnet="10.1.2.0/24")))
    session.add(ConfigSnapshot(device_id=garbled.id, sha256="1" * 64, text="garbled\n"))
    session.commit()
    result = evaluate_scope(engine, trigger="test", actor="t", today=TODAY, policy=POLICY)
    assert result["status"] == "ok" and result["config_parse_errors"] == 1
    assert result["by_rule"].get("net.telnet_off") == 1  # the readable one's; nothing of the garbled one
    with Session(engine) as fresh:
        states = {row.device_id: row for row in fresh.execute(select(DeviceCompliance)).scalars()}
    assert states[garbled.id].state != "compliant"
    assert any("configuration unreadable (line 1: not a running-config)" in reason for reason in states[garbled.id].reasons)
    assert not any("configuration unreadable" in reason for reason in states[readable.id].reasons)
