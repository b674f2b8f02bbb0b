"""Config lines a check reads but the parser cannot understand: reported, and fail closed.

A parser never raises on such a line; it lists it in `NetworkConfigFacts.unreadable` (line number,
masked text, statement kind, reason). A rule whose check reads that kind does not pass on what
was left: a pass becomes "not evaluated"; a failure found on the readable lines stays a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.checks import network
from compliance.checks.base import registered_checks
from compliance.checks.network import STATEMENT_KINDS_READ
from compliance.configcheck import check_config_facts, check_config_text
from compliance.configparse import MASK, Unreadable, parse_config
from compliance.policy import Policy, load_policy

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_CONFIGS = sorted(GOLDEN.glob("*/*/running-config.txt"))
VTY = "line vty 0 4\n access-class MGMT in\n transport input ssh\n"
APPLIED = "interface Gi0/1\n ip access-group EDGE in\n"

# (platform, config, line number, statement kind, line text as reported)
CASES = {
    "ios snmp community without a name": ("cisco_ios", "hostname sw1\nsnmp-server community\n", 2, "snmp_community", "snmp-server community"),
    "ios bare username": ("cisco_ios", "hostname sw1\nusername\n", 2, "admin_account", "username"),
    "ios enable secret without a secret": ("cisco_ios", "enable secret\n", 1, "enable_secret", "enable secret"),
    "ios snmp v3 group without a level": ("cisco_ios", "snmp-server group NMS v3\n", 1, "snmp_v3", "snmp-server group NMS v3"),
    "ios ntp server without an address": ("cisco_ios", "ntp server 10.0.0.1\nntp server vrf MGMT\n", 2, "ntp_server", "ntp server vrf MGMT"),
    "ios logging host without an address": ("cisco_ios", "logging host\n", 1, "syslog_host", "logging host"),
    "ios aaa login without a list": ("cisco_ios", "aaa new-model\naaa authentication login\n", 2, "aaa_login", "aaa authentication login"),
    "ios ssh version not a number": ("cisco_ios", "ip ssh version two\n", 1, "ssh_version", "ip ssh version two"),
    "ios exec-timeout not a number": ("cisco_ios", VTY + " exec-timeout abc\n", 4, "session_timeout", "exec-timeout abc"),
    "ios exec-timeout without a value": ("cisco_ios", VTY + " exec-timeout\n", 4, "session_timeout", "exec-timeout"),
    "ios transport input without a protocol": ("cisco_ios", "line vty 0 4\n transport input\n", 2, "vty_transport", "transport input"),
    "ios access-class without a direction": ("cisco_ios", "line vty 0 4\n access-class\n", 2, "vty_access_class", "access-class"),
    "ios login authentication without a list": ("cisco_ios", "line vty 0 4\n login authentication\n", 2, "login_authentication", "login authentication"),
    "ios one-word ACL entry": ("cisco_ios", APPLIED + "ip access-list extended EDGE\n 10 permit\n", 4, "acl_entry", "10 permit"),
    "ios ACL entry without a destination": ("cisco_ios", APPLIED + "ip access-list extended EDGE\n permit tcp any\n", 4, "acl_entry", "permit tcp any"),
    "ios access-group without a direction": ("cisco_ios", "interface Gi0/1\n ip access-group\n", 2, "acl_binding", "ip access-group"),
    "fortios admintimeout not a number": ("fortinet", "config system global\n    set admintimeout nan\nend\n", 2, "session_timeout", "set admintimeout nan"),
    "fortios empty admintimeout": ("fortinet", "config system global\n    set admintimeout\nend\n", 2, "session_timeout", "set admintimeout"),
    "fortios snmp community without a name": ("fortinet", "config system snmp community\n    edit 1\n        set status enable\n    next\nend\n", 2, "snmp_community", "edit 1"),
    "fortios quote never closed": ("fortinet", 'config firewall policy\n    edit 1\n        set service ""HTTPS" "HTTP"\n    next\nend\n', 3, "config_structure", 'set service ""HTTPS" "HTTP"'),
}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_each_skipped_statement_is_reported(case: tuple[str, str, int, str, str]) -> None:
    platform, text, number, kind, shown = case
    # Lines only: these cases are fragments, whose absent statements are reported too (line 0).
    found = [(u.line.number, u.kind, u.line.text) for u in parse_config(text, platform).unreadable if u.line.number]
    assert found == [(number, kind, shown)]


def test_every_reported_kind_is_read_by_a_check() -> None:
    read = set().union(*STATEMENT_KINDS_READ.values())
    assert {case[3] for case in CASES.values()} <= read


def test_every_config_check_declares_what_it_reads() -> None:
    shipped = registered_checks().items()  # other tests may register checks of their own
    config_checks = {name for name, c in shipped if c.subject == "network_config" and c.func.__module__ == network.__name__}
    assert config_checks == set(STATEMENT_KINDS_READ)


@pytest.mark.parametrize(
    ("key", "secret"),
    [("password", "Sup3rS3cret"), ("psksecret", "PreShared99"), ("comments", None)],
)
def test_unclosed_quote_line_never_shows_a_secret(key: str, secret: str | None) -> None:
    value = secret or "x" * 200
    text = f'config system admin\n    edit "admin"\n        set {key} "{value}\n    next\nend\n'
    (found,) = [u for u in parse_config(text, "fortinet").unreadable if u.line.number]
    assert found.line.number == 3
    assert value not in found.line.text and value not in str(found)
    if secret:
        assert found.line.text == f"set {key} {MASK}"


def test_ios_unreadable_line_is_masked() -> None:
    # A community line the parser cannot read still holds a community name: it is masked.
    text = "snmp-server group NMS v3\nsnmp-server community S3cretComm RO 10\nsnmp-server community\n"
    facts = parse_config(text, "cisco_ios")
    assert [str(u.line) for u in facts.unreadable if u.line.number] == ["1: snmp-server group NMS v3", "3: snmp-server community"]
    assert "S3cretComm" not in repr(facts.unreadable)


@pytest.mark.parametrize("config", GOLDEN_CONFIGS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_clean_configs_report_nothing(config: Path) -> None:
    # No line it could not read; statements a golden case leaves out on purpose may be reported absent.
    assert [u for u in parse_config(config.read_text(encoding="utf-8"), config.parent.parent.name).unreadable if u.line.number] == []


def _outcomes(text: str, platform: str, policy: Policy, device_class: str) -> dict:
    return {o.rule_id: o for o in check_config_text(text, platform, policy, device_class)}


def test_a_pass_becomes_not_evaluated_with_the_line(policy: Policy) -> None:
    text = (GOLDEN / "cisco_ios" / "hardened_switch" / "running-config.txt").read_text(encoding="utf-8")
    before = _outcomes(text, "cisco_ios", policy, "access_switch")
    number = len(text.splitlines()) + 1
    after = _outcomes(text + "snmp-server community\n", "cisco_ios", policy, "access_switch")
    for rule_id in ("net.snmp_v3_only", "net.snmp_no_default_community", "net.snmp_no_rw_community"):
        assert before[rule_id].passed is True
        got = after[rule_id]
        assert got.passed is None
        assert got.actual == f"not evaluated: line {number} could not be read: snmp-server community without a community"
        assert got.evidence == [f"{number}: snmp-server community"]
    # Rules that read no SNMP community are left as they were.
    assert after["net.ssh_v2_only"] == before["net.ssh_v2_only"]


def test_a_failure_stays_a_failure(policy: Policy) -> None:
    text = (GOLDEN / "cisco_ios" / "legacy_switch_defaults" / "running-config.txt").read_text(encoding="utf-8")
    before = _outcomes(text, "cisco_ios", policy, "access_switch")
    after = _outcomes(text + "snmp-server community\n", "cisco_ios", policy, "access_switch")
    assert before["net.snmp_no_default_community"].passed is False
    assert after["net.snmp_no_default_community"] == before["net.snmp_no_default_community"]


def test_fortios_unclosed_quote_stops_every_pass(policy: Policy) -> None:
    text = (GOLDEN / "fortinet" / "hardened_fgt" / "running-config.txt").read_text(encoding="utf-8")
    before = _outcomes(text, "fortinet", policy, "firewall")
    broken = text + 'config system replacemsg admin "pre_admin-disclaimer-text"\n    set buffer "never closed\n'
    after = _outcomes(broken, "fortinet", policy, "firewall")
    passed = [rule_id for rule_id, o in before.items() if o.passed]
    assert passed
    for rule_id in passed:
        assert after[rule_id].passed is None, rule_id
        assert "could not be read: a quoted value opened here is never closed" in after[rule_id].actual
    for rule_id, outcome in before.items():
        if outcome.passed is False:
            assert after[rule_id].passed is False, rule_id


@pytest.mark.parametrize("kind", sorted({kind for kinds in STATEMENT_KINDS_READ.values() for kind in kinds} - {"config_structure"}))
def test_an_absent_statement_leaves_its_rules_not_evaluated_with_the_reason(kind: str) -> None:
    """A parser that finds no statement deciding `kind`, where the platform's default is not a
    verdict, says so (Unreadable.absent): each rule reading that kind that would pass is not
    evaluated, naming what is missing; every other rule keeps its verdict."""
    from dataclasses import replace

    from compliance.policy import load_policy

    policy = load_policy()
    hardened = (GOLDEN / "cisco_ios" / "hardened_isr" / "running-config.txt").read_text(encoding="utf-8")
    facts = parse_config(hardened, "cisco_ios")
    before = {o.rule_id: o for o in check_config_facts(facts, policy, "router")}
    gap = Unreadable.absent(kind, f"no statement of kind {kind} in this file")
    after = {o.rule_id: o for o in check_config_facts(replace(facts, unreadable=(gap,)), policy, "router")}
    readers = {rule for rule, kinds in STATEMENT_KINDS_READ.items() if kind in kinds}
    assert readers
    for rule_id, outcome in after.items():
        if rule_id in readers and before[rule_id].passed:
            assert outcome.passed is None and outcome.actual == f"not evaluated: not in the configuration: no statement of kind {kind} in this file"
        else:
            assert (outcome.passed, outcome.actual) == (before[rule_id].passed, before[rule_id].actual)


FORTI_GLOBAL = "config system global\n    set hostname fw1\n    set admintimeout 5\nend\n"
FORTI_REST = (
    "config system interface\n    edit port1\n        set allowaccess ping https ssh\n    next\nend\n"
    "config system ntp\n    set ntpsync enable\n    set type custom\n    config ntpserver\n        edit 1\n"
    "            set server 10.0.0.1\n        next\n        edit 2\n            set server 10.0.0.2\n        next\n    end\nend\n"
)


def test_a_fortios_file_without_system_global_passes_nothing_for_lack_of_evidence(policy: Policy) -> None:
    """A per-VDOM backup or a fragment (no `config system global`): rules decided by global
    settings, or by blocks the file lacks, are not evaluated; what the file does hold still
    decides (two NTP servers pass, Telnet absent from the interfaces it has passes)."""
    outcomes = {o.rule_id: o for o in check_config_text(FORTI_REST, "fortinet", policy, "firewall")}
    assert outcomes["net.ntp_two_servers"].passed is True
    assert outcomes["net.telnet_off"].passed is True
    for rule_id in ("net.ssh_v2_only", "net.exec_timeout", "net.remote_syslog", "net.password_encryption", "net.snmp_no_default_community"):
        assert outcomes[rule_id].passed is None, rule_id
        assert "no `config system global` in this file" in outcomes[rule_id].actual
    assert not any(o.passed is True and "not evaluated" in o.actual for o in outcomes.values())
    # The same blocks in a whole configuration: absence is FortiOS's default and a verdict again.
    whole = {o.rule_id: o for o in check_config_text(FORTI_GLOBAL + FORTI_REST, "fortinet", policy, "firewall")}
    assert whole["net.snmp_no_default_community"].passed is True and whole["net.remote_syslog"].passed is False


def test_an_ios_fragment_passes_nothing_for_lack_of_evidence(policy: Policy) -> None:
    """Pasted IOS lines without `hostname` or `line` blocks: what they hold decides (two NTP
    servers pass, an RW community fails); what they lack is not evaluated, never IOS's default."""
    fragment = "ntp server 10.0.0.1\nntp server 10.0.0.2\nsnmp-server community Pr1vate RW\n"
    outcomes = {o.rule_id: o for o in check_config_text(fragment, "cisco_ios", policy, "router")}
    assert outcomes["net.ntp_two_servers"].passed is True
    assert outcomes["net.snmp_no_rw_community"].passed is False
    for rule_id in ("net.telnet_off", "net.ssh_v2_only", "net.remote_syslog", "net.exec_timeout", "net.password_encryption", "net.http_mgmt_off", "net.enable_secret"):
        assert outcomes[rule_id].passed is None, (rule_id, outcomes[rule_id].actual)
        assert "not a whole running-config" in outcomes[rule_id].actual
    # The same lines in a whole config: IOS's defaults are verdicts again (SSH 1.99 allows v1).
    whole = {o.rule_id: o for o in check_config_text("hostname r1\n" + fragment + "line vty 0 4\n transport input ssh\n", "cisco_ios", policy, "router")}
    assert whole["net.ssh_v2_only"].passed is False and whole["net.telnet_off"].passed is True
