"""Endpoint rules on the facts an agent reports: disk type, anti-virus state, TPM with Secure
Boot. What nobody reported is never a pass."""

from __future__ import annotations

import json
from datetime import date

import pytest

from compliance.checks.base import get_check
from compliance.policy import load_policy
from compliance.subjects import DeviceSubject

POLICY = load_policy()
TODAY = date(2026, 12, 3)
GB = 1024 * 1024


def verdict(rule_id: str, facts: dict[str, str]) -> bool | None:
    rule = POLICY.rule(rule_id)
    subject = DeviceSubject(id=1, device_class="laptop", site_id=1, zone="internet", status="in_use", today=TODAY, policy=POLICY, facts=facts)
    registered = get_check(rule.check)
    passed = registered.func(subject, rule.params).passed
    assert registered.verdict(subject, rule.params) == passed  # the cheap verdict says the same
    return passed


@pytest.mark.parametrize(
    ("disks", "expected"),
    [
        ([["Samsung 980", 512 * GB, "SSD"]], True),
        ([["WD Blue", 1024 * GB, "HDD"]], False),
        ([["Disk", 512 * GB, None]], None),  # large enough, type not reported: not a pass
        ([["Samsung", 128 * GB, "SSD"]], False),  # too small whatever its type
        ([["WD", 1024 * GB, "HDD"], ["Samsung", 512 * GB, "SSD"]], True),
    ],
)
def test_disk_needs_an_ssd_large_enough(disks, expected):
    assert verdict("ep.disk", {"host.disks": json.dumps(disks)}) is expected


def _av(**entry) -> dict[str, str]:
    return {"host.antivirus": json.dumps([{"name": "Microsoft Defender Antivirus"} | entry])}


@pytest.mark.parametrize(
    ("facts", "present", "fresh"),
    [
        (_av(enabled=True, up_to_date=True, signature_date="2026-12-02"), True, True),
        (_av(enabled=True, up_to_date=False, signature_date="2026-10-01"), True, False),
        (_av(enabled=False, signature_date="2026-12-02"), False, None),
        (_av(enabled=True, up_to_date=True), True, True),  # no date: the agent's own flag
        (_av(enabled=True), True, None),  # neither date nor flag
        ({"host.antivirus": "[]"}, False, None),  # reported: none installed
    ],
)
def test_antivirus_from_the_agents_report(facts, present, fresh):
    assert verdict("ep.av_present", facts) is present
    assert verdict("ep.av_fresh", facts) is fresh


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({}, None),
        ({"host.secure_boot": "enabled"}, None),  # TPM never collected
        ({"host.tpm_version": "2.0"}, None),  # Secure Boot not collected
        ({"host.tpm_version": "2.0", "host.secure_boot": "enabled"}, True),
        ({"host.tpm_version": "2.0", "host.secure_boot": "disabled"}, False),
        ({"host.tpm_version": "1.2", "host.secure_boot": "enabled"}, False),
        ({"host.tpm_version": "0", "host.secure_boot": "enabled"}, False),  # imported "no TPM"
    ],
)
def test_tpm_and_secure_boot_together(facts, expected):
    assert verdict("ep.tpm_secure_boot", facts) is expected


def test_encryption_partial_fails_with_its_detail():
    rule = POLICY.rule("ep.disk_encryption")
    subject = DeviceSubject(id=1, device_class="laptop", site_id=1, zone="internet", status="in_use", today=TODAY, policy=POLICY,
                            facts={"host.disk_encryption": "partial", "host.encryption_detail": "C: BitLocker XTS-AES 128 (partially)"})  # fmt: skip
    result = get_check(rule.check).func(subject, rule.params)
    assert result.passed is False and result.evidence == ["C: BitLocker XTS-AES 128 (partially)"]
