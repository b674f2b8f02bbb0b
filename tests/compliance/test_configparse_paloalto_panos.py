"""The PAN-OS set-form parser: facts of the golden configs, fail-closed fragments, masking, hostile input, speed."""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import pytest

from collectors.lab.spec import NETWORK_CONFIG_RULES
from compliance.configcheck import check_config_text
from compliance.configparse import MASK, NetworkConfigFacts, parse_config
from compliance.configparse.paloalto_panos import _masked
from compliance.policy import Policy, load_policy

GOLDEN = Path(__file__).parent / "golden" / "paloalto_panos"
CASES = sorted(p.parent for p in GOLDEN.glob("*/running-config.txt"))
# The made-up secrets of the golden configs: never in evidence or unreadable text.
SECRETS = (
    "$5$qwnzbtkl$Gm3Vb8Xk1Lp6Rz4Wt9Yc2Hs7Nd0Qf5Ju.aEr3Ty6Ui9",
    "$5$mvcxzlkj$Pq8Wz2Lm5Ns9Kd3Xb7Vc1Hf4Tg6Yj0Ru.eAw2Sx5Dc8",
    "-AQ==K8vX2pLq9wZ7tR4mN1bH6cF3yU0=Wd5sE2gT8kJ1nB4vC7xZ0aQ3",
    "-AQ==R3tY6uI9oP2aS5dF8gH1jK4lZ7xC=Vb0nM3qW6eR9tY2uI5oP8aS1",
    "$1$bdcgtnpl$Jx6TmR2wQ9vLz4Kp8Ns1Hc.",
    "K8vX2pLq9wZ7",
    "Jx6TmR2wQ9vLz4",
)
HEAD = "set deviceconfig system hostname fw1\nset mgt-config users admin phash $5$abc$def\n"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def _parse(name: str) -> NetworkConfigFacts:
    return parse_config((GOLDEN / name / "running-config.txt").read_text(encoding="utf-8"), "paloalto_panos")


def _numbers(evidence: tuple) -> list[int]:
    return [line.number for line in evidence]


def _outcomes(text: str, policy: Policy) -> dict:
    return {o.rule_id: o for o in check_config_text(text, "paloalto_panos", policy, "firewall")}


def test_hardened_facts() -> None:
    facts = _parse("pa440_hardened")
    assert facts.platform == "paloalto_panos"
    assert (facts.hostname.value, _numbers(facts.hostname.evidence)) == ("PA440-SOTTT-FW01", [1])
    assert (facts.telnet_enabled.value, _numbers(facts.telnet_enabled.evidence)) == (False, [7, 39])
    assert (facts.http_server.value, _numbers(facts.http_server.evidence)) == (False, [8, 39])
    assert facts.snmp_communities == ()
    assert [(p.kind, p.name, p.security_level, _numbers(p.evidence)) for p in facts.snmp_v3] == [("user", "nms01", "priv", [18, 19])]
    assert (facts.ntp_servers.value, _numbers(facts.ntp_servers.evidence)) == (("10.20.99.5", "10.20.99.6"), [12, 13])
    assert (facts.syslog_hosts.value, _numbers(facts.syslog_hosts.evidence)) == (("10.20.99.10",), [30, 35, 37])
    assert [(a.name, a.secret, a.profile, _numbers(a.evidence)) for a in facts.admins] == [
        ("netadmin", "hashed", "superuser", [24]),
        ("audit", "hashed", "superreader", [26]),
    ]
    assert facts.aaa_login.value and facts.password_encryption.value
    assert [(a.name, a.restricted, _numbers(a.evidence)) for a in facts.mgmt_access] == [
        ("MGT port", True, [6]),
        ("ethernet1/2 (profile PING-ONLY)", True, [42]),
    ]
    assert [(t.minutes, t.explicit, _numbers(t.evidence)) for t in facts.session_timeouts] == [(10.0, True, [20])]
    rules = {r.name: r for r in facts.firewall_rules}
    assert sorted(rules) == ["DENY-LOG", "LAN-to-WEB"]
    assert not rules["LAN-to-WEB"].src_any and not rules["LAN-to-WEB"].service_any  # application-default is not any
    assert rules["DENY-LOG"].action == "deny" and rules["DENY-LOG"].src_any and rules["DENY-LOG"].service_any
    assert (facts.filtering.value, _numbers(facts.filtering.evidence)) == (True, [58, 66])
    assert facts.enable_secret.value is None and facts.aaa_new_model.value is None
    assert [u.kind for u in facts.unreadable] == ["ssh_version"]  # no statement selects it


