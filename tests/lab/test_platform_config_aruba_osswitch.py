"""The ArubaOS-Switch lab generator against the real checker, parser, sniffer and ntc-templates."""

from __future__ import annotations

import inspect
import re
from collections import Counter

import pytest
from netmiko.hp.hp_procurve import HPProcurveBase
from ntc_templates.parse import parse_output

from collectors.lab.platform_configs import aruba_osswitch as A
from collectors.lab.spec import NETWORK_CONFIG_RULES
from compliance.configcheck import check_config_text
from compliance.configparse import parse_config
from compliance.configparse.sniff import refusal, resemblance
from compliance.policy import load_policy

HOSTS = ("SW-DB-01", "SW-HN-02")  # two hash variants (asserted below)
RULES = sorted(A.applicable_rules(is_firewall=False))
# Rules the platform cannot evaluate per docs/config-rules.md: no 16.x statement selects the SSH version.
NOT_EVALUATED_HARDENED = {"net.ssh_v2_only"}

# rule -> the only lines its violation may add or remove
TOUCHES = {
    "net.telnet_off": r"^no telnet-server$",
    "net.snmp_v3_only": r'^(snmp-server community "Kk\d{5}ro" operator restricted|snmpv3 only)$',
    "net.snmp_no_default_community": r'^(snmp-server community "public" operator restricted|snmpv3 only)$',
    "net.snmp_no_rw_community": r'^(snmp-server community "Kk\d{5}rw" manager unrestricted|snmpv3 only)$',
    "net.ntp_two_servers": r"^(timesync sntp|sntp unicast|sntp server priority [12] \S+)$",
    "net.remote_syslog": r"^logging \d+\.\d+\.\d+\.\d+$",
    "net.aaa_login": r"^(aaa authentication (ssh|console) (login|enable) .*|password manager .*)$",
    "net.enable_secret": r'^password (manager|operator) user-name "\S+" (sha1 "[0-9a-f]{40}"|plaintext "(Mgr|Noc)-\d{4}")$',
    "net.password_encryption": r"^(encrypt-credentials|radius-server host .*|snmpv3 user .*)$",
    "net.http_mgmt_off": r"^no web-management plaintext$",
    "net.vty_acl": r"^ip authorized-managers .*$",
    "net.exec_timeout": r"^console idle-timeout (serial-usb )?\d+$",
}


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def _outcomes(text: str, policy) -> list:
    return check_config_text(text, "aruba_osswitch", policy, "access_switch")


def _changed(a: str, b: str) -> list[str]:
    ca, cb = Counter(a.splitlines()), Counter(b.splitlines())
    return sorted(((ca - cb) + (cb - ca)).elements())


def test_two_hosts_are_two_hash_variants():
    assert {A._h(h) % 2 for h in HOSTS} == {0, 1}


def test_rule_sets():
    assert A.PLATFORM == "aruba_osswitch"
    assert {"net.ssh_v2_only", "net.fw_default_deny"} == A.NOT_APPLICABLE
    assert set(RULES) == set(NETWORK_CONFIG_RULES) - A.NOT_APPLICABLE
    assert A.applicable_rules(is_firewall=True) == A.applicable_rules(is_firewall=False)
    assert set(TOUCHES) == set(RULES)
    for rule, implied in A.IMPLIES.items():
        assert rule in RULES and implied <= set(RULES) and rule not in implied
    assert A.implied_violations([]) == frozenset()
    assert A.implied_violations(["net.aaa_login"]) == {"net.aaa_login", "net.enable_secret"}  # one step, not transitive


@pytest.mark.parametrize("host", HOSTS)
def test_hardened_passes_all_but_the_unevaluable(host: str, policy):
    outcomes = _outcomes(A.running_config(host), policy)
    assert {o.rule_id for o in outcomes if o.passed is False} == set()
    assert {o.rule_id for o in outcomes if o.passed is None} == NOT_EVALUATED_HARDENED
    assert {o.rule_id for o in outcomes if o.passed is True} == set(RULES)


@pytest.mark.parametrize("violations", [(r,) for r in RULES] + [tuple(RULES), ("net.aaa_login", "net.enable_secret")], ids=str)
@pytest.mark.parametrize("host", HOSTS)
def test_checker_finds_exactly_the_violations(host: str, violations: tuple[str, ...], policy):
    outcomes = _outcomes(A.running_config(host, violations), policy)
    failed = {o.rule_id for o in outcomes if o.passed is False}
    assert failed == A.implied_violations(violations)
    assert failed >= set(violations)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("host", HOSTS)
def test_each_violation_flips_only_its_lines(rule: str, host: str):
    changed = _changed(A.running_config(host), A.running_config(host, {rule}))
    assert changed, rule
    assert all(re.search(TOUCHES[rule], ln) for ln in changed), changed


