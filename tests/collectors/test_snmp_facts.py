"""How SNMP answers become facts (collectors.snmp.facts), without the lab: the value helpers,
and the golden walks recorded from the collector tests' lab (tests/collectors/golden/snmp)
turned into facts that must match what the lab serves."""

from __future__ import annotations

from datetime import date

from collectors.snmp.facts import date_and_time, mac_text, text


def test_value_helpers() -> None:
    assert mac_text(bytes.fromhex("001ac0010001")) == "00:1a:c0:01:00:01"
    assert mac_text(b"00:1A:C0:01:00:01") == "00:1a:c0:01:00:01"
    assert mac_text(b"") is None and mac_text(b"\x00" * 6) is None and mac_text(b"abc") is None
    assert date_and_time(bytes.fromhex("07e8011e00000000")) == date(2024, 1, 30)
    assert date_and_time(bytes.fromhex("07e8011e000000002b0700")) == date(2024, 1, 30)
    assert date_and_time(b"\x00" * 8) is None and date_and_time(b"\x07") is None
    assert text(b"a\xffb\x00c\x00\x00") == "a\ufffdb\ufffdc"
    warnings: list[str] = []
    assert len(text(b"x" * 70_000, warnings, "sysDescr")) == 65535 and "sysDescr" in warnings[0]

