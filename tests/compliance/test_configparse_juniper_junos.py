"""The juniper_junos parser: facts of the golden configs in both renderings, rules that pass and
fail, secrets kept out of facts, hostile input, fragments, and speed."""

from __future__ import annotations

import json
import math
import random
import re
import time
from pathlib import Path

import pytest

from collectors.lab.spec import NETWORK_CONFIG_RULES
from compliance.configcheck import check_config_text
from compliance.configparse import NetworkConfigFacts, parse_config
from compliance.configparse.juniper_junos import parse_juniper_junos
from compliance.policy import Policy, load_policy

GOLDEN = Path(__file__).parent / "golden" / "juniper_junos"
CASES = sorted(p.parent.name for p in GOLDEN.glob("*/running-config.txt"))


def _text(case: str) -> str:
    return (GOLDEN / case / "running-config.txt").read_text(encoding="utf-8")


def _facts(case: str) -> NetworkConfigFacts:
    return parse_juniper_junos(_text(case))


def _numbers(evidence: tuple) -> list[int]:
    return [line.number for line in evidence]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def _verdicts(text: str, policy: Policy, device_class: str = "access_switch") -> dict[str, bool | None]:
    return {o.rule_id: o.passed for o in check_config_text(text, "juniper_junos", policy, device_class)}


# --- facts of the golden configs -------------------------------------------------------------


def test_hardened_hierarchical_facts() -> None:
    f = _facts("ex_hardened_hierarchical")
    assert f.platform == "juniper_junos"
    assert (f.hostname.value, _numbers(f.hostname.evidence)) == ("EX2300-SOTTT-ACC01", [4])
    assert (f.os_version.value, _numbers(f.os_version.evidence)) == ("21.4R3-S5.4", [2])
    assert (f.telnet_enabled.value, _numbers(f.telnet_enabled.evidence)) == (False, [21])
    assert (f.ssh_versions.value, _numbers(f.ssh_versions.evidence)) == ((2,), [24])
    assert f.snmp_communities == ()
    assert [(p.kind, p.name, p.security_level, _numbers(p.evidence)) for p in f.snmp_v3] == [
        ("user", "nms01", "priv", [74, 78]),
        ("group", "NMS-PRIV", "priv", [96]),
    ]
    assert (f.ntp_servers.value, _numbers(f.ntp_servers.evidence)) == (("10.20.99.5", "10.20.99.6"), [37, 38])
    assert (f.syslog_hosts.value, _numbers(f.syslog_hosts.evidence)) == (("10.20.99.10",), [28])
    assert [(a.name, a.secret, a.profile, _numbers(a.evidence)) for a in f.admins] == [
        ("root", "hashed", "super-user", [5, 6]),
        ("netadmin", "hashed", "NETADMIN", [13, 17]),
    ]
    assert f.aaa_login.value is True and f.enable_secret.value is None
    assert (f.password_encryption.value, _numbers(f.password_encryption.evidence)) == (True, [6, 17])
    assert (f.http_server.value, f.https_server.value) == (False, False)
    assert [(a.name, a.restricted) for a in f.mgmt_access] == [("ssh", True), ("snmp", True)]
    assert _numbers(f.mgmt_access[0].evidence) == [59, 63, 117, 110, 111, 143, 146]
    assert [(t.name, t.minutes, t.explicit, _numbers(t.evidence)) for t in f.session_timeouts] == [("user netadmin (class NETADMIN)", 10.0, True, [9, 10, 15])]
    assert {u.kind for u in f.unreadable} == {"acl_binding"}  # SRX policies: not read yet


def test_hardened_set_facts() -> None:
    f = _facts("ex_hardened_set")
    assert (f.hostname.value, f.os_version.value) == ("EX2300-SOTTT-ACC01", "21.4R3-S5.4")
    assert (f.telnet_enabled.value, _numbers(f.telnet_enabled.evidence)) == (False, [9])
    assert (f.ssh_versions.value, _numbers(f.ssh_versions.evidence)) == ((2,), [10])
    assert [(p.name, p.security_level, _numbers(p.evidence)) for p in f.snmp_v3] == [("nms01", "priv", [23]), ("NMS-PRIV", "priv", [25])]
    assert _numbers(f.ntp_servers.evidence) == [14, 15]
    assert (f.syslog_hosts.value, _numbers(f.syslog_hosts.evidence)) == (("10.20.99.10",), [11])
    assert [(a.name, _numbers(a.evidence)) for a in f.admins] == [("root", [3]), ("netadmin", [8])]
    assert _numbers(f.mgmt_access[0].evidence) == [20, 28, 27, 39]
    assert _numbers(f.session_timeouts[0].evidence) == [4, 7]


