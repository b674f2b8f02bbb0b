"""The huawei_vrp parser: facts of the golden configs, masking, fragments, hostile input, speed."""

from __future__ import annotations

import json
import math
import random
import re
import time
from pathlib import Path

import pytest

from compliance.configcheck import check_config_facts, check_config_text
from compliance.configparse import MASK, NetworkConfigFacts, parse_config
from compliance.configparse.huawei_vrp import parse_huawei_vrp
from compliance.policy import Policy, load_policy

GOLDEN = Path(__file__).parent / "golden" / "huawei_vrp"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "running-config.txt").exists())
DEVICE_CLASS = {"s5735": "access_switch", "usg6000": "firewall"}


def _text(case: str) -> str:
    return (GOLDEN / case / "running-config.txt").read_text(encoding="utf-8")


def _facts(case: str) -> NetworkConfigFacts:
    return parse_config(_text(case), "huawei_vrp")


def _numbers(evidence) -> list[int]:
    return [line.number for line in evidence]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def test_cases_are_the_five_from_the_readme() -> None:
    assert CASES == ["s5735_hardened", "s5735_insecure", "s5735_sparse", "usg6000_hardened", "usg6000_insecure"]


def test_hardened_switch_facts() -> None:
    facts = _facts("s5735_hardened")
    assert facts.platform == "huawei_vrp"
    assert (facts.hostname.value, _numbers(facts.hostname.evidence)) == ("SW-SOTTT-ACC01", [4])
    assert (facts.os_version.value, _numbers(facts.os_version.evidence)) == ("V200R021C10SPC600", [1])
    assert (facts.telnet_enabled.value, _numbers(facts.telnet_enabled.evidence)) == (False, [12, 76, 79])
    assert (facts.ssh_versions.value, _numbers(facts.ssh_versions.evidence)) == ((2,), [63])
    assert facts.snmp_communities == ()
    assert [(p.name, p.security_level, _numbers(p.evidence)) for p in facts.snmp_v3] == [("NMS-PRIV", "priv", [54, 55])]
    assert (facts.ntp_servers.value, _numbers(facts.ntp_servers.evidence)) == (("10.20.99.5", "10.20.99.6"), [70, 71])
    assert (facts.syslog_hosts.value, _numbers(facts.syslog_hosts.evidence)) == (("10.20.99.10", "10.20.99.11"), [7, 8])
    assert [(a.name, a.secret, _numbers(a.evidence)) for a in facts.admins] == [("netadmin", "hashed", [32])]
    assert (facts.http_server.value, facts.https_server.value) == (False, False)
    assert [(m.name, m.restricted) for m in facts.mgmt_access] == [("user-interface vty 0 4", True), ("ssh server", True)]
    assert [(t.name, t.minutes, t.explicit, _numbers(t.evidence)) for t in facts.session_timeouts] == [
        ("user-interface con 0", 5.0, True, [75]),
        ("user-interface vty 0 4", 10.0, True, [80]),
    ]
    assert facts.unreadable == ()


def test_insecure_switch_facts() -> None:
    facts = _facts("s5735_insecure")
    assert (facts.telnet_enabled.value, _numbers(facts.telnet_enabled.evidence)) == (True, [10, 56, 60])
    assert facts.ssh_versions.value == (1, 2)
    assert [(c.name, c.access, _numbers(c.evidence)) for c in facts.snmp_communities] == [(MASK, "RO", [41]), (MASK, "RW", [42])]
    assert [(p.name, p.security_level) for p in facts.snmp_v3] == [("NMS", "auth")]
    assert (facts.syslog_hosts.value, _numbers(facts.syslog_hosts.evidence)) == ((), [5, 6])
    assert [(a.name, a.secret) for a in facts.admins] == [("admin", "reversible"), ("guest", "plaintext")]
    assert (facts.password_encryption.value, _numbers(facts.password_encryption.evidence)) == (False, [24])
    assert (facts.aaa_login.value, _numbers(facts.aaa_login.evidence)) == (False, [52, 53, 56, 57])
    assert [t.minutes for t in facts.session_timeouts] == [0.0, 0.0]
    assert [(u.line.number, u.kind) for u in facts.unreadable] == [(0, "snmp_community")]
    assert "names (lines 41, 42) are stored as ciphertext" in str(facts.unreadable[0])


