"""check_config_text: rule selection, outcome shape, and failures that must not sink a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.checks.base import CheckResult, check
from compliance.configcheck import check_config_text
from compliance.configparse import UnsupportedPlatformError
from compliance.outcome import evaluate_rule
from compliance.policy import Policy, Rule, Text, load_policy

HARDENED = Path(__file__).parent / "golden" / "cisco_ios" / "hardened_switch" / "running-config.txt"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def test_outcome_carries_rule_identity(policy: Policy) -> None:
    outcomes = check_config_text(HARDENED.read_text(encoding="utf-8"), "cisco_ios", policy)
    first = outcomes[0]
    assert (first.rule_id, first.severity, first.status) == ("net.telnet_off", "critical", "pass")
    assert first.title_vi.startswith("Tắt Telnet")
    assert first.to_json()["title"]["en"] == "Telnet disabled on all management access"


def test_only_rules_for_the_device_class(policy: Policy) -> None:
    text = HARDENED.read_text(encoding="utf-8")
    assert "net.fw_default_deny" not in {o.rule_id for o in check_config_text(text, "cisco_ios", policy)}
    assert check_config_text(text, "cisco_ios", policy, "desktop") == []


def test_disabled_rule_is_skipped(policy: Policy) -> None:
    rules = tuple(r.model_copy(update={"enabled": False}) if r.id == "net.telnet_off" else r for r in policy.baseline.rules)
    edited = policy.model_copy(update={"baseline": policy.baseline.model_copy(update={"rules": rules})})
    ids = {o.rule_id for o in check_config_text(HARDENED.read_text(encoding="utf-8"), "cisco_ios", edited)}
    assert "net.telnet_off" not in ids and "net.ssh_v2_only" in ids


def test_unknown_platform_and_class(policy: Policy) -> None:
    with pytest.raises(UnsupportedPlatformError, match="unsupported platform 'junos'"):
        check_config_text("", "junos", policy)
    with pytest.raises(ValueError, match="unknown device class"):
        check_config_text("", "cisco_ios", policy, "toaster")


def _rule(check_name: str) -> Rule:
    return Rule(
        id="test.rule", title=Text(vi="Thử", en="Test"), severity="low",
        applies_to=("other",), check=check_name, source="test",
    )  # fmt: skip


def test_unregistered_check_is_not_implemented() -> None:
    outcome = evaluate_rule(_rule("ep.not_written_yet"), subject=None)
    assert outcome.passed is None and "not implemented" in outcome.actual


def test_check_error_does_not_raise() -> None:
    @check("test.boom")
    def boom(subject: object, params: object) -> CheckResult:
        raise RuntimeError("bad input")

    outcome = evaluate_rule(_rule("test.boom"), subject=None)
    assert outcome.passed is None and outcome.actual == "check error: RuntimeError: bad input"


def test_duplicate_registration_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        check("net.telnet_off")(lambda facts, params: CheckResult(True, "", ""))