def test_insecure_facts_in_both_forms() -> None:
    hier, flat = _facts("ex_insecure_hierarchical"), _facts("ex_insecure_set")
    for f in (hier, flat):
        assert f.telnet_enabled.value and f.ssh_versions.value == (1, 2) and f.http_server.value
        assert [(c.name, c.access) for c in f.snmp_communities] == [("public", "RO"), ("private", "RW")]
        assert f.syslog_hosts.value == () and f.ntp_servers.value == ("192.168.1.1",)
        assert [(a.name, a.secret) for a in f.admins] == [("root", "hashed"), ("admin", "hashed"), ("vendor", "none")]
        assert not f.aaa_login.value
        assert [(a.name, a.restricted) for a in f.mgmt_access] == [("ssh", False), ("telnet", False), ("http", False), ("snmp", False)]
        assert [t.minutes for t in f.session_timeouts] == [0.0, 0.0]
    assert _numbers(hier.telnet_enabled.evidence) == [26] and _numbers(flat.telnet_enabled.evidence) == [12]
    assert _numbers(hier.ssh_versions.evidence) == [24] and _numbers(flat.ssh_versions.evidence) == [10, 11]
    assert [_numbers(c.evidence) for c in hier.snmp_communities] == [[84], [87, 88]]
    assert [_numbers(c.evidence) for c in flat.snmp_communities] == [[23], [24]]
    assert _numbers(hier.aaa_login.evidence) == [16] and _numbers(flat.aaa_login.evidence) == [7, 8]
    assert _numbers(hier.http_server.evidence) == [27, 28] and _numbers(flat.http_server.evidence) == [13]
    assert [_numbers(t.evidence) for t in hier.session_timeouts] == [[11], [18]]


def test_sparse_facts_are_a_fragment() -> None:
    for case, ssh_line, ntp_line in (("ex_sparse_hierarchical", 4, 7), ("ex_sparse_set", 2, 3)):
        f = _facts(case)
        assert f.os_version.value is None
        assert (f.ntp_servers.value, _numbers(f.ntp_servers.evidence)) == (("10.21.99.5",), [ntp_line])
        by_kind = {u.kind: u for u in f.unreadable}
        assert f"line {ssh_line}:" in by_kind["ssh_version"].reason
        for kind in ("vty_transport", "snmp_community", "snmp_v3", "syslog_host", "admin_account", "password_storage", "http_server", "vty_access_class", "session_timeout"):
            assert by_kind[kind].line.number == 0, kind


@pytest.mark.parametrize("pair", ["ex_hardened", "ex_insecure", "ex_sparse"])
def test_both_renderings_give_the_same_verdicts(pair: str, policy: Policy) -> None:
    assert _verdicts(_text(f"{pair}_hierarchical"), policy) == _verdicts(_text(f"{pair}_set"), policy)


# --- every rule passes and fails somewhere -----------------------------------------------------

# A device-written Junos config has no plaintext password; enable mode does not exist.
NO_FAILING_GOLDEN = {"net.password_encryption"}


@pytest.mark.parametrize("rule_id", NETWORK_CONFIG_RULES)
def test_every_rule_passes_and_fails_in_the_golden_cases(rule_id: str) -> None:
    seen = set()
    for case in CASES:
        rule = json.loads((GOLDEN / case / "expected.json").read_text(encoding="utf-8"))["rules"].get(rule_id)
        if rule is not None:
            seen.add(rule["passed"])
    if rule_id == "net.enable_secret":
        assert seen == {None}
    elif rule_id in NO_FAILING_GOLDEN:
        assert True in seen
    elif rule_id != "net.fw_default_deny":  # access switches only
        assert {True, False} <= seen, f"{rule_id}: {seen}"