def test_firewall_facts() -> None:
    hardened, insecure = _facts("usg6000_hardened"), _facts("usg6000_insecure")
    assert (hardened.filtering.value, _numbers(hardened.filtering.evidence)) == (True, [73, 74, 82])
    assert [(r.name, r.action, r.allows_everything) for r in hardened.firewall_rules] == [
        ("LAN-to-WEB", "accept", False),
        ("MGMT-NTP", "accept", False),
    ]
    assert [(r.name, r.allows_everything, _numbers(r.evidence)) for r in insecure.firewall_rules] == [
        ("default action permit", True, [64]),
        ("allow-all", True, [65, 66]),
    ]
    assert [(a.name, _numbers(a.evidence)) for a in hardened.admins] == [("netadmin", [22, 23])]
    assert [(u.line.number, u.kind) for u in hardened.unreadable] == [(0, "enable_secret")]
    assert "(line 23)" in str(hardened.unreadable[0])
    assert [(m.name, m.restricted) for m in hardened.mgmt_access] == [
        ("user-interface vty 0 4", True),
        ("interface GigabitEthernet0/0/0 ssh", True),
    ]
    untrust = [m for m in insecure.mgmt_access if "GigabitEthernet1/0/0" in m.name]
    assert [(m.restricted, _numbers(m.evidence)) for m in untrust] == [(False, [35])]
    assert (insecure.http_server.value, _numbers(insecure.http_server.evidence)) == (True, [7, 27])
    assert insecure.ntp_servers.value == () and insecure.syslog_hosts.value == ()


def _outcomes(case: str, policy: Policy) -> dict[str, bool | None]:
    device_class = DEVICE_CLASS[case.split("_")[0]]
    return {o.rule_id: o.passed for o in check_config_text(_text(case), "huawei_vrp", policy, device_class)}


def test_every_rule_passes_and_fails_somewhere(policy: Policy) -> None:
    seen: dict[str, set] = {}
    for case in CASES:
        for rule_id, passed in _outcomes(case, policy).items():
            seen.setdefault(rule_id, set()).add(passed)
    # VRP V200 displays community names as ciphertext: the failing default-community case is the
    # legacy clear-text form below (test_a_clear_default_community_fails), not a golden config.
    for rule_id, outcomes in seen.items():
        wanted = {True} if rule_id == "net.snmp_no_default_community" else {True, False}
        assert wanted <= outcomes, f"{rule_id}: {outcomes}"


def test_golden_expected_matches_readme_verdict_counts(policy: Policy) -> None:
    """The sparse fragment: nothing passes; only the NTP rule (one server present) fails."""
    expected = json.loads((GOLDEN / "s5735_sparse" / "expected.json").read_text(encoding="utf-8"))["rules"]
    assert {r for r, v in expected.items() if v["passed"] is not None} == {"net.ntp_two_servers"}
    outcomes = _outcomes("s5735_sparse", policy)
    assert True not in outcomes.values()
    assert outcomes["net.ntp_two_servers"] is False


MINIMAL = (
    "!Software Version V200R021C10\n#\nsysname sw\n#\n{body}\n#\nuser-interface con 0\n authentication-mode aaa\n"
    "user-interface vty 0 4\n acl 2001 inbound\n authentication-mode aaa\n protocol inbound ssh\n#\nreturn\n"
)


def _check(body: str, policy: Policy, device_class: str = "access_switch") -> dict[str, bool | None]:
    facts = parse_huawei_vrp(MINIMAL.format(body=body))
    return {o.rule_id: o.passed for o in check_config_facts(facts, policy, device_class)}


def test_a_clear_default_community_fails(policy: Policy) -> None:
    facts = parse_huawei_vrp(MINIMAL.format(body="snmp-agent\nsnmp-agent community read public"))
    assert [(c.name, c.access) for c in facts.snmp_communities] == [("public", "RO")]
    assert _check("snmp-agent\nsnmp-agent community read public", policy)["net.snmp_no_default_community"] is False


def test_a_reversible_super_password_fails_enable_secret(policy: Policy) -> None:
    body = "aaa\n local-user a password irreversible-cipher $1a$abc$\nsuper password level 15 cipher %^%#Zq9SuperSecret%^%#"
    assert _check(body, policy)["net.enable_secret"] is False
    body = "aaa\n local-user a password irreversible-cipher $1a$abc$\nsuper password level 15 irreversible-cipher $1a$xyz$"
    assert _check(body, policy)["net.enable_secret"] is True