def test_insecure_forms():
    variants = {A._h(h) % 2: h for h in HOSTS}
    host = HOSTS[0]

    def lines(violations, h=host):
        return A.running_config(h, violations).splitlines()

    assert "no telnet-server" not in lines({"net.telnet_off"})
    assert 'snmp-server community "public" operator restricted' in lines({"net.snmp_no_default_community"})
    assert any(re.match(r'snmp-server community "\S+" manager unrestricted$', ln) for ln in lines({"net.snmp_no_rw_community"}))
    assert "snmpv3 only" not in lines({"net.snmp_v3_only"})
    assert sum(ln.startswith("sntp server") for ln in lines({"net.ntp_two_servers"}, variants[1])) == 1
    no_ntp = lines({"net.ntp_two_servers"}, variants[0])
    assert not any(ln.startswith(("sntp", "timesync")) for ln in no_ntp)
    assert not any(ln.startswith("logging ") for ln in lines({"net.remote_syslog"}))
    no_aaa = lines({"net.aaa_login"})
    assert "include-credentials" in no_aaa and not any(ln.startswith(("password manager", "aaa ")) for ln in no_aaa)
    plain = lines({"net.enable_secret"})
    n = A._h(host) % 10000
    assert f'password manager user-name "kiemke" plaintext "Mgr-{n:04d}"' in plain
    assert f'password operator user-name "noc" plaintext "Noc-{n:04d}"' in plain
    clear = lines({"net.password_encryption"})
    assert "encrypt-credentials" not in clear and f'radius-server host 10.0.0.5 key "Rad-{n:04d}"' in clear
    assert "no web-management plaintext" not in lines({"net.http_mgmt_off"})
    assert not any(ln.startswith("ip authorized-managers") for ln in lines({"net.vty_acl"}))
    assert "console idle-timeout 1800" in lines({"net.exec_timeout"}, variants[1])
    assert not any(ln.startswith("console idle-timeout") for ln in lines({"net.exec_timeout"}, variants[0]))


def test_secrets_differ_by_host():
    a, b = (A.running_config(h, {"net.enable_secret", "net.password_encryption"}) for h in ("SW-A-01", "SW-A-02"))
    secrets = re.compile(r'(?:plaintext|key|sha|aes) "([^"]+)"')
    assert set(secrets.findall(a)).isdisjoint(secrets.findall(b))


def test_parameters_reach_the_config():
    text = A.running_config("SW-X-09", model="2530-48G (J9775A)", os_version="YA.16.10.0025", mgmt_subnet="10.20.99.0/24", username="ops")
    lines = text.splitlines()
    assert lines[:3] == ["Running configuration:", "", "; J9775A Configuration Editor; Created on release #YA.16.10.0025"]
    assert 'hostname "SW-X-09"' in lines and "module 1 type j9775a" in lines
    assert "ip authorized-managers 10.20.99.0 255.255.255.0 access manager" in lines
    assert "   tagged 49-52" in lines and any(ln.startswith('password manager user-name "ops" sha1') for ln in lines)
    facts = parse_config(text, "aruba_osswitch")
    assert facts.hostname.value == "SW-X-09" and facts.os_version.value == "YA.16.10.0025"
    assert facts.ntp_servers.value == ("10.20.99.2", "10.20.99.3")


def test_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"unknown rule ids: \['net.nope'\]"):
        A.running_config("SW-1", {"net.nope"})
    for rule in sorted(A.NOT_APPLICABLE):
        with pytest.raises(ValueError, match=re.escape(f"rules not applicable to aruba_osswitch (firewall=False): ['{rule}']")):
            A.running_config("SW-1", {rule})
    with pytest.raises(ValueError, match="is_firewall"):
        A.running_config("SW-1", is_firewall=True)
    with pytest.raises(ValueError, match="product number"):
        A.running_config("SW-1", model="2530-24G")
    with pytest.raises(ValueError, match="hostname"):
        A.running_config('SW "1')
    with pytest.raises(ValueError, match="mgmt_subnet"):
        A.running_config("SW-1", mgmt_subnet="10.0.0.0/29")


def test_deterministic():
    everything = set(RULES)
    assert A.running_config("SW-DB-01", everything) == A.running_config("SW-DB-01", sorted(everything))
    assert A.running_config("SW-DB-01") == A.running_config("SW-DB-01")
    assert A.running_config("SW-DB-01") != A.running_config("SW-DB-02")


@pytest.mark.parametrize("violations", [(), tuple(RULES)], ids=["hardened", "all"])
def test_sniff_recognises_the_config(violations):
    text = A.running_config("SW-DB-01", violations)
    assert refusal(text, "aruba_osswitch") is None
    assert resemblance(text).best()[0] == "aruba_osswitch"


def test_command_outputs():
    running = A.running_config("SW-DB-01", {"net.telnet_off"})
    out = A.command_outputs("SW-DB-01", "2530-24G (J9776A)", "CN34KX1Z2Q", "YA.16.11.0016", running, mac="a0:b1:c2:d3:e4:f5")
    sent_by_netmiko = re.findall(r'command\s*=\s*"([^"]+)"', inspect.getsource(HPProcurveBase.session_preparation))
    assert sent_by_netmiko and set(sent_by_netmiko) <= set(out)
    assert set(out) == {"terminal width 511", "terminal length 1000", "no page", "show system", "show running-config"}
    assert all(out[c] == "" for c in A.SESSION_COMMANDS)
    assert out["show running-config"] == running
    (parsed,) = parse_output(platform="hp_procurve", command="show system", data=out["show system"])
    assert parsed["name"] == "SW-DB-01"
    assert parsed["software_version"] == "YA.16.11.0016"
    assert parsed["serial"] == "CN34KX1Z2Q"
    assert parsed["mac_address"] == "a0b1c2-d3e4f5"
    assert parsed["contact"] == "Phong CNTT" and parsed["location"] == "Phong may chu"
