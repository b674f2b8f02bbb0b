"""The ArubaOS-Switch parser: facts of the golden configs, fail-closed defaults, masking, hostile input."""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import pytest

from collectors.lab.spec import NETWORK_CONFIG_RULES
from compliance.configcheck import check_config_text
from compliance.configparse import MASK, parse_config
from compliance.configparse.aruba_osswitch import mask_aruba_line, parse_aruba_osswitch
from compliance.policy import Policy, load_policy

GOLDEN = Path(__file__).parent / "golden" / "aruba_osswitch"
CASES = sorted(p.parent for p in GOLDEN.glob("*/running-config.txt"))
# The made-up secrets of the golden configs: none may reach evidence or an unreadable line.
SECRETS = (
    "8c1f2e7a4b90d3c65e21f7a08b4d9c3e61a7f205",
    "d41b7e0c92f5a36b8e1c4d70f2a9b5e83c6d1f47",
    "Qm9aT3J4cGQ3V2ZzSGtMbU4yVnI1Yz0=",
    "U2t4dE1xT3ZkN0p3WnA5YzJi",
    "QmM4cjFOc0V6bTZ0WXcyVWhh",
    "radius123",
    "monitor123",
)
HEADER = "Running configuration:\n\n; J9773A Configuration Editor; Created on release #YA.16.11.0015\n"
WHOLE = HEADER + 'hostname "SW1"\nmodule 1 type j9773a\n'


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def _text(case: str) -> str:
    return (GOLDEN / case / "running-config.txt").read_text(encoding="utf-8")


def _lines(evidence: tuple) -> list[int]:
    return [line.number for line in evidence]


def _outcomes(text: str, policy: Policy) -> dict:
    return {o.rule_id: o for o in check_config_text(text, "aruba_osswitch", policy, "access_switch")}


def test_hardened_facts() -> None:
    facts = parse_aruba_osswitch(_text("a2530_hardened"))
    assert facts.platform == "aruba_osswitch"
    assert (facts.hostname.value, _lines(facts.hostname.evidence)) == ("SW-SOTTT-ACC03", [5])
    assert (facts.os_version.value, _lines(facts.os_version.evidence)) == ("YA.16.11.0015", [3])
    assert (facts.telnet_enabled.value, _lines(facts.telnet_enabled.evidence)) == (False, [11])
    assert (facts.http_server.value, _lines(facts.http_server.evidence)) == (False, [13])
    assert (facts.https_server.value, _lines(facts.https_server.evidence)) == (True, [12])
    assert facts.snmp_communities == ()
    ((group),) = facts.snmp_v3
    assert (group.kind, group.name, group.security_level, _lines(group.evidence)) == ("group", "managerpriv (nms01)", "priv", [30])
    assert (facts.ntp_servers.value, _lines(facts.ntp_servers.evidence)) == (("10.20.99.5", "10.20.99.6"), [23, 25, 26])
    assert (facts.syslog_hosts.value, _lines(facts.syslog_hosts.evidence)) == (("10.20.99.10", "10.20.99.11"), [16, 17])
    assert (facts.aaa_login.value, _lines(facts.aaa_login.evidence)) == (True, [9, 19, 21, 59])
    assert (facts.enable_secret.value, _lines(facts.enable_secret.evidence)) == (True, [59, 60])
    assert [(a.name, a.secret, a.profile) for a in facts.admins] == [("netadmin", "hashed", "manager"), ("noc", "hashed", "operator")]
    assert (facts.password_encryption.value, _lines(facts.password_encryption.evidence)) == (True, [10, 18])
    ((access),) = facts.mgmt_access
    assert (access.restricted, _lines(access.evidence)) == (True, [14])
    assert [(t.name, t.minutes, _lines(t.evidence)) for t in facts.session_timeouts] == [
        ("console idle-timeout", 10.0, [7]),
        ("console idle-timeout serial-usb", 10.0, [8]),
    ]
    # The SSH version is never a pass: no 16.x statement selects it.
    assert [(u.kind, u.line.number) for u in facts.unreadable] == [("ssh_version", 0)]