def test_unknown_values_are_unreadable_and_never_pass(policy: Policy) -> None:
    text = MINIMAL.format(body="undo telnet server enable").replace("protocol inbound ssh", "protocol inbound bogus")
    text = text.replace(" authentication-mode aaa\nuser-interface vty", " authentication-mode weird\n idle-timeout x\nuser-interface vty")
    facts = parse_huawei_vrp(text)
    assert {u.kind for u in facts.unreadable} >= {"vty_transport", "aaa_login"}
    assert math.isnan(facts.session_timeouts[0].minutes)
    outcomes = {o.rule_id: o.passed for o in check_config_facts(facts, load_policy(), "access_switch")}
    assert outcomes["net.aaa_login"] is None and outcomes["net.exec_timeout"] is False and outcomes["net.telnet_off"] is None


def test_a_block_without_authentication_mode_is_not_evaluated(policy: Policy) -> None:
    text = MINIMAL.format(body="").replace("user-interface con 0\n authentication-mode aaa\n", "user-interface con 0\n")
    outcomes = {o.rule_id: o.passed for o in check_config_facts(parse_huawei_vrp(text), policy, "access_switch")}
    assert outcomes["net.aaa_login"] is None


def test_an_acl_permitting_any_source_does_not_restrict(policy: Policy) -> None:
    good = "acl number 2001\n rule 5 permit source 10.0.0.0 0.0.0.255\n rule 10 deny"
    assert _check(good, policy)["net.vty_acl"] is True
    assert _check("acl number 2001\n rule 5 permit", policy)["net.vty_acl"] is False
    assert _check("acl number 2001\n rule 5 permit source any", policy)["net.vty_acl"] is False
    assert _check("", policy)["net.vty_acl"] is False  # ACL 2001 bound but not defined


SECRET_AFTER = re.compile(r"\b(?:irreversible-cipher|cipher|simple) (\S+)")


@pytest.mark.parametrize("case", CASES)
def test_secrets_never_appear_in_facts_or_outcomes(case: str, policy: Policy) -> None:
    text = _text(case)
    secrets = set(SECRET_AFTER.findall(text))
    if case.endswith(("hardened", "insecure")):
        assert secrets
    facts = parse_huawei_vrp(text)
    shown = repr(facts) + "".join(f"{u} {u.line}" for u in facts.unreadable)
    outcomes = check_config_facts(facts, policy, DEVICE_CLASS[case.split("_")[0]])
    shown += "".join(f"{o.actual} {o.evidence}" for o in outcomes)
    for secret in secrets:
        assert secret not in shown, case
        if len(secret) > 12:  # the ciphertext body without its %^%# markers
            assert secret[4:-4] not in shown, case


