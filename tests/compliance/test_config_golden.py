"""Golden files: golden/<platform>/<case>/running-config.txt + expected.json.

Add a case by adding a directory. expected.json holds the device class and, per rule id,
`passed` (true / false / null for not applicable) and the exact evidence lines. The rules listed
must be exactly the config rules that apply to that device class.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.lab.spec import NETWORK_CONFIG_RULES
from compliance.configcheck import check_config_text
from compliance.policy import Policy, load_policy

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.parent for p in GOLDEN.glob("*/*/running-config.txt"))


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def _load(case: Path) -> tuple[str, str, dict]:
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return case.parent.name, (case / "running-config.txt").read_text(encoding="utf-8"), expected


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden(case: Path, policy: Policy) -> None:
    platform, text, expected = _load(case)
    outcomes = {o.rule_id: o for o in check_config_text(text, platform, policy, expected["device_class"])}
    assert sorted(outcomes) == sorted(expected["rules"])
    for rule_id, want in expected["rules"].items():
        got = outcomes[rule_id]
        assert (got.passed, got.evidence) == (want["passed"], want["evidence"]), f"{rule_id}: {got.actual}"


def test_cases_exist_for_both_platforms() -> None:
    assert {"cisco_ios", "fortinet"} <= {c.parent.name for c in CASES}


# On FortiOS the SNMP agent is read-only (no RW community can exist) and there is no enable mode.
NO_FAILING_CASE = {("fortinet", "net.snmp_no_rw_community"), ("fortinet", "net.enable_secret")}


@pytest.mark.parametrize("platform", ["cisco_ios", "fortinet"])
@pytest.mark.parametrize("rule_id", NETWORK_CONFIG_RULES)
def test_every_rule_passes_and_fails_somewhere(platform: str, rule_id: str) -> None:
    seen = set()
    for case in CASES:
        if case.parent.name == platform:
            rule = json.loads((case / "expected.json").read_text(encoding="utf-8"))["rules"].get(rule_id)
            if rule is not None:
                seen.add(rule["passed"])
    wanted = {True, False}
    if (platform, rule_id) in NO_FAILING_CASE:
        wanted = {True} if rule_id == "net.snmp_no_rw_community" else {None}
    assert wanted <= seen, f"{platform} {rule_id}: outcomes seen {seen}"


def test_baseline_has_every_lab_rule(policy: Policy) -> None:
    ids = {r.id for r in policy.baseline.rules}
    assert set(NETWORK_CONFIG_RULES) <= ids
