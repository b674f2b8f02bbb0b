"""A stored configuration is masked (inventory.redact.mask_config), and compliance re-reads the
stored text: masking must never change a verdict. Secrets keep their storage form (`$6$`, `-AQ==`,
`ENC`, `secret 9`) with the value hidden, and words that only look like secret keywords (an
ArubaOS-Switch `password manager`, a quoted `"public"`) stay as they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.lab import configs as C
from compliance.configcheck import check_config_text
from compliance.policy import load_policy
from inventory.choices import CLASS_BY_PLATFORM
from inventory.redact import mask_config
from inventory.secret_lines import MASK
from tests.compliance.test_config_sniff import CORPUS, CORPUS_DIRS, CORPUS_FILES

GOLDEN = sorted(Path(__file__).parent.glob("golden/*/*/running-config.txt"))


def _verdicts(text: str, platform: str, device_class: str) -> dict[str, bool | None]:
    return {o.rule_id: o.passed for o in check_config_text(text, platform, load_policy(), device_class)}


def _lab_configs():
    for platform, firewall, device_class, extra in (
        ("huawei_vrp", False, "access_switch", {}),
        ("huawei_vrp", True, "firewall", {"model": "USG6510E", "os_version": "V600R007"}),
        ("juniper_junos", False, "access_switch", {}),
        ("aruba_osswitch", False, "access_switch", {}),
        ("paloalto_panos", True, "firewall", {}),
    ):
        module = C.platform_module(platform)
        for rules in [frozenset()] + [frozenset({r}) for r in sorted(module.applicable_rules(is_firewall=firewall))]:
            yield f"{platform}-{'fw' if firewall else 'sw'}-{'+'.join(sorted(rules)) or 'hardened'}", platform, device_class, module.running_config("SW-DB-01", rules, is_firewall=firewall, **extra)
    for rules in [frozenset()] + [frozenset({r}) for r in sorted(C.applicable_rules("cisco_ios", is_firewall=True))]:
        yield f"cisco_ios-{'+'.join(sorted(rules)) or 'hardened'}", "cisco_ios", "firewall", C.cisco_ios_config("SW-DB-01", rules, is_firewall=True)
    for rules in [frozenset()] + [frozenset({r}) for r in sorted(C.applicable_rules("fortinet", is_firewall=True))]:
        yield f"fortinet-{'+'.join(sorted(rules)) or 'hardened'}", "fortinet", "firewall", C.fortios_config("FGT-DB-01", rules)


LAB = list(_lab_configs())


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_masking_a_golden_config_changes_no_verdict(path: Path):
    platform, device_class = path.parent.parent.name, json.loads((path.parent / "expected.json").read_text())["device_class"]
    text = path.read_text(encoding="utf-8")
    assert _verdicts(mask_config(text), platform, device_class) == _verdicts(text, platform, device_class)


@pytest.mark.parametrize(("platform", "device_class", "text"), [case[1:] for case in LAB], ids=[case[0] for case in LAB])
def test_masking_a_lab_config_changes_no_verdict(platform: str, device_class: str, text: str):
    masked = mask_config(text)
    assert masked != text  # every lab config carries secrets
    assert _verdicts(masked, platform, device_class) == _verdicts(text, platform, device_class)


@pytest.mark.parametrize(
    ("line", "kept", "hidden"),
    [
        ('encrypted-password "$6$3clH9JGZ$SQpKK4OItKP8pYuCnDx664wUIb8j0"; ## SECRET-DATA', ['"$6$', '"; ## SECRET-DATA'], "3clH9JGZ"),
        ('authentication-key "$9$QyuRiX6.eRGDQtRjQk/W/C1Pr5afvF"; ## SECRET-DATA', ['"$9$', '"; ## SECRET-DATA'], "QyuRiX6"),
        ("set mgt-config users kiemke phash $5$H8To.AvM$StSiYNZH4r8IFet4U8D", ["phash $5$"], "H8To"),
        ("set shared server-profile tacplus T server T-1 secret -AQ==KjOKJ9sx8QAP3QgsyDHn", ["secret -AQ=="], "KjOKJ9"),
        ('password manager user-name "kiemke" sha1 "90f03ae8134750f21daa78698a1f0ae53986ea95"', ['password manager user-name "kiemke" sha1 '], "90f03ae8"),
        ('snmp-server community "public" operator restricted', ['snmp-server community "public" operator restricted'], "\x00"),
        ('snmp-server community "Kk1234ro" operator restricted', ["snmp-server community "], "Kk1234ro"),
    ],
)
def test_masking_keeps_the_storage_form_and_hides_the_value(line: str, kept: list[str], hidden: str):
    masked = mask_config(line + "\n")
    for part in kept:
        assert part in masked, masked
    assert hidden not in masked
    if hidden != "\x00":
        assert MASK in masked


@pytest.mark.skipif(not CORPUS_FILES, reason=f"the shared corpus is not at {CORPUS} (set KIEMKE_CORPUS)")
def test_masking_a_corpus_config_changes_no_verdict():
    """Public configurations written by others (read where they lie): masked, judged the same."""
    moved = []
    for path in CORPUS_FILES:
        platform = CORPUS_DIRS[path.parent.name]
        text = path.read_text(encoding="utf-8", errors="replace")
        if _verdicts(mask_config(text), platform, CLASS_BY_PLATFORM[platform]) != _verdicts(text, platform, CLASS_BY_PLATFORM[platform]):
            moved.append(path.name)
    assert moved == []