def _hostile() -> dict[str, str]:
    rng = random.Random(14)
    hardened = _text("s5735_hardened")
    return {
        "empty": "",
        "random bytes": bytes(rng.randrange(256) for _ in range(200_000)).decode("latin-1"),
        "5 MB one line": "snmp-agent community read cipher " + "x" * 5_000_000,
        "cut in the middle": hardened[: len(hardened) // 2],
        "cut mid-word": hardened[:1234],
        "deep indentation": "\n".join(" " * i + "interface x" for i in range(5000)),
        "only comments": "#\n" * 10_000 + "!Software Version\n",
        "odd statements": "snmp-agent community\nsnmp-agent group v3\nlocal-user\ninfo-center loghost\nntp-service unicast-server\n"
        "user-interface\nacl\nsecurity-policy\n rule name\n  action\nidle-timeout 99999999999999999999 9\n\x00\r\n\t\f",
    }


@pytest.mark.parametrize("name", sorted(_hostile()))
def test_hostile_input_never_raises(name: str, policy: Policy) -> None:
    facts = parse_huawei_vrp(_hostile()[name])
    assert facts.platform == "huawei_vrp"
    outcomes = check_config_facts(facts, policy, "firewall")
    assert all(not (o.actual or "").startswith("check error") for o in outcomes)


def test_fragment_absent_statements_are_not_evaluated_never_passed(policy: Policy) -> None:
    outcomes = {o.rule_id: o for o in check_config_text(_text("s5735_sparse"), "huawei_vrp", policy, "firewall")}
    for rule_id, outcome in outcomes.items():
        assert outcome.passed is not True, rule_id
    assert outcomes["net.remote_syslog"].passed is None
    assert "not a complete configuration" in outcomes["net.remote_syslog"].actual
    # the same text made complete: absent SNMP now means SNMP off (a pass)
    whole = "!Software Version V200R021C10\n" + _text("s5735_sparse") + "user-interface con 0\nuser-interface vty 0 4\nreturn\n"
    complete = {o.rule_id: o.passed for o in check_config_text(whole, "huawei_vrp", policy, "access_switch")}
    assert complete["net.snmp_no_rw_community"] is True


def _big_config(size: int) -> str:
    head, _, tail = _text("usg6000_hardened").rpartition("#\nreturn")
    blocks: list[str] = []
    i = 0
    while sum(map(len, blocks)) < size:
        blocks.append(f"interface GigabitEthernet1/0/{i}\n undo shutdown\n ip address 10.{i % 250}.{i // 250 % 250}.1 255.255.255.0\n service-manage ping permit\n#\n")
        blocks.append(f"security-policy\n rule name R{i}\n  source-zone trust\n  destination-zone untrust\n  service http\n  action permit\n#\n")
        i += 1
    return head + "".join(blocks) + "#\nreturn" + tail


def test_a_700_kb_config_parses_quickly() -> None:
    text = _big_config(700_000)
    assert len(text) >= 700_000
    parse_config(text, "huawei_vrp")  # warm-up
    start = time.perf_counter()
    facts = parse_config(text, "huawei_vrp")  # as the engine calls it (collector paused)
    elapsed = time.perf_counter() - start
    print(f"\nhuawei_vrp: {len(text) / 1000:.0f} KB parsed in {elapsed * 1000:.1f} ms")
    assert len(facts.firewall_rules) > 3000
    assert elapsed < 1.0


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("local-user a password simple Hunter2x", f"local-user a password simple {MASK}"),
        ("local-user a password Hunter2x", f"local-user a password {MASK}"),
        (" password cipher @%@%Hunter2x@%@%", f"password cipher {MASK}"),
        ("super password level 15 Hunter2x", f"super password level 15 {MASK}"),
        ("snmp-agent usm-user v3 u authentication-mode sha Hunter2x", f"snmp-agent usm-user v3 u authentication-mode sha {MASK}"),
        ("snmp-agent community read Hunter2x", f"snmp-agent community read {MASK}"),
        ("snmp-agent community read public", "snmp-agent community read public"),
        ("radius-server shared-key cipher Hunter2x", f"radius-server shared-key cipher {MASK}"),
        ("radius-server shared-key Hunter2x", f"radius-server shared-key {MASK}"),
        ("ospf authentication-mode md5 1 plain Hunter2x", f"ospf authentication-mode md5 1 plain {MASK}"),
    ],
)
def test_secret_lines_are_masked_in_evidence(line: str, shown: str) -> None:
    from compliance.configparse.huawei_vrp import _mask

    assert _mask(line.strip()) == shown


def test_an_ipv6_telnet_server_counts_as_telnet(policy: Policy) -> None:
    assert _check("undo telnet server enable\ntelnet ipv6 server enable", policy)["net.telnet_off"] is False
    assert _check("undo telnet server enable\nundo telnet ipv6 server enable", policy)["net.telnet_off"] is True


def test_a_web_manager_on_its_own_port_is_still_enabled() -> None:
    """USG: `web-manager enable port 8080` serves HTTP on 8080 (found by the lab generator)."""
    from compliance.configcheck import check_config_text
    from compliance.policy import load_policy

    base = (GOLDEN / "usg6000_hardened" / "running-config.txt").read_text(encoding="utf-8")
    text = base.replace("\nreturn", "\nweb-manager enable port 8080\n#\nreturn", 1)
    outcome = next(o for o in check_config_text(text, "huawei_vrp", load_policy(), "firewall") if o.rule_id == "net.http_mgmt_off")
    assert outcome.passed is False and any("web-manager enable port 8080" in e for e in outcome.evidence)
