"""The IOS parser's shortcut around secret masking (configparse/ios.py `SECRET_WORDS`): a line
without any of the words is never changed by `mask_ios_line`, so skipping it changes nothing."""

from __future__ import annotations

import random
from pathlib import Path

from collectors.lab.configs import applicable_rules, cisco_ios_config
from compliance.configparse.ios import SECRET_WORDS, _ios_mask
from inventory.secret_lines import _IOS_COMMUNITY, _IOS_HOST_COMMUNITY, _IOS_SNMP_KEYS, IOS_SECRET_STATEMENTS, mask_ios_line
from tests.inventory.test_secret_lines import IOS_STATEMENTS

GOLDEN = Path(__file__).parent / "golden" / "cisco_ios"


def test_every_secret_pattern_holds_a_word() -> None:
    """A pattern added to inventory/secret_lines.py with a new keyword must add it to the words."""
    patterns = [*IOS_SECRET_STATEMENTS, _IOS_COMMUNITY.pattern, _IOS_HOST_COMMUNITY.pattern, "snmp-server user"]
    without = [p for p in patterns if not any(word in p for word in SECRET_WORDS)]
    assert not without, f"secret patterns holding none of SECRET_WORDS: {without}"
    assert "auth" in _IOS_SNMP_KEYS.pattern  # applied to `snmp-server user` lines only


def _lines() -> list[str]:
    lines = [text for text, _, _ in IOS_STATEMENTS]
    for path in sorted(GOLDEN.rglob("*")):
        if path.is_file():
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    rng = random.Random(12)
    for k in range(40):
        rules = sorted(applicable_rules("cisco_ios", is_firewall=k % 2 == 0))
        lines += cisco_ios_config(f"sw{k}", frozenset(rng.sample(rules, rng.randint(0, 4))), is_firewall=k % 2 == 0, mgmt_subnet="10.1.2.0/24").splitlines()
    return [line.strip() for line in lines if line.strip()]


def test_shortcut_masks_as_the_full_rules_do() -> None:
    lines = _lines()
    assert len(lines) > 1000
    differing = [line for line in lines if _ios_mask(line) != mask_ios_line(line)]
    assert not differing, differing[:5]
    assert any(mask_ios_line(line) != line for line in lines), "no secret line among them: the test would be vacuous"
    assert any(not any(w in line for w in SECRET_WORDS) for line in lines)
