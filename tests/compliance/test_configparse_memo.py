"""The parsers read each distinct line once per process (issue 12, CPU of a full evaluation):
what they keep by a line's text must give the same facts as reading it afresh, and stay bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.lab.configs import applicable_rules, cisco_ios_config, fortios_config
from compliance.configparse import MASK, fortios, ios, parse_config

GOLDEN = Path(__file__).parent / "golden"


def _configs(platform: str) -> list[str]:
    render = cisco_ios_config if platform == "cisco_ios" else fortios_config
    texts = [path.read_text(encoding="utf-8") for path in sorted((GOLDEN / platform).glob("*/running-config.txt"))]
    for firewall in (False, True):
        rules = sorted(applicable_rules(platform, is_firewall=firewall))
        for k, rule in enumerate(rules):
            # Each rule broken on its own, and with its neighbours: the same lines in other company.
            texts.append(render(f"dev{k}", frozenset({rule}), is_firewall=firewall, mgmt_subnet=f"10.0.{k}.0/24"))
            texts.append(render(f"dev{k}b", frozenset(rules[k : k + 3]), is_firewall=firewall, mgmt_subnet=f"10.1.{k}.0/24"))
    return texts


def _read(text: str, platform: str):
    facts = parse_config(text, platform)
    return facts, facts.unreadable


@pytest.mark.parametrize("platform", ["cisco_ios", "fortinet"])
def test_lines_already_read_give_the_same_facts(platform: str) -> None:
    texts = _configs(platform)
    fortios._PLAIN_READINGS.clear()
    fortios._WORDS.clear()
    ios._MASKED.clear()
    cold = [_read(text, platform) for text in texts]  # each config's lines partly seen before
    warm = [_read(text, platform) for text in texts]  # every line seen before
    assert warm == cold
    fortios._PLAIN_READINGS.clear()
    fortios._WORDS.clear()
    ios._MASKED.clear()
    alone = [_read(text, platform) for text in reversed(texts)][::-1]  # other lines seen first
    assert alone == cold


def test_fortios_kept_readings_match_the_general_reading() -> None:
    """A backslash in a comment makes the whole text "not plain": every line then takes the
    general path, which keeps nothing. The facts must not change."""
    for text in _configs("fortinet"):
        assert _read(text, "fortinet") == _read(text + "\n#\\\n", "fortinet")


def test_fortios_secret_line_read_before_still_marks_its_entry() -> None:
    text = 'config system admin\n    edit "a"\n        set password s3cret\n    next\nend\n'
    first = parse_config(text, "fortinet")
    again = parse_config("#config-version=FGT60F-7.2.8-FW-build1728-240313:opmode=0\n" + text, "fortinet")
    assert first.password_encryption.value is False and again.password_encryption.value is False
    assert [str(e) for e in again.password_encryption.evidence] == [f"4: set password {MASK}"]


def test_kept_lines_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fortios, "_PLAIN_READINGS_MAX", 50)
    monkeypatch.setattr(ios, "_MASKED_MAX", 20)
    for platform in ("cisco_ios", "fortinet"):
        for k, text in enumerate(_configs(platform)[:12]):
            parse_config(text.replace("dev", f"unique{k}-"), platform)
    longest = max(len(text.splitlines()) for text in _configs("fortinet"))
    assert len(fortios._PLAIN_READINGS) <= 50 + longest
    assert len(fortios._WORDS) <= 50 + longest
    assert len(ios._MASKED) <= 20 + 1