def test_insecure_facts() -> None:
    facts = parse_aruba_osswitch(_text("a2530_insecure"))
    assert (facts.telnet_enabled.value, facts.telnet_enabled.evidence) == (True, ())
    assert (facts.http_server.value, facts.http_server.evidence) == (True, ())
    assert [(c.name, c.access, _lines(c.evidence)) for c in facts.snmp_communities] == [("public", "RW", [13]), ("public", "RO", [14])]
    ((group),) = facts.snmp_v3
    assert (group.security_level, _lines(group.evidence)) == ("auth", [17])
    assert (facts.ntp_servers.value, _lines(facts.ntp_servers.evidence)) == (("192.168.1.1",), [10, 12])
    assert facts.syslog_hosts.value == ()
    assert (facts.aaa_login.value, _lines(facts.aaa_login.evidence)) == (False, [7])
    assert [(a.name, a.secret) for a in facts.admins] == [("manager", "none")]
    assert (facts.password_encryption.value, _lines(facts.password_encryption.evidence)) == (False, [9, 16])
    ((access),) = facts.mgmt_access
    assert (access.restricted, access.evidence) == (False, ())
    assert [(t.minutes, t.explicit) for t in facts.session_timeouts] == [(0.0, False)]


def test_sparse_is_a_fragment() -> None:
    facts = parse_aruba_osswitch(_text("a2530_sparse"))
    assert (facts.ntp_servers.value, _lines(facts.ntp_servers.evidence)) == (("10.21.99.5",), [38])
    assert (facts.syslog_hosts.value, _lines(facts.syslog_hosts.evidence)) == (("10.21.99.10",), [39])
    assert all(u.line.number == 0 for u in facts.unreadable)
    assert {u.kind for u in facts.unreadable} == {
        "ssh_version", "vty_transport", "http_server", "vty_access_class", "session_timeout", "snmp_community", "snmp_v3",
        "aaa_login", "enable_secret", "password_storage",
    }  # fmt: skip


@pytest.mark.parametrize("rule_id", NETWORK_CONFIG_RULES)
def test_every_rule_passes_and_fails_somewhere(rule_id: str) -> None:
    seen = set()
    for case in CASES:
        rule = json.loads((case / "expected.json").read_text(encoding="utf-8"))["rules"].get(rule_id)
        if rule is not None:
            seen.add(rule["passed"])
    if rule_id == "net.fw_default_deny":  # access switches only: the rule does not apply
        assert seen == set()
    elif rule_id == "net.ssh_v2_only":  # no statement selects the version: never evaluated
        assert seen == {None}
    else:
        assert {True, False} <= seen, rule_id


@pytest.mark.parametrize("case", ["a2530_hardened", "a2530_insecure", "a2530_sparse"])
def test_no_secret_in_facts_or_outcomes(case: str, policy: Policy) -> None:
    text = _text(case)
    facts = parse_aruba_osswitch(text)
    shown = repr(facts) + repr(facts.unreadable) + repr([(o.actual, o.evidence) for o in _outcomes(text, policy).values()])
    for secret in SECRETS:
        assert secret not in shown


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ('password manager user-name "a" plaintext "Hunter2x"', f'password manager user-name "a" plaintext {MASK}'),
        ('password operator sha256 "abcd"', f"password operator sha256 {MASK}"),
        ('tacacs-server host 10.0.0.1 key "T4cKey"', f"tacacs-server host 10.0.0.1 key {MASK}"),
        ('radius-server key "GlobalK"', f"radius-server key {MASK}"),
        ('snmpv3 user "u" auth sha "A1" priv aes "P1"', f'snmpv3 user "u" auth sha {MASK} priv aes {MASK}'),
        ('snmp-server community "S3cretC" operator unrestricted', f"snmp-server community {MASK} operator unrestricted"),
        ('snmp-server host 10.0.0.9 community "S3cretC"', f"snmp-server host 10.0.0.9 community {MASK}"),
        ('snmp-server community "public" unrestricted', 'snmp-server community "public" unrestricted'),
        ("sntp authentication key-id 1 authentication-mode md5 key-value Ntp1Key", f"sntp authentication key-id 1 authentication-mode md5 key-value {MASK}"),
        ('radius-server host 10.0.0.1 key "cut in the midd', f"radius-server host 10.0.0.1 key {MASK}"),
    ],
)
def test_masking(line: str, masked: str) -> None:
    assert mask_aruba_line(line) == masked


