"""The lab's Junos EX switches (collectors/lab/platform_configs/juniper_junos.py): the real checker
finds exactly the violations a config was built with, in both renderings the collector reads."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from ntc_templates.parse import parse_output

from collectors.lab.platform_configs import juniper_junos as J
from compliance.configcheck import check_config_text
from compliance.configparse.sniff import refusal, resemblance
from compliance.policy import load_policy

HOSTS = ("EX-DB-01", "EX-MN-08")  # two hash variants (ntp 1 vs 0 servers, idle-timeout 30 vs none)
APPLICABLE = sorted(J.applicable_rules(is_firewall=False))
# Rules the Junos parser cannot evaluate on an EX switch even when hardened (docs/config-rules.md).
NEVER_EVALUATED = {"net.enable_secret"}

# rule -> regex of the lines its insecure form may add or remove (minimality)
TOUCHES = {
    "net.telnet_off": r"^ {8}telnet;$",
    "net.ssh_v2_only": r"^ {12}protocol-version (v2|\[ v1 v2 \]);$",
    "net.snmp_v3_only": r"^ +(community Kk\d{5}ro \{|authorization read-only;|clients \{|10\.\S+/\d+;|\})$",
    "net.snmp_no_default_community": r"^ +(community public \{|authorization read-only;|\})$",
    "net.snmp_no_rw_community": r"^ +(community Kk\d{5}rw \{|authorization read-write;|clients \{|10\.\S+/\d+;|\})$",
    "net.ntp_two_servers": r"^ +(ntp \{|server \S+;|\})$",
    "net.remote_syslog": r"^ +(host \S+ \{|any notice;|authorization info;|\})$",
    "net.aaa_login": r'^ +(authentication \{|encrypted-password "\$6\$\S+"; ## SECRET-DATA|\})$',
    "net.password_encryption": r'^ {8}encrypted-password "(\$6\$\S+|Root-\d{4})"; ## SECRET-DATA$',
    "net.http_mgmt_off": r"^ +(web-management \{|http \{|interface irb\.99;|\})$",
    "net.vty_acl": r"^ +(filter \{|input PROTECT-RE;|\})$",
    "net.exec_timeout": r"^ {12}idle-timeout (10|30);$",
}


def _failed(text: str) -> set[str]:
    outcomes = check_config_text(text, J.PLATFORM, load_policy(), "access_switch")
    return {o.rule_id for o in outcomes if o.passed is False}


def _not_evaluated(text: str) -> set[str]:
    outcomes = check_config_text(text, J.PLATFORM, load_policy(), "access_switch")
    return {o.rule_id for o in outcomes if o.passed is None}


def _changed(a: str, b: str) -> list[str]:
    ca, cb = Counter(a.splitlines()), Counter(b.splitlines())
    return sorted(((ca - cb) + (cb - ca)).elements())


def test_touches_cover_every_applicable_rule():
    assert sorted(TOUCHES) == APPLICABLE
    assert {"net.enable_secret", "net.fw_default_deny"} == J.NOT_APPLICABLE


@pytest.mark.parametrize("host", HOSTS)
def test_hardened_passes_everything_it_can(host: str):
    text = J.running_config(host)
    assert _failed(text) == set()
    assert _not_evaluated(text) == NEVER_EVALUATED
    as_set = J.display_set(text)
    assert _failed(as_set) == set() and _not_evaluated(as_set) == NEVER_EVALUATED


@pytest.mark.parametrize("rule", APPLICABLE)
@pytest.mark.parametrize("host", HOSTS)
def test_each_violation_is_found_exactly(rule: str, host: str):
    text = J.running_config(host, {rule})
    expected = J.implied_violations({rule})
    assert _failed(text) == expected
    assert _failed(J.display_set(text)) == expected  # the set form gives the same verdicts


@pytest.mark.parametrize("host", HOSTS)
def test_all_violations_together(host: str):
    text = J.running_config(host, APPLICABLE)
    assert _failed(text) == set(APPLICABLE)
    assert _failed(J.display_set(text)) == set(APPLICABLE)


def test_implied_violations():
    assert J.implied_violations({"net.snmp_no_default_community"}) == {"net.snmp_no_default_community", "net.snmp_v3_only"}
    assert J.implied_violations({"net.snmp_no_rw_community"}) == {"net.snmp_no_rw_community", "net.snmp_v3_only"}
    assert J.implied_violations({"net.telnet_off"}) == {"net.telnet_off"}


@pytest.mark.parametrize("rule", APPLICABLE)
@pytest.mark.parametrize("host", HOSTS)
def test_each_violation_flips_only_its_lines(rule: str, host: str):
    changed = _changed(J.running_config(host), J.running_config(host, {rule}))
    assert changed, rule
    assert all(re.search(TOUCHES[rule], ln) for ln in changed), changed


def test_insecure_forms():
    host = "EX-BAD-01"
    hardened = J.running_config(host)
    assert "        telnet;" in J.running_config(host, {"net.telnet_off"}).splitlines()
    assert "            protocol-version [ v1 v2 ];" in J.running_config(host, {"net.ssh_v2_only"}).splitlines()
    assert "    community public {" in J.running_config(host, {"net.snmp_no_default_community"}).splitlines()
    assert "authorization read-write;" in J.running_config(host, {"net.snmp_no_rw_community"})
    assert len(re.findall(r"^ +server ", J.running_config(host, {"net.ntp_two_servers"}), re.M)) <= 1
    assert len(re.findall(r"^ +server ", hardened, re.M)) == 2
    assert "host 10.0.0.4 {" not in J.running_config(host, {"net.remote_syslog"})
    assert hardened.count("authentication {") == 1 + 1  # the login user's and the SNMP user's authentication-sha
    assert "    authentication {" not in J.running_config(host, {"net.aaa_login"}).replace("authentication-sha {", "")
    plain = J.running_config(host, {"net.password_encryption"})
    assert f'encrypted-password "{J.root_plaintext_password(host)}"; ## SECRET-DATA' in plain
    assert "http {" in J.running_config(host, {"net.http_mgmt_off"})
    assert "input PROTECT-RE;" not in J.running_config(host, {"net.vty_acl"})
    assert re.search(r"^ +idle-timeout 10;$", hardened, re.M)
    assert not re.search(r"^ +idle-timeout 10;$", J.running_config(host, {"net.exec_timeout"}), re.M)


def test_variants_differ_by_hostname():
    """The two test hosts fall on different hash variants, so both forms are exercised."""
    ntp = [len(re.findall(r"^ +server ", J.running_config(h, {"net.ntp_two_servers"}), re.M)) for h in HOSTS]
    idle = ["idle-timeout 30;" in J.running_config(h, {"net.exec_timeout"}) for h in HOSTS]
    assert sorted(ntp) == [0, 1] and sorted(idle) == [False, True]


def test_parameters_are_used():
    text = J.running_config("EX-PARAM-01", mgmt_subnet="10.44.5.0/24", model="EX2300-48P", os_version="22.4R3", username="ops")
    lines = text.splitlines()
    assert lines[0].startswith("## Last commit: ") and lines[0].endswith(" by ops")
    assert lines[1] == "version 22.4R3;"
    assert "    host-name EX-PARAM-01;" in lines
    assert "        user ops {" in lines
    assert "        10.44.5.0/24;" in lines
    assert "        member-range ge-0/0/0 to ge-0/0/47;" in lines
    assert "        server 10.44.5.2;" in lines and "        host 10.44.5.4 {" in lines


def test_secrets_are_made_up_per_host():
    a, b = J.running_config("EX-DB-01"), J.running_config("EX-DB-02")
    hashes = re.findall(r'"(\$[69]\$[^"]+)"', a)
    assert len(hashes) == 4 and all(h not in b for h in hashes)
    assert all(re.fullmatch(r"\$6\$[./0-9A-Za-z]{8}\$[./0-9A-Za-z]{86}", h) for h in hashes if h.startswith("$6$"))
    assert all(line.endswith("## SECRET-DATA") for line in a.splitlines() if '"$' in line)


@pytest.mark.parametrize("bad", [{"net.no_such_rule"}, {"net.telnet_off", "net.bogus"}])
def test_unknown_rule_ids_are_refused(bad: set[str]):
    with pytest.raises(ValueError, match=r"unknown rule ids: \["):
        J.running_config("EX-DB-01", bad)


@pytest.mark.parametrize("rule", sorted(J.NOT_APPLICABLE))
def test_not_applicable_rules_are_refused(rule: str):
    with pytest.raises(ValueError, match=r"rules not applicable to juniper_junos \(firewall=False\): \["):
        J.running_config("EX-DB-01", {rule})


def test_firewall_is_refused():
    with pytest.raises(ValueError, match="is_firewall"):
        J.running_config("EX-DB-01", is_firewall=True)
    assert J.applicable_rules(is_firewall=True) == J.applicable_rules(is_firewall=False)  # no firewall rule is read


def test_small_subnet_is_refused():
    with pytest.raises(ValueError, match="too small"):
        J.running_config("EX-DB-01", mgmt_subnet="10.0.0.0/29")


def test_deterministic():
    assert J.running_config("EX-DB-01", APPLICABLE) == J.running_config("EX-DB-01", list(reversed(APPLICABLE)))
    assert J.running_config("EX-DB-01") != J.running_config("EX-DB-02")
    one = J.command_outputs("EX-DB-01", "EX2300-24T", "JW3619AV0123", "21.4R3", J.running_config("EX-DB-01"))
    two = J.command_outputs("EX-DB-01", "EX2300-24T", "JW3619AV0123", "21.4R3", J.running_config("EX-DB-01"))
    assert one == two


def test_display_set_form():
    text = J.running_config("EX-DB-01", {"net.ssh_v2_only"})
    lines = J.display_set(text).splitlines()
    assert lines[0] == "set version 21.4R3"
    assert all(line.startswith("set ") for line in lines)
    assert "set system services ssh protocol-version v1" in lines and "set system services ssh protocol-version v2" in lines
    assert "set interfaces ge-0/1/0 unit 0 family ethernet-switching vlan members MGMT" in lines
    assert not any("#" in line for line in lines)
    leaves = [ln for ln in text.splitlines() if ln.rstrip().endswith(";") or "; ##" in ln]
    assert len(lines) == len(leaves) + 2  # one per leaf; `[ USERS MGMT ]` and `[ v1 v2 ]` give two
    with pytest.raises(ValueError, match="braces"):
        J.display_set("system {\n    host-name x;\n")


@pytest.mark.parametrize("host", HOSTS)
def test_sniff_recognises_both_forms(host: str):
    text = J.running_config(host, APPLICABLE)
    for form in (text, J.display_set(text)):
        assert refusal(form, J.PLATFORM) is None
        assert resemblance(form).best()[0] == J.PLATFORM


def test_outputs_parse_with_ntc_templates():
    host, model, serial, version = "EX-DB-01", "EX2300-24T", "JW3619AV0123", "21.4R3-S5.4"
    config = J.running_config(host, os_version=version)
    out = J.command_outputs(host, model, serial, version, config)
    assert set(out) == {
        "set cli screen-width 511",
        "set cli complete-on-space off",
        "set cli screen-length 0",
        "show version",
        "show chassis hardware",
        "show configuration",
        "show configuration | display set",
    }
    assert out["set cli screen-width 511"] == "Screen width set to 511"
    assert out["set cli complete-on-space off"] == "Disabling complete-on-space"
    assert out["set cli screen-length 0"] == "Screen length set to 0"
    assert out["show configuration"] == config
    assert out["show configuration | display set"] == J.display_set(config)

    [ver] = parse_output(platform="juniper_junos", command="show version", data=out["show version"])
    assert (ver["hostname"], ver["model"], ver["junos_version"]) == (host, model.lower(), version)
    hardware = parse_output(platform="juniper_junos", command="show chassis hardware", data=out["show chassis hardware"])
    assert [row["chassis_serial_number"] for row in hardware if row["chassis_serial_number"]] == [serial]
    assert [row["chassis_description"] for row in hardware if row["chassis_serial_number"]] == [model]
