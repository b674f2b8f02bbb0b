"""IOS keyword abbreviations (hand-written and pasted configurations): read as IOS reads them."""

from __future__ import annotations

import pytest

from collectors.lab import configs as C
from compliance.configcheck import check_config_text
from compliance.configparse.ios_keywords import spell_out
from compliance.policy import load_policy


def _verdicts(text: str, device_class: str = "firewall") -> dict[str, bool | None]:
    return {o.rule_id: o.passed for o in check_config_text(text, "cisco_ios", load_policy(), device_class)}


def _abbreviated(line: str) -> str:
    """Every keyword cut to four letters where that still names it alone (IOS accepts it)."""
    words = line.split(" ")
    for i, word in enumerate(words):
        if len(word) > 5 and word.isascii() and word.replace("-", "").isalpha():
            trial = words[:i] + [word[:4]] + words[i + 1 :]
            if spell_out(" ".join(trial)) == line:
                words = trial
    return " ".join(words)


@pytest.mark.parametrize("rules", [frozenset(), *[frozenset({r}) for r in sorted(C.applicable_rules("cisco_ios", is_firewall=True))]], ids=lambda r: "+".join(sorted(r)) or "hardened")
def test_an_abbreviated_config_is_judged_like_the_full_one(rules):
    full = C.cisco_ios_config("SW-DB-01", rules, is_firewall=True)
    short = "\n".join(_abbreviated(line) for line in full.splitlines()) + "\n"
    assert short != full  # the test abbreviates something
    assert _verdicts(short) == _verdicts(full)


def test_the_issues_examples():
    base = "hostname R1\nline con 0\n exec-timeout 5 0\nline vty 0 4\n transport input ssh\n exec-timeout 5 0\nend\n"
    assert _verdicts(base + "ip ssh ver 2\n")["net.ssh_v2_only"] is True
    assert _verdicts(base + "ip ssh version 2\n")["net.ssh_v2_only"] is True
    plain = _verdicts(base + "username bob priv 15 pass 0 Sekr1t\n")
    assert plain["net.password_encryption"] is False and plain["net.enable_secret"] is False
    outcome = next(o for o in check_config_text(base + "ip ssh ver 2\n", "cisco_ios", load_policy(), "access_switch") if o.rule_id == "net.ssh_v2_only")
    assert outcome.evidence and "8: ip ssh version 2" in outcome.evidence  # shown as IOS writes it, at its own line


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("ip ssh ver 2", "ip ssh version 2"),
        ("no ip http serv", "no ip http server"),
        ("ip http secure-serv", "ip http secure-server"),
        (" transport inp ssh", " transport input ssh"),
        ("snmp-server comm x RO", "snmp-server community x RO"),
        ("line cons 0", "line console 0"),
        ("line con 0", "line con 0"),  # IOS's own spelling stays
        (" no exec", " no exec"),  # a keyword of its own
        ("logging h 10.0.0.1", "logging h 10.0.0.1"),  # host or history: ambiguous, left
        ("ip ss ver 2", "ip ss ver 2"),  # two letters may stand for a keyword the table does not know
        ("interface Gi0/1", "interface Gi0/1"),
        ("username admin privilege 15 secret 9 $9$x", "username admin privilege 15 secret 9 $9$x"),
    ],
)
def test_spelled_out(written, read):
    assert spell_out(written) == read


@pytest.mark.parametrize(
    ("community", "restricted", "detail"),
    [
        ("snmp-server community Kk1 RO", False, "no ACL"),
        ("snmp-server community Kk1 RO 10", True, "ACL 10"),
        ("snmp-server community Kk1 view V1 RO 10", True, "ACL 10"),
        ("snmp-server community Kk1 RO 20", False, "ACL 20, which permits any source"),
        ("snmp-server community Kk1 RO 30", False, "ACL 30, an ACL that is not defined"),
        ("snmp-server community Kk1 RO ipv6 V6ANY 10", False, "ACL 10, which permits any source"),
    ],
)
def test_a_community_is_management_access_restricted_by_its_acls_content(community, restricted, detail):
    """Issue 14, item 2: the ACLs SNMP communities point to are read for their content, IPv4 and IPv6."""
    from compliance.configparse import parse_config

    text = (
        "hostname R1\naccess-list 10 permit 10.0.0.0 0.0.0.255\naccess-list 20 permit any\nipv6 access-list V6ANY\n permit ipv6 any any\n" + community + "\nline vty 0 4\n transport input none\nend\n"
    )
    access = [a for a in parse_config(text, "cisco_ios").mgmt_access if a.name.startswith("snmp-server community")]
    assert [(a.restricted, a.detail) for a in access] == [(restricted, detail)]
    assert access[0].name == "snmp-server community <redacted>"  # the community is a secret


@pytest.mark.parametrize(
    ("extra", "vty_extra", "restricted", "detail_end"),
    [
        ("", "", True, "access-class 10 in"),  # no IPv6 on the device
        ("interface Gi0/1\n ipv6 address 2001:db8::1/64\n", "", False, "no ipv6 access-class while IPv6 is on"),
        ("ipv6 unicast-routing\n", " ipv6 access-class V6MGMT in\n", True, "ipv6 access-class V6MGMT in"),
        ("ipv6 unicast-routing\n", " ipv6 access-class V6ANY in\n", False, "ipv6 access-class V6ANY in, which permits any source"),
        ("ipv6 unicast-routing\n", " ipv6 access-class NOPE in\n", False, "ipv6 access-class NOPE in, an ACL that is not defined"),
    ],
)
def test_a_vty_open_to_ipv6_is_not_restricted_by_its_ipv4_class(extra, vty_extra, restricted, detail_end):
    from compliance.configparse import parse_config

    text = (
        "hostname R1\naccess-list 10 permit 10.0.0.0 0.0.0.255\nipv6 access-list V6ANY\n permit ipv6 any any\n"
        "ipv6 access-list V6MGMT\n permit ipv6 2001:db8:99::/48 any\n deny ipv6 any any\n" + extra + "line vty 0 4\n access-class 10 in\n" + vty_extra + " transport input ssh\nend\n"
    )
    vty = next(a for a in parse_config(text, "cisco_ios").mgmt_access if a.name == "line vty 0 4")
    assert (vty.restricted, vty.detail.endswith(detail_end)) == (restricted, True), vty.detail