def test_plaintext_password_and_secret_community_fail_masked(policy: Policy) -> None:
    text = WHOLE + 'include-credentials\npassword manager user-name "a" plaintext "Hunter2x"\nsnmp-server community "S3cretC" manager unrestricted\n'
    facts = parse_aruba_osswitch(text)
    # The community name stays in the facts (the checks compare it) but never in evidence or a report.
    assert "Hunter2x" not in repr(facts) and "S3cretC" not in repr([c.evidence for c in facts.snmp_communities])
    out = _outcomes(text, policy)
    assert out["net.password_encryption"].passed is False
    assert out["net.password_encryption"].evidence == [f'7: password manager user-name "a" plaintext {MASK}']
    assert out["net.enable_secret"].passed is False
    assert out["net.snmp_no_rw_community"].passed is False and out["net.snmp_v3_only"].passed is False
    assert out["net.snmp_no_default_community"].passed is True  # a community, but not a default name
    assert "S3cretC" not in repr(out)


def test_community_without_access_keyword_is_never_passed(policy: Policy) -> None:
    facts = parse_aruba_osswitch(WHOLE + 'snmp-server community "n0tDefault"\n')
    assert [(u.kind, u.line.number) for u in facts.unreadable if u.line.number] == [("snmp_community", 6)]
    assert "n0tDefault" not in repr(facts.unreadable)
    assert _outcomes(WHOLE + 'snmp-server community "n0tDefault"\n', policy)["net.snmp_no_rw_community"].passed is None


def test_time_protocol_decides_which_servers_count(policy: Policy) -> None:
    servers = "sntp server priority 1 10.0.0.1\nsntp server priority 2 10.0.0.2\nntp server 10.0.0.3\n"
    assert parse_aruba_osswitch(WHOLE + "timesync ntp\n" + servers).ntp_servers.value == ("10.0.0.3",)
    assert parse_aruba_osswitch(WHOLE + "timesync sntp\n" + servers).ntp_servers.value == ("10.0.0.1", "10.0.0.2")
    # No `timesync`: enough servers, but which protocol runs is unknown: not evaluated, never passed.
    assert _outcomes(WHOLE + servers, policy)["net.ntp_two_servers"].passed is None


def test_management_and_timeout_variants() -> None:
    facts = parse_aruba_osswitch(WHOLE + "ip authorized-managers 0.0.0.0 0.0.0.0 access manager\nno web-management\nconsole inactivity-timer 5\n")
    assert [a.restricted for a in facts.mgmt_access] == [False]
    assert (facts.http_server.value, facts.https_server.value) == (False, False)
    assert [t.minutes for t in facts.session_timeouts] == [5.0]
    bad = parse_aruba_osswitch(WHOLE + "console idle-timeout soon\n")
    assert math.isnan(bad.session_timeouts[0].minutes)
    assert [(u.kind, u.line.number) for u in bad.unreadable if u.line.number] == [("session_timeout", 6)]
    assert parse_aruba_osswitch(WHOLE + "telnet-server\n").telnet_enabled.value is True


def test_weak_snmpv3_user_caps_its_group() -> None:
    facts = parse_aruba_osswitch(WHOLE + 'snmpv3 user "u1" auth sha "k"\nsnmpv3 group managerpriv user "u1" sec-model ver3\n')
    assert [(p.security_level, _lines(p.evidence)) for p in facts.snmp_v3] == [("auth", [6, 7])]


def test_no_credentials_leaves_password_rules_not_evaluated(policy: Policy) -> None:
    text = WHOLE + "no telnet-server\nno web-management plaintext\n"
    out = _outcomes(text, policy)
    for rule_id in ("net.aaa_login", "net.enable_secret", "net.password_encryption"):
        assert out[rule_id].passed is None, (rule_id, out[rule_id].actual)
        assert "include-credentials" in out[rule_id].actual
    assert out["net.telnet_off"].passed is True and out["net.http_mgmt_off"].passed is True


def test_fragment_absent_statements_are_not_evaluated_never_passed(policy: Policy) -> None:
    fragment = "no telnet-server\nlogging 10.0.0.5\nsntp server priority 1 10.0.0.1\nsntp server priority 2 10.0.0.2\ntimesync sntp\n"
    out = _outcomes(fragment, policy)
    assert out["net.telnet_off"].passed is True  # present statements decide
    assert out["net.remote_syslog"].passed is True and out["net.ntp_two_servers"].passed is True
    for rule_id in (
        "net.snmp_v3_only",
        "net.snmp_no_default_community",
        "net.snmp_no_rw_community",
        "net.http_mgmt_off",
        "net.vty_acl",
        "net.exec_timeout",
        "net.aaa_login",
        "net.enable_secret",
        "net.password_encryption",
        "net.ssh_v2_only",
    ):
        assert out[rule_id].passed is None, (rule_id, out[rule_id].actual)
        assert "not evaluated" in out[rule_id].actual
    # The same statements in a whole configuration: the insecure defaults are verdicts.
    whole = _outcomes(WHOLE + fragment, policy)
    assert whole["net.http_mgmt_off"].passed is False and whole["net.vty_acl"].passed is False and whole["net.exec_timeout"].passed is False