def test_insecure_facts() -> None:
    facts = _parse("pa220_insecure")
    assert (facts.telnet_enabled.value, _numbers(facts.telnet_enabled.evidence)) == (True, [6, 17])
    assert (facts.http_server.value, _numbers(facts.http_server.evidence)) == (True, [7, 18])
    assert [(c.name, c.access, _numbers(c.evidence)) for c in facts.snmp_communities] == [("public", "RO", [9])]
    assert (facts.ntp_servers.value, _numbers(facts.ntp_servers.evidence)) == (("192.168.1.254",), [8])
    assert (facts.syslog_hosts.value, _numbers(facts.syslog_hosts.evidence)) == ((), [14])  # profile never used
    assert [(a.name, a.secret, _numbers(a.evidence)) for a in facts.admins] == [("admin", "hashed", [11]), ("helpdesk", "none", [13])]
    assert (facts.aaa_login.value, _numbers(facts.aaa_login.evidence)) == (False, [13])
    assert [(a.name, a.restricted) for a in facts.mgmt_access] == [
        ("MGT port", False),
        ("ethernet1/1 (profile ALLOW-MGMT)", False),
        ("ethernet1/2 (profile ALLOW-MGMT)", False),
    ]
    assert [t.minutes for t in facts.session_timeouts] == [60.0]
    open_ = [(r.name, _numbers(r.evidence)) for r in facts.firewall_rules if r.allows_everything]
    assert open_ == [("any-any", [31, 32, 33, 34, 37, 38, 40]), ("interzone-default", [41])]


def test_sparse_is_a_fragment() -> None:
    facts = _parse("pa440_sparse")
    assert facts.hostname.value is None
    absent = {u.kind for u in facts.unreadable if u.line.number == 0}
    assert {"vty_transport", "http_server", "snmp_community", "ntp_server", "syslog_host", "aaa_login"} <= absent
    assert {"password_storage", "vty_access_class", "session_timeout", "ssh_version"} <= absent
    assert "acl_entry" not in absent  # the rulebase is there and decides
    assert [r.name for r in facts.firewall_rules] == ["LAN-to-WEB", "INET-to-DMZ-WEB"]


def test_fragment_absent_statements_are_not_evaluated_never_passed(policy: Policy) -> None:
    outcomes = _outcomes(HEAD.splitlines()[0] + "\nset address A ip-netmask 10.0.0.1\n", policy)
    for rule_id, outcome in outcomes.items():
        assert outcome.passed is not True, rule_id
        if rule_id not in ("net.enable_secret",):
            assert outcome.actual.startswith("not evaluated"), (rule_id, outcome.actual)


def test_fragment_statements_present_still_decide(policy: Policy) -> None:
    text = "set deviceconfig system ntp-servers primary-ntp-server ntp-server-address 10.0.0.1\n"
    text += "set shared log-settings syslog S server A server 10.0.0.9\nset shared log-settings system match-list M send-syslog S\n"
    outcomes = _outcomes(text, policy)
    assert outcomes["net.ntp_two_servers"].passed is False
    assert outcomes["net.remote_syslog"].passed is True


def test_every_rule_passes_and_fails_among_the_golden_cases() -> None:
    seen: dict[str, set] = {rule: set() for rule in NETWORK_CONFIG_RULES}
    for case in CASES:
        for rule_id, want in json.loads((case / "expected.json").read_text(encoding="utf-8"))["rules"].items():
            seen[rule_id].add(want["passed"])
    # No enable mode; no statement selects the SSH version; SNMP has no SET; a device-written
    # config holds no plaintext secret (the failing case is test_plaintext_secret_fails).
    only = {"net.enable_secret": {None}, "net.ssh_v2_only": {None}, "net.snmp_no_rw_community": {True, None}, "net.password_encryption": {True, None}}
    for rule_id, outcomes in seen.items():
        assert outcomes == only.get(rule_id, {True, False, None} if None in outcomes else {True, False}), rule_id


def test_plaintext_secret_fails(policy: Policy) -> None:
    text = HEAD + "set network ike gateway GW authentication pre-shared-key key Cleartext123\n"
    facts = parse_config(text, "paloalto_panos")
    assert (facts.password_encryption.value, _numbers(facts.password_encryption.evidence)) == (False, [3])
    assert "Cleartext123" not in repr(facts)
    assert _outcomes(text, policy)["net.password_encryption"].passed is False


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_secrets_never_shown(case: Path, policy: Policy) -> None:
    facts = parse_config((case / "running-config.txt").read_text(encoding="utf-8"), "paloalto_panos")
    shown = repr(facts) + repr(facts.unreadable) + repr(check_config_text((case / "running-config.txt").read_text(encoding="utf-8"), "paloalto_panos", policy, "firewall"))
    for secret in SECRETS:
        assert secret not in shown


