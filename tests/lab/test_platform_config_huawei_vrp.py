"""The simulated Huawei VRP devices: collectors/lab/platform_configs/huawei_vrp.py (pure)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from ntc_templates.parse import parse_output

from collectors.lab.platform_configs import huawei_vrp as H
from collectors.lab.spec import NETWORK_CONFIG_RULES
from compliance.configcheck import check_config_text
from compliance.configparse.sniff import refusal, resemblance
from compliance.policy import load_policy

SWITCH = {"model": "S5735-L24T4S-A", "os_version": "V200R021"}
FIREWALL = {"model": "USG6510E", "os_version": "V600R007C20SPC500"}
# two hostnames per form whose CRC32 picks different variants (ntp 1 vs 0, idle-timeout 0 vs 30, ...)
HOSTS = {False: ("SW-HW-DB-01", "SW-HW-HN-02"), True: ("FW-HW-DB-01", "FW-HW-HN-02")}
# what docs/config-rules.md says VRP cannot decide on a hardened device: the USG manager-user
# `password cipher` form (reversible or a hash: unconfirmed)
NOT_EVALUATED_WHEN_HARDENED = {False: set(), True: {"net.enable_secret"}}

# rule -> regex of the lines its insecure form may add or remove (minimality)
TOUCHES = {
    "net.telnet_off": r"^( ?(undo )?telnet server enable| protocol inbound (ssh|all))$",
    "net.ssh_v2_only": r"^(undo )?ssh server compatible-ssh1x enable$",
    "net.snmp_v3_only": r"^snmp-agent (community read cipher %\^%#\S+%\^%# acl 2001|sys-info version (v3|v2c v3))$",
    "net.snmp_no_default_community": r"^snmp-agent (community read public|sys-info version (v3|v2c v3))$",
    "net.snmp_no_rw_community": r"^snmp-agent (community write cipher %\^%#\S+%\^%# acl 2001|sys-info version (v3|v2c v3))$",
    "net.ntp_two_servers": r"^ntp-service unicast-server ",
    "net.remote_syslog": r"^(info-center loghost \d|undo info-center enable$)",
    "net.aaa_login": r"^ (authentication-mode (aaa|password)|set authentication password cipher %\^%#\S+%\^%#)$",
    "net.enable_secret": r"^( local-user \S+ password (irreversible-cipher \$1a\$|cipher %@%@)|super password level 15 cipher @%@%|#$)",
    "net.password_encryption": r"^ hwtacacs-server shared-key (cipher %\^%#|simple Tac-\d{4}$)",
    "net.http_mgmt_off": r"^((undo )?http server enable|http acl 2001|web-manager enable|#| service-manage http permit)$",
    "net.vty_acl": r"^ acl 2001 inbound$",
    "net.exec_timeout": r"^ idle-timeout (10|30|0) 0$",
    "net.fw_default_deny": r"^( rule name temp-allow-all|  action permit)$",
}

_POLICY = load_policy()


def _config(host: str, violations=(), *, is_firewall: bool) -> str:
    return H.running_config(host, violations, is_firewall=is_firewall, **(FIREWALL if is_firewall else SWITCH))


def _outcomes(text: str, is_firewall: bool):
    return check_config_text(text, "huawei_vrp", _POLICY, "firewall" if is_firewall else "access_switch")


def _changed(a: str, b: str) -> list[str]:
    ca, cb = Counter(a.splitlines()), Counter(b.splitlines())
    return sorted(((ca - cb) + (cb - ca)).elements())


def _violation_sets(is_firewall: bool) -> list[frozenset[str]]:
    rules = H.applicable_rules(is_firewall=is_firewall)
    return [frozenset(), *(frozenset({r}) for r in sorted(rules)), rules]


def test_hosts_pick_both_variants():
    for hosts in HOSTS.values():
        assert len({H._h(host) % 2 for host in hosts}) == 2, hosts


@pytest.mark.parametrize("is_firewall", [False, True])
def test_the_checker_finds_exactly_the_violations(is_firewall: bool):
    for host in HOSTS[is_firewall]:
        for violations in _violation_sets(is_firewall):
            outcomes = _outcomes(_config(host, violations, is_firewall=is_firewall), is_firewall)
            failed = {o.rule_id for o in outcomes if o.passed is False}
            assert failed == H.implied_violations(violations), (host, sorted(violations))
            if not violations:
                assert {o.rule_id for o in outcomes} == set(H.applicable_rules(is_firewall=is_firewall))
                assert {o.rule_id for o in outcomes if o.passed is None} == NOT_EVALUATED_WHEN_HARDENED[is_firewall], host


def test_applicable_rules_and_implications():
    assert not H.NOT_APPLICABLE
    assert H.applicable_rules(is_firewall=True) == frozenset(NETWORK_CONFIG_RULES)
    assert H.applicable_rules(is_firewall=False) == frozenset(NETWORK_CONFIG_RULES) - {"net.fw_default_deny"}
    assert H.implied_violations({"net.snmp_no_rw_community"}) == {"net.snmp_no_rw_community", "net.snmp_v3_only"}
    assert H.implied_violations({"net.telnet_off"}) == {"net.telnet_off"}
    assert set(TOUCHES) == set(NETWORK_CONFIG_RULES)


@pytest.mark.parametrize(("rule", "is_firewall"), [(r, fw) for fw in (False, True) for r in sorted(H.applicable_rules(is_firewall=fw))])
def test_each_violation_flips_only_its_lines(rule: str, is_firewall: bool):
    for host in HOSTS[is_firewall]:
        changed = _changed(_config(host, is_firewall=is_firewall), _config(host, {rule}, is_firewall=is_firewall))
        assert changed, (rule, host)
        assert all(re.search(TOUCHES[rule], line) for line in changed), changed


def test_insecure_forms():
    host = HOSTS[False][0]
    assert "telnet server enable" in _config(host, {"net.telnet_off"}, is_firewall=False).splitlines()
    assert "snmp-agent community read public" in _config(host, {"net.snmp_no_default_community"}, is_firewall=False).splitlines()
    plain = _config(host, {"net.password_encryption"}, is_firewall=False)
    assert re.search(r"^ hwtacacs-server shared-key simple Tac-\d{4}$", plain, re.M)
    both = _config(host, {"net.http_mgmt_off", "net.vty_acl"}, is_firewall=False)
    assert "http server enable" in both.splitlines() and "http acl" not in both  # no hidden source filter
    for host in HOSTS[False]:
        ntp = _config(host, {"net.ntp_two_servers"}, is_firewall=False)
        assert len(re.findall(r"^ntp-service unicast-server ", ntp, re.M)) == H._h(host) % 2


def test_hardened_switch_has_the_baseline():
    cfg = _config(HOSTS[False][0], is_firewall=False)
    lines = cfg.splitlines()
    assert lines[0] == "!Software Version V200R021" and lines[-1] == "return"
    for needed in (
        "undo telnet server enable",
        "undo ssh server compatible-ssh1x enable",
        "undo http server enable",
        "snmp-agent sys-info version v3",
        " acl 2001 inbound",
        " protocol inbound ssh",
        " idle-timeout 10 0",
        "user-interface con 0",
        "user-interface vty 0 4",
    ):
        assert needed in lines, needed
    assert not any(line.startswith("snmp-agent community") for line in lines)
    assert " simple " not in cfg and "security-policy" not in cfg


def test_unknown_and_not_applicable_rules_are_refused():
    with pytest.raises(ValueError, match=r"unknown rule ids: \['net.nope'\]"):
        H.running_config("SW-1", {"net.nope"})
    with pytest.raises(ValueError, match=r"rules not applicable to huawei_vrp \(firewall=False\): \['net.fw_default_deny'\]"):
        H.running_config("SW-1", {"net.fw_default_deny"})


def test_deterministic_and_per_host():
    every = H.applicable_rules(is_firewall=True)
    first = _config("FW-X", every, is_firewall=True)
    assert first == _config("FW-X", every, is_firewall=True)
    assert first != _config("FW-Y", every, is_firewall=True)
    outputs = H.command_outputs("FW-X", "USG6510E", "2102353VTX10N4000123", "V600R007", first)
    assert outputs == H.command_outputs("FW-X", "USG6510E", "2102353VTX10N4000123", "V600R007", first)


@pytest.mark.parametrize("is_firewall", [False, True])
def test_command_outputs_parse_to_what_is_recorded(is_firewall: bool):
    form = FIREWALL if is_firewall else SWITCH
    host, serial = HOSTS[is_firewall][0], "2102353VTX10N4000123"
    cfg = _config(host, is_firewall=is_firewall)
    outputs = H.command_outputs(host, form["model"], serial, form["os_version"], cfg)
    assert set(outputs) == {"screen-length 0 temporary", "display version", "display esn", "display current-configuration"}
    assert outputs["display current-configuration"] == cfg
    assert outputs["display esn"] == f"ESN of slot 0: {serial}\n"
    (version,) = parse_output(platform="huawei_vrp", command="display version", data=outputs["display version"])
    # PRODUCT_VERSION holds "<model> <os_version>"; MODEL holds the model, followed on an
    # S-series switch by the "Routing Switch" words the device prints (the template keeps them)
    assert version["product_version"] == f"{form['model']} {form['os_version']}"
    assert version["model"] == (form["model"] if is_firewall else f"{form['model']} Routing Switch")
    assert version["model"].split()[0] == form["model"]
    assert version["vrp_version"] == H.VRP_VERSION and version["uptime"]


@pytest.mark.parametrize("is_firewall", [False, True])
def test_sniff_recognises_the_config(is_firewall: bool):
    cfg = _config(HOSTS[is_firewall][0], H.applicable_rules(is_firewall=is_firewall), is_firewall=is_firewall)
    assert refusal(cfg, "huawei_vrp") is None
    assert resemblance(cfg).best()[0] == "huawei_vrp"
    assert refusal(cfg, "cisco_ios") is not None
