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