def test_masking_keeps_well_known_communities_and_masks_others() -> None:
    text = HEAD + "set deviceconfig system snmp-setting access-setting version v2c snmp-community-string S3cretComm\n"
    text += 'set shared log-settings snmptrap T version v2c server S community "Trap Secret"\n'
    text += "set deviceconfig system ntp-servers primary-ntp-server authentication-type symmetric-key authentication-key -AQ==NtpK3y\n"
    text += 'set unparsed thing secret "two words'  # an unclosed quote: masked to the end
    facts = parse_config(text, "paloalto_panos")
    assert [str(e) for e in facts.snmp_communities[0].evidence] == [f"3: set deviceconfig system snmp-setting access-setting version v2c snmp-community-string {MASK}"]
    # The name itself stays in the fact (checks compare it with the forbidden names, as on IOS and
    # FortiOS); what a report shows, evidence and unreadable lines, never holds it.
    shown = repr([c.evidence for c in facts.snmp_communities]) + repr(facts.unreadable) + repr(facts.password_encryption)
    assert "S3cretComm" not in shown and "Trap Secret" not in shown and "two words" not in shown
    assert "NtpK3y" not in repr(facts) + _masked(text)
    assert _numbers(facts.password_encryption.evidence) == [6]  # a secret not in master-key ciphertext (community names are names)
    assert parse_config(HEAD + "set deviceconfig system snmp-setting access-setting version v2c snmp-community-string private\n", "paloalto_panos").snmp_communities[0].name == "private"


def test_quoted_value_spanning_lines_is_not_read_as_statements() -> None:
    text = HEAD + 'set shared certificate C private-key "-----BEGIN\nset deviceconfig system service disable-telnet no\nEND-----"\n'
    facts = parse_config(text, "paloalto_panos")
    assert not facts.telnet_enabled.value


def test_unreadable_statements_are_reported(policy: Policy) -> None:
    text = HEAD + "set deviceconfig system service disable-telnet maybe\nset deviceconfig system service disable-http yes\n"
    text += "set deviceconfig system ntp-servers primary-ntp-server ntp-server-address\n"
    text += "set rulebase security rules R1 from any\nset rulebase security rules R1 action allow\n"
    text += "set rulebase security rules R2 from a\nset rulebase security rules R2 to b\nset rulebase security rules R2 source any\n"
    text += "set rulebase security rules R2 destination any\nset rulebase security rules R2 application any\n"
    text += "set rulebase security rules R2 service any\nset rulebase security rules R2 action teleport\n"
    found = [(u.line.number, u.kind) for u in parse_config(text, "paloalto_panos").unreadable if u.line.number]
    assert found == [(3, "vty_transport"), (5, "ntp_server"), (6, "acl_entry"), (14, "acl_entry")]
    outcomes = _outcomes(text, policy)
    assert outcomes["net.telnet_off"].passed is None and outcomes["net.fw_default_deny"].passed is None


def test_rule_details(policy: Policy) -> None:
    rule = "set vsys vsys2 rulebase security rules {n} {k} {v}\n"
    fields = {"from": "any", "to": "any", "source": "any", "destination": "any", "application": "any", "service": "any", "action": "allow"}
    text = HEAD + "".join(rule.format(n="OFF", k=k, v=v) for k, v in fields.items()) + rule.format(n="OFF", k="disabled", v="yes")
    text += "".join(rule.format(n="NEG", k=k, v=v) for k, v in fields.items()) + rule.format(n="NEG", k="negate-source", v="yes")
    text += "".join(rule.format(n="LIST", k=k, v="[ any ]" if v == "any" else v) for k, v in fields.items())
    rules = {r.name: r for r in parse_config(text, "paloalto_panos").firewall_rules}
    assert not rules["OFF"].allows_everything and not rules["NEG"].allows_everything
    assert rules["LIST"].allows_everything
    assert _outcomes(text, policy)["net.fw_default_deny"].passed is False