def _hostile_inputs() -> list[str]:
    rng = random.Random(14)
    hardened = _text("a2530_hardened")
    return [
        "",
        "\n\n\n",
        "; only a comment\n; another\n",
        bytes(rng.randrange(256) for _ in range(20000)).decode("latin-1"),
        "snmp-server community " + "x" * 5_000_000,
        "logging " + '"' * 1000 + "\n",
        hardened[: len(hardened) // 2],
        hardened[: hardened.index("encrypted-key") + 20],  # cut inside a quoted key
        "vlan 1\n" * 50_000 + "   " * 10_000 + "exit\n",
        (  # every statement the parser reads, cut short
            "no\nno no no\nip\nip authorized-managers\nsnmpv3 group\nsnmpv3 user\npassword\npassword manager user-name\n"
            "console idle-timeout\nconsole idle-timeout serial-usb\nsntp server\nsntp server priority\nntp server\ntimesync\n"
            "hostname\nweb-management\naaa authentication\nsnmp-server host 1.2.3.4 community\n"
        ),
        "\x00\r\n\u2028hostname \u00e9\r\nmodule\x0b\n",
    ]


@pytest.mark.parametrize("text", _hostile_inputs(), ids=range(len(_hostile_inputs())))
def test_hostile_input_never_raises(text: str, policy: Policy) -> None:
    facts = parse_config(text, "aruba_osswitch")
    assert facts.platform == "aruba_osswitch"
    _outcomes(text, policy)  # the checks never raise on what the parser gives


def test_a_700_kb_config_parses_fast() -> None:
    block = "".join(f'interface {n}\n   name "PORT-{n}"\n   untagged vlan 10\n   exit\nvlan {n}\n   name "V{n}"\n   tagged 25-28\n   no ip address\n   exit\n' for n in range(1, 9))
    text = _text("a2530_hardened")
    text += block * (700_000 // len(block))
    assert len(text) >= 690_000
    start = time.perf_counter()
    facts = parse_aruba_osswitch(text)
    elapsed = time.perf_counter() - start
    print(f"aruba_osswitch: {len(text)} bytes parsed in {elapsed * 1000:.1f} ms")
    assert facts.telnet_enabled.value is False
    assert elapsed < 1.0


def test_banner_lines_are_not_statements(policy: Policy) -> None:
    text = WHOLE + 'banner motd "Authorized use only\nlogging 10.9.9.9\nno telnet-server"\nlogging 10.0.0.5\n'
    facts = parse_aruba_osswitch(text)
    assert facts.syslog_hosts.value == ("10.0.0.5",) and facts.telnet_enabled.value is True
    # A quote never closed (a cut file) hides the rest: no rule passes on what was read before it.
    cut = parse_aruba_osswitch(WHOLE + 'no telnet-server\nradius-server host 10.0.0.1 key "S3cr\nlogging 10.0.0.5\n')
    ((structure),) = [u for u in cut.unreadable if u.line.number]
    assert (structure.kind, structure.line.number) == ("config_structure", 7) and "S3cr" not in repr(structure)
    out = _outcomes(WHOLE + 'no telnet-server\nradius-server host 10.0.0.1 key "S3cr\n', policy)
    assert out["net.telnet_off"].passed is None


def test_unknown_password_form_and_keys_only_credentials(policy: Policy) -> None:
    text = WHOLE + "include-credentials\npassword manager user-name a md5 x\n"
    out = _outcomes(text, policy)
    assert out["net.aaa_login"].passed is True  # a manager password exists
    assert out["net.enable_secret"].passed is None and out["net.password_encryption"].passed is None
    keys_only = _outcomes(WHOLE + "include-credentials radius-tacacs-only\n", policy)
    assert keys_only["net.aaa_login"].passed is None and keys_only["net.enable_secret"].passed is None