def test_a_hand_edited_plaintext_password_fails(policy: Policy) -> None:
    text = _text("ex_hardened_set").replace('encrypted-password "$6$Vb7cNz1q$Lp4sX9', 'encrypted-password "Plain2026Text', 1)
    f = parse_juniper_junos(text)
    assert (f.password_encryption.value, _numbers(f.password_encryption.evidence)) == (False, [8])
    assert _verdicts(text, policy)["net.password_encryption"] is False
    assert "Plain2026Text" not in repr(f)


def test_fw_default_deny_is_not_evaluated_on_a_router(policy: Policy) -> None:
    assert _verdicts(_text("ex_hardened_set"), policy, "router")["net.fw_default_deny"] is None


# --- behaviour beyond the golden cases --------------------------------------------------------

HEAD = 'set version 21.4R3\nset system root-authentication encrypted-password "$6$abc$def"\n'


def test_ssh_default_follows_the_release() -> None:
    old = parse_juniper_junos(HEAD.replace("21.4R3", "10.4R1") + "set system services ssh\n")
    new = parse_juniper_junos(HEAD + "set system services ssh\n")
    assert (old.ssh_versions.value, _numbers(old.ssh_versions.evidence)) == ((1, 2), [1, 3])
    assert new.ssh_versions.value == (2,) and not new.unreadable[:-1]


def test_inactive_and_deactivated_statements_are_ignored() -> None:
    hier = parse_juniper_junos("version 21.4R3;\nsystem {\n    services {\n        inactive: telnet;\n        inactive: web-management {\n            http;\n        }\n    }\n}\n")
    flat = parse_juniper_junos(HEAD + "set system services telnet\ndeactivate system services telnet\n")
    assert not hier.telnet_enabled.value and not hier.http_server.value
    assert not flat.telnet_enabled.value


def test_a_filter_term_accepting_any_source_leaves_ssh_open() -> None:
    text = (
        HEAD + "set system services ssh\n"
        "set interfaces lo0 unit 0 family inet filter input RE\n"
        "set firewall family inet filter RE term SSH from protocol tcp\n"
        "set firewall family inet filter RE term SSH from destination-port ssh\n"
        "set firewall family inet filter RE term SSH then accept\n"
        "set firewall family inet filter RE term LAST then discard\n"
    )
    access = parse_juniper_junos(text).mgmt_access
    assert [(a.name, a.restricted) for a in access] == [("ssh", False)]
    no_discard = parse_juniper_junos(
        HEAD
        + "set system services ssh\nset interfaces lo0 unit 0 family inet filter input RE\n"
        + "set firewall family inet filter RE term A from source-address 10.0.0.0/8\nset firewall family inet filter RE term A then accept\n"
    )
    # Every filter ends in an implicit discard: a source-restricted accept is enough.
    assert [(a.name, a.restricted, a.detail) for a in no_discard.mgmt_access] == [("ssh", True, "accepted only by term(s) A, then the implicit discard")]


def test_idle_timeout_missing_or_invalid_fails() -> None:
    base = HEAD + 'set system login user ops class OPS\nset system login user ops authentication encrypted-password "$6$x$y"\n'
    none = parse_juniper_junos(base + "set system login class OPS permissions view\n").session_timeouts
    bad = parse_juniper_junos(base + "set system login class OPS idle-timeout ten\n").session_timeouts
    assert [(t.minutes, t.explicit) for t in none] == [(0.0, False)]
    assert math.isnan(bad[0].minutes)


def test_apply_groups_are_not_read_silently() -> None:
    f = parse_juniper_junos(HEAD + "set groups G system services telnet\nset apply-groups G\n")
    assert [u.kind for u in f.unreadable if u.line.number] == ["config_structure"]


# --- secrets ---------------------------------------------------------------------------------

_SECRET = re.compile(r'"(\$[^"]+)"')


@pytest.mark.parametrize("case", CASES)
def test_no_secret_in_facts(case: str) -> None:
    text = _text(case)
    secrets = {s for s in _SECRET.findall(text)}
    facts = parse_juniper_junos(text)
    shown = repr(facts) + repr(facts.unreadable) + "".join(str(u) for u in facts.unreadable)
    for secret in secrets:
        assert secret not in shown
        assert secret[4:20] not in shown


