"""A rule evaluated on one subject: the rule's identity joined to its check's result.

`evaluate_rule` is the one place a check is called: an unregistered (pending) check gives
"not implemented" and an exception inside a check gives an error outcome; neither stops a run.
A pass on a config with an unreadable line the check reads is "not evaluated" (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compliance.checks.base import CheckResult, get_check
from compliance.checks.network import voiding_gaps

if TYPE_CHECKING:
    from compliance.policy import Rule


@dataclass(frozen=True)
class RuleOutcome:
    """What a report shows for one rule on one device."""

    rule_id: str
    title_vi: str
    title_en: str
    severity: str
    passed: bool | None  # None: not applicable, not implemented or check error
    expected: str
    actual: str
    evidence: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """ "pass", "fail" or "n/a"."""
        return {True: "pass", False: "fail", None: "n/a"}[self.passed]

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "title": {"vi": self.title_vi, "en": self.title_en},
            "severity": self.severity,
            "passed": self.passed,
            "expected": self.expected,
            "actual": self.actual,
            "evidence": list(self.evidence),
        }


def outcome_from(rule: Rule, result: CheckResult) -> RuleOutcome:
    """Join a rule and its check result."""
    return RuleOutcome(
        rule.id, rule.title.vi, rule.title.en, rule.severity,
        result.passed, result.expected, result.actual, list(result.evidence),
    )  # fmt: skip


def evaluate_rule(rule: Rule, subject: Any) -> RuleOutcome:
    """Run the rule's check on `subject`; never raises for a failing or missing check."""
    registered = get_check(rule.check)
    if registered is None:
        return outcome_from(rule, CheckResult(None, "", f"check {rule.check!r} not implemented"))
    try:
        result = registered.func(subject, rule.params)
    except Exception as exc:  # one broken check must not sink the report  # noqa: BLE001
        result = CheckResult(None, "", f"check error: {type(exc).__name__}: {exc}")
    unread = voiding_gaps(rule.check, subject, result.passed, result.evidence)
    if unread:  # what was read passed (or failed for want of lines), but what was not might not have
        actual = "not evaluated: " + "; ".join(str(u) for u in unread)
        result = CheckResult(None, result.expected, actual, [str(u.line) for u in unread if u.line.number])
    return outcome_from(rule, result)
