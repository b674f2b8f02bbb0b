"""The PAN-OS lab generator (collectors/lab/platform_configs/paloalto_panos.py) against the real
checker, ntc-templates and the platform sniffer."""

from __future__ import annotations

import re
import zlib
from collections import Counter

import pytest
from ntc_templates.parse import parse_output

from collectors.lab.platform_configs import paloalto_panos as P
from collectors.lab.spec import NETWORK_CONFIG_RULES
from compliance.configcheck import check_config_text
from compliance.configparse.sniff import refusal, resemblance
from compliance.policy import load_policy

HOSTS = ("PA-DB-FW01", "PA-MN-FW07")  # two hash variants (checked below)
FIREWALL_VALUES = (True,)  # a PA-series device is always a firewall
# What the checker cannot evaluate on PAN-OS (docs/config-rules.md): no statement selects the SSH
# version ("not evaluated"), no enable mode ("not applicable").
NEVER_EVALUATED = frozenset({"net.ssh_v2_only", "net.enable_secret"})

# rule -> regex of the lines its insecure form may add or remove (minimality)
TOUCHES = {
    "net.telnet_off": r"^set deviceconfig system service disable-telnet (yes|no)$",
    "net.snmp_v3_only": r"^set deviceconfig system snmp-setting access-setting version (v3 (views|users) .*|v2c snmp-community-string Kk\d{5}ro)$",
    "net.snmp_no_default_community": r"^set deviceconfig system snmp-setting access-setting version (v3 (views|users) .*|v2c snmp-community-string public)$",
    "net.ntp_two_servers": r"^set deviceconfig system ntp-servers (primary|secondary)-ntp-server ",
    "net.remote_syslog": r"^set shared log-settings (syslog SIEM server SIEM-1 .*|(system|config) match-list \S+ send-syslog SIEM)$",
    "net.aaa_login": r"^set mgt-config users noc authentication-profile TACACS-AUTH$",
    "net.password_encryption": r"^set shared server-profile tacplus TACACS server TACACS-1 secret (-AQ==\S+|Tac-\d{4})$",
    "net.http_mgmt_off": r"^set deviceconfig system service disable-http (yes|no)$",
    "net.vty_acl": r"^set deviceconfig system permitted-ip 10\.0\.0\.0/24$",
    "net.exec_timeout": r"^set deviceconfig setting management idle-timeout (10|30|0)$",
    "net.fw_default_deny": r"^set rulebase security rules temp-allow-all ",
}


def _failed(text: str, is_firewall: bool) -> set[str]:
    outcomes = check_config_text(text, "paloalto_panos", load_policy(), "firewall" if is_firewall else "access_switch")
    return {o.rule_id for o in outcomes if o.passed is False}


def _changed(a: str, b: str) -> list[str]:
    ca, cb = Counter(a.splitlines()), Counter(b.splitlines())
    return sorted(((ca - cb) + (cb - ca)).elements())


def test_the_two_hosts_are_two_hash_variants():
    assert len({zlib.crc32(f":{h}".encode()) % 2 for h in HOSTS}) == 2


def test_touches_cover_every_applicable_rule():
    assert set(TOUCHES) == P.applicable_rules(is_firewall=True)


@pytest.mark.parametrize("is_firewall", FIREWALL_VALUES)
@pytest.mark.parametrize("host", HOSTS)
def test_hardened_config_passes_every_rule_it_can_evaluate(host: str, is_firewall: bool):
    text = P.running_config(host, is_firewall=is_firewall)
    outcomes = check_config_text(text, "paloalto_panos", load_policy(), "firewall")
    assert {o.rule_id for o in outcomes} == set(NETWORK_CONFIG_RULES)
    assert {o.rule_id for o in outcomes if o.passed is None} == NEVER_EVALUATED
    assert not [o.rule_id for o in outcomes if o.passed is False]


@pytest.mark.parametrize("is_firewall", FIREWALL_VALUES)
@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("rule", sorted(TOUCHES))
def test_checker_finds_exactly_each_single_violation(rule: str, host: str, is_firewall: bool):
    text = P.running_config(host, {rule}, is_firewall=is_firewall)
    assert _failed(text, is_firewall) == P.implied_violations({rule})


@pytest.mark.parametrize("is_firewall", FIREWALL_VALUES)
@pytest.mark.parametrize("host", HOSTS)
def test_checker_finds_all_violations_together(host: str, is_firewall: bool):
    every = P.applicable_rules(is_firewall=is_firewall)
    text = P.running_config(host, every, is_firewall=is_firewall)
    assert _failed(text, is_firewall) == P.implied_violations(every) == every


def test_implied_violations_closes_over_implies():
    assert P.implied_violations({"net.snmp_no_default_community"}) == {"net.snmp_no_default_community", "net.snmp_v3_only"}
    assert P.implied_violations({"net.telnet_off"}) == {"net.telnet_off"}


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("rule", sorted(TOUCHES))
def test_each_violation_flips_only_its_lines(rule: str, host: str):
    changed = _changed(P.running_config(host), P.running_config(host, {rule}))
    assert changed, rule
    assert all(re.search(TOUCHES[rule], ln) for ln in changed), changed