def test_secret_in_an_unreadable_line_is_masked() -> None:
    f = parse_juniper_junos('version 21.4;\nsystem {\n    radius-server 10.0.0.1 {\n        secret "$9$TopSecretRadiusKey')  # cut inside the value
    shown = repr(f.unreadable) + "".join(str(u) for u in f.unreadable)
    assert "config_structure" in shown and "TopSecretRadiusKey" not in shown
    community = parse_juniper_junos(HEAD + "set snmp community N0tPublic99 authorization read-only\n")
    assert "N0tPublic99" not in "".join(str(line) for c in community.snmp_communities for line in c.evidence)


# --- hostile input -----------------------------------------------------------------------------

HOSTILE = {
    "empty": "",
    "only comments": "## Last commit: today\n# a comment\n/* annotation\n   more */\n",
    "random bytes": bytes(random.Random(7).randrange(256) for _ in range(200_000)).decode("latin-1"),
    "5 MB one line": "set system services " + "x" * 5_000_000,
    "5 MB braces one line": "system { " * 1000 + "a;" * 1_000_000,
    "deep nesting": "a {\n" * 200_000,
    "stray closing braces": "}\n" * 1000 + "version 21.4;\n",
    "unclosed quote": 'version 21.4;\nsystem {\n    host-name "sw1;\n}\n',
    "brackets only": "[ [ ] ] ; ; { } }",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_input_never_raises(name: str, policy: Policy) -> None:
    facts = parse_config(HOSTILE[name], "juniper_junos")
    assert facts.platform == "juniper_junos"
    verdicts = _verdicts(HOSTILE[name], policy)
    assert True not in verdicts.values(), name  # nothing here is a configuration that passes a rule


def test_a_cut_file_is_flagged() -> None:
    text = _text("ex_hardened_hierarchical")
    cut = text[: text.index("firewall {") + 40]
    f = parse_juniper_junos(cut)
    assert any(u.kind == "config_structure" for u in f.unreadable)


def test_deep_nesting_is_refused_quickly() -> None:
    start = time.perf_counter()
    f = parse_juniper_junos("a {\n" * 200_000 + "b;\n" * 200_000)
    assert time.perf_counter() - start < 2
    assert any(u.kind == "config_structure" for u in f.unreadable)


# --- fragments ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["ex_sparse_hierarchical", "ex_sparse_set"])
def test_fragment_absent_statements_are_not_evaluated(case: str, policy: Policy) -> None:
    verdicts = _verdicts(_text(case), policy)
    assert True not in verdicts.values()
    assert verdicts["net.ntp_two_servers"] is False  # a statement that is there still decides
    assert [r for r, v in verdicts.items() if v is None and r != "net.enable_secret"] == [r for r in verdicts if r not in ("net.ntp_two_servers", "net.enable_secret")]


def test_fragment_with_present_statements_still_decides(policy: Policy) -> None:
    verdicts = _verdicts("set system syslog host 10.0.0.9 any any\nset system services telnet\n", policy)
    assert verdicts["net.telnet_off"] is False
    assert verdicts["net.remote_syslog"] is True


# --- speed -------------------------------------------------------------------------------------


def _big_config() -> str:
    parts = [_text("ex_hardened_hierarchical")]
    index = 0
    while sum(len(p) for p in parts) < 700 * 1024:
        index += 1
        parts.append(
            f'interfaces {{\n    ge-0/0/{index} {{\n        description "user port {index}";\n        unit 0 {{\n'
            f"            family ethernet-switching {{\n                vlan {{\n                    members [ USERS VOICE ];\n"
            f"                }}\n            }}\n        }}\n    }}\n}}\nfirewall {{\n    family inet {{\n        filter F{index} {{\n"
            f"            term T{index} {{\n                from {{\n                    source-address {{\n                        10.{index % 250}.0.0/16;\n"
            f"                    }}\n                }}\n                then accept;\n            }}\n        }}\n    }}\n}}\n"
        )
    return "".join(parts)


def test_700_kb_parses_fast() -> None:
    text = _big_config()
    assert len(text) >= 700 * 1024
    parse_juniper_junos(text)  # warm-up
    start = time.perf_counter()
    facts = parse_juniper_junos(text)
    elapsed = time.perf_counter() - start
    print(f"\njuniper_junos: {len(text) // 1024} KB parsed in {elapsed * 1000:.1f} ms")
    assert elapsed < 1.0
    assert facts.ntp_servers.value == ("10.20.99.5", "10.20.99.6")
    flat = "\n".join(f"set interfaces ge-0/0/{i} unit 0 family ethernet-switching vlan members USERS" for i in range(10_000))
    start = time.perf_counter()
    parse_juniper_junos(_text("ex_hardened_set") + flat)
    print(f"juniper_junos: {len(flat) // 1024} KB of set lines parsed in {(time.perf_counter() - start) * 1000:.1f} ms")


def _lo0(*terms: str) -> str:
    lines = [f"set firewall family inet filter RE term {t}" for t in terms]
    return HEAD + "set system services ssh\nset interfaces lo0 unit 0 family inet filter input RE\n" + "\n".join(lines) + "\n"


def test_filter_terms_weighed_like_junos() -> None:
    established = parse_juniper_junos(_lo0("EST from protocol tcp", "EST from tcp-established", "EST then accept", "END then reject tcp-reset"))
    either_way = parse_juniper_junos(_lo0("P from prefix-list MGMT", "P then accept", "END then discard") + "set policy-options prefix-list MGMT 10.0.0.0/8\n")
    any_source = parse_juniper_junos(_lo0("A from source-address 0.0.0.0/0", "A then accept", "END then discard"))
    assert [a.restricted for a in established.mgmt_access] == [True]  # return traffic only, then reject
    assert [a.restricted for a in either_way.mgmt_access] == [False]  # source OR destination: not a source limit
    assert [a.restricted for a in any_source.mgmt_access] == [False]


def test_syslog_to_the_other_routing_engine_is_not_remote() -> None:
    f = parse_juniper_junos(HEAD + "set system syslog host other-routing-engine any any\nset system syslog host 10.0.0.9 any any\n")
    assert f.syslog_hosts.value == ("10.0.0.9",)


@pytest.mark.parametrize("case", ["ex_hardened_hierarchical", "ex_hardened_set"])
def test_bom_and_crlf_read_the_same(case: str, policy: Policy) -> None:
    text = _text(case)
    assert _verdicts("\ufeff" + text.replace("\n", "\r\n"), policy) == _verdicts(text, policy)


def test_a_damaged_hash_is_still_masked() -> None:
    text = _text("ex_hardened_hierarchical").replace('encrypted-password "$6$Vb7c', "6$Vb7c", 1).replace("## SECRET-DATA", "", 1)
    f = parse_juniper_junos(text)
    shown = repr(f) + repr(f.unreadable)
    assert "Vb7cNz1q" not in shown and "Lp4sX9wKe2" not in shown


def test_an_empty_fragment_passes_nothing_and_fails_only_what_it_has(policy: Policy) -> None:
    verdicts = _verdicts("set system host-name sw9\n", policy)
    assert set(verdicts.values()) == {None}  # nothing present: every rule not evaluated (enable_secret: n/a)
    assert _verdicts("set system host-name sw9\nset system ntp server 10.0.0.1\n", policy)["net.ntp_two_servers"] is False


def test_the_cli_context_line_of_a_pasted_session_is_not_a_statement() -> None:
    """An EX prints `{master:0}` above its prompt; a config copied from a session carries it."""
    from compliance.configcheck import check_config_text
    from compliance.policy import load_policy

    base = (GOLDEN / "ex_hardened_hierarchical" / "running-config.txt").read_text(encoding="utf-8")
    verdicts = {o.rule_id: o.passed for o in check_config_text(base, "juniper_junos", load_policy(), "access_switch")}
    pasted = {o.rule_id: o.passed for o in check_config_text("{master:0}\n" + base + "\n{master:0}\n", "juniper_junos", load_policy(), "access_switch")}
    assert pasted == verdicts and None not in {v for r, v in verdicts.items() if r != "net.enable_secret"}