def test_syslog_used_by_a_log_forwarding_profile_and_https(policy: Policy) -> None:
    text = HEAD + "set shared log-settings syslog S server A server 10.0.0.9\n"
    text += "set shared log-settings profiles LFP match-list traffic send-syslog [ S OTHER ]\n"
    text += "set deviceconfig system service disable-https yes\n"
    facts = parse_config(text, "paloalto_panos")
    assert facts.syslog_hosts.value == ("10.0.0.9",)
    assert facts.https_server.value is False
    assert parse_config(HEAD, "paloalto_panos").https_server.value is True  # the management port serves HTTPS


def test_profile_with_permitted_ip_restricts_and_timeouts(policy: Policy) -> None:
    text = HEAD + "set deviceconfig system permitted-ip 10.0.0.0/8\n"
    text += "set network profiles interface-management-profile MP ssh yes\nset network profiles interface-management-profile MP permitted-ip 10.1.0.0/16\n"
    text += "set network interface ethernet ethernet1/3 layer3 units ethernet1/3.5 interface-management-profile MP\n"
    text += "set deviceconfig setting management idle-timeout 0\n"
    facts = parse_config(text, "paloalto_panos")
    assert [(a.name, a.restricted) for a in facts.mgmt_access] == [("MGT port", True), ("ethernet1/3.5 (profile MP)", True)]
    assert facts.session_timeouts[0].minutes == 0.0
    assert _outcomes(text, policy)["net.exec_timeout"].passed is False
    bad = parse_config(HEAD + "set deviceconfig setting management idle-timeout ten\n", "paloalto_panos")
    assert math.isnan(bad.session_timeouts[0].minutes)
    unset = parse_config(HEAD, "paloalto_panos").session_timeouts[0]
    assert (unset.minutes, unset.explicit) == (60.0, False)


def test_admin_with_authentication_profile_authenticates() -> None:
    text = HEAD + "set mgt-config users radius-op authentication-profile RADIUS\nset mgt-config users nobody permissions role-based superuser yes\n"
    facts = parse_config(text, "paloalto_panos")
    assert [(a.name, a.secret) for a in facts.admins] == [("admin", "hashed"), ("radius-op", "hashed"), ("nobody", "none")]
    assert not facts.aaa_login.value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n# another\n",
        "set",
        "set \n set vsys\nset vsys v1\nset shared\nset network interface\nset rulebase security rules\n",
        "set " + "x" * 5_000_000,
        "set deviceconfig system snmp-setting access-setting version v2c snmp-community-string " + "[ " * 100_000,
        "[" * 100_000 + "]" * 100_000,
        '"' * 10_001 + "\nset mgt-config users",
        "\x00\x01\ufffd\u2028set deviceconfig system hostname \x00\n\r\n",
    ],
    ids=["empty", "comments", "set", "short paths", "5MB line", "open lists", "brackets", "quotes", "control"],
)
def test_hostile_input_never_raises(text: str) -> None:
    assert isinstance(parse_config(text, "paloalto_panos"), NetworkConfigFacts)


def test_random_bytes_and_cut_files_never_raise() -> None:
    rng = random.Random(14)
    for _ in range(50):
        parse_config(bytes(rng.getrandbits(8) for _ in range(2000)).decode("latin-1"), "paloalto_panos")
    whole = (GOLDEN / "pa440_hardened" / "running-config.txt").read_text(encoding="utf-8")
    for cut in range(0, len(whole), 97):
        parse_config(whole[:cut], "paloalto_panos")


def test_700_kb_config_parses_fast() -> None:
    block = "".join(
        f"set network interface ethernet ethernet1/{i} layer3 ip 10.{i % 250}.0.1/24\n"
        f"set network interface ethernet ethernet1/{i} layer3 interface-management-profile PING-ONLY\n"
        f"set rulebase security rules R{i} from trust\nset rulebase security rules R{i} to untrust\n"
        f"set rulebase security rules R{i} source any\nset rulebase security rules R{i} destination any\n"
        f"set rulebase security rules R{i} application [ web-browsing ssl ]\nset rulebase security rules R{i} service application-default\n"
        f"set rulebase security rules R{i} action allow\n"
        for i in range(1, 100_000)
    )
    text = (GOLDEN / "pa440_hardened" / "running-config.txt").read_text(encoding="utf-8") + block
    text = text[: 700 * 1024]
    text = text[: text.rfind("\n") + 1]
    start = time.perf_counter()
    facts = parse_config(text, "paloalto_panos")
    elapsed = time.perf_counter() - start
    print(f"\n700 KB PAN-OS config: {len(text)} bytes, {len(facts.firewall_rules)} rules, parsed in {elapsed * 1000:.1f} ms")
    assert len(facts.firewall_rules) > 1000
    assert elapsed < 1.0