def test_insecure_forms():
    host = HOSTS[0]
    assert "set deviceconfig system snmp-setting access-setting version v2c snmp-community-string public" in P.running_config(host, {"net.snmp_no_default_community"}).splitlines()
    plain = P.running_config(host, {"net.password_encryption"})
    assert re.search(r"^set shared server-profile tacplus TACACS server TACACS-1 secret Tac-\d{4}$", plain, re.M)
    allow_all = P.running_config(host, {"net.fw_default_deny"}).splitlines()
    assert allow_all.index("set rulebase security rules temp-allow-all action allow") < allow_all.index("set rulebase security rules DENY-LOG action deny")
    for h in HOSTS:  # the hash variants of NTP, syslog and idle timeout both appear
        assert len(re.findall(r"ntp-server-address", P.running_config(h, {"net.ntp_two_servers"}))) in (0, 1)
    ntp = {len(re.findall(r"ntp-server-address", P.running_config(h, {"net.ntp_two_servers"}))) for h in HOSTS}
    timeouts = {re.search(r"idle-timeout (\d+)", P.running_config(h, {"net.exec_timeout"})).group(1) for h in HOSTS}
    profiles = {"syslog SIEM server" in P.running_config(h, {"net.remote_syslog"}) for h in HOSTS}
    assert ntp == {0, 1} and timeouts == {"0", "30"} and profiles == {True, False}


def test_release_picks_the_hip_fields():
    assert "DENY-LOG source-hip any" in P.running_config(HOSTS[0], os_version="11.1.2")
    old = P.running_config(HOSTS[0], os_version="9.1.16")
    assert "DENY-LOG hip-profiles any" in old and "source-hip" not in old


def test_parameters_reach_the_config():
    text = P.running_config("PA-X-01", mgmt_subnet="10.9.8.0/24", username="ops1")
    lines = text.splitlines()
    assert "set deviceconfig system hostname PA-X-01" in lines
    assert "set deviceconfig system permitted-ip 10.9.8.0/24" in lines
    assert re.search(r"^set deviceconfig system ip-address 10\.9\.8\.\d+$", text, re.M)
    assert re.search(r"^set mgt-config users ops1 phash \$5\$", text, re.M)


def test_secrets_are_made_up_and_encrypted_shaped():
    a, b = P.running_config(HOSTS[0]), P.running_config(HOSTS[1])
    secrets_a = re.findall(r"(?:authpwd|privpwd|secret|phash) (\S+)", a)
    assert len(secrets_a) == 4 and all(s.startswith(("-AQ==", "$5$")) for s in secrets_a)
    assert not set(secrets_a) & set(re.findall(r"(?:authpwd|privpwd|secret|phash) (\S+)", b))


def test_errors_for_unknown_and_not_applicable_rules():
    with pytest.raises(ValueError, match=r"unknown rule ids: \['net.nope'\]"):
        P.running_config(HOSTS[0], {"net.nope"})
    for rule in sorted(P.NOT_APPLICABLE):
        with pytest.raises(ValueError, match=re.escape(f"rules not applicable to paloalto_panos (firewall=True): ['{rule}']")):
            P.running_config(HOSTS[0], {rule})
    with pytest.raises(ValueError, match="firewalls"):
        P.running_config(HOSTS[0], is_firewall=False)
    with pytest.raises(ValueError, match="firewalls"):
        P.applicable_rules(is_firewall=False)
    assert P.applicable_rules(is_firewall=True) == set(NETWORK_CONFIG_RULES) - P.NOT_APPLICABLE


def test_output_is_deterministic():
    every = P.applicable_rules(is_firewall=True)
    assert P.running_config(HOSTS[0], every) == P.running_config(HOSTS[0], sorted(every, reverse=True))
    cfg = P.running_config(HOSTS[0])
    assert P.command_outputs(HOSTS[0], "PA-440", "021201001234", "11.1.2", cfg) == P.command_outputs(HOSTS[0], "PA-440", "021201001234", "11.1.2", cfg)


def test_sniff_recognises_the_config():
    text = P.running_config(HOSTS[0], P.applicable_rules(is_firewall=True))
    assert refusal(text, "paloalto_panos") is None
    assert resemblance(text).best()[0] == "paloalto_panos"


def test_command_outputs():
    cfg = P.running_config(HOSTS[0])
    out = P.command_outputs(HOSTS[0], "PA-440", "021201001234", "11.1.2", cfg, mac="00:1b:17:aa:bb:cc")
    assert set(out) == {"set cli scripting-mode on", "set cli pager off", "set cli terminal width 500", "set cli config-output-format set", "show system info", "configure", "show"}
    assert all(out[c] == "" for c in P.SESSION_COMMANDS)
    assert out["configure"] == "Entering configuration mode"
    assert out["show"] == cfg
    info = out["show system info"]
    assert "operational-mode: normal" in info.splitlines()  # netmiko waits for it
    assert not re.search(r"[>#]", info)  # netmiko then reads up to the prompt's > or #
    ip = re.search(r"^set deviceconfig system ip-address (\S+)$", cfg, re.M).group(1)
    assert f"ip-address: {ip}" in info.splitlines() and "mac-address: 00:1b:17:aa:bb:cc" in info.splitlines()
    assert "ipv6-link-local-address: fe80::21b:17ff:feaa:bbcc/64" in info.splitlines()


@pytest.mark.parametrize(("model", "serial", "version"), [("PA-440", "021201001234", "11.1.2"), ("PA-3220", "012801009876", "10.2.9-h1")])
def test_show_system_info_parses_with_ntc_templates(model: str, serial: str, version: str):
    host = HOSTS[1]
    out = P.command_outputs(host, model, serial, version, P.running_config(host, os_version=version))
    rows = parse_output(platform="paloalto_panos", command="show system info", data=out["show system info"])
    assert len(rows) == 1
    row = rows[0]
    assert (row["hostname"], row["model"], row["serial"], row["os"]) == (host, model, serial, version)
    assert row["operational_mode"] == "normal" and row["family"] == row["platform_family"]
    assert f"sw-version: {version}" in out["show system info"].splitlines()
