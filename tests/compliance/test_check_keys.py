"""Check keys (compliance/checks/base.py): subjects with equal keys get equal results, and the
engine's keyed answers (one evaluation per distinct key in a run) change nothing it reports.

Subjects are test_verdicts' real ones: the benchmark's synthetic fleet and varied or edge-case
devices, with every enabled baseline rule's params.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest

from compliance import engine
from compliance.checks.base import get_check, registered_checks
from compliance.subjects import DeviceSubject
from tests.compliance.test_verdicts import POLICY, subjects

KEYED_RULES = tuple(r for r in POLICY.baseline.rules if r.enabled and get_check(r.check) and get_check(r.check).key)


def _result(func, subject, params) -> object:
    try:
        outcome = func(subject, params)
    except Exception as exc:
        return type(exc)
    return (outcome.passed, outcome.expected, outcome.actual, tuple(outcome.evidence))


def test_keys_are_used() -> None:
    keyed = {name for name, c in registered_checks().items() if c.key is not None}
    assert {"lc.service_life", "ep.os_supported", "origin.allowed"} <= keyed
    assert {r.check for r in KEYED_RULES} == keyed, "a keyed check no enabled rule uses is untested here"


@pytest.mark.parametrize("rule_id", [r.id for r in KEYED_RULES])
def test_equal_keys_give_equal_results(rule_id: str) -> None:
    rule = POLICY.rule(rule_id)
    registered = get_check(rule.check)
    groups: dict[object, dict[object, list[str]]] = defaultdict(lambda: defaultdict(list))
    for label, subject in subjects()[registered.subject]:
        groups[registered.key(subject)][_result(registered.func, subject, rule.params)].append(label)
    differing = {key: results for key, results in groups.items() if len(results) > 1}
    shown = "\n".join(f"  key {key!r}: " + "; ".join(f"{labels[0][:80]} -> {result!r}" for result, labels in results.items()) for key, results in list(differing.items())[:3])
    assert not differing, f"{rule_id}: subjects with equal keys get different results:\n{shown}"
    shared = [key for key, results in groups.items() if sum(len(labels) for labels in results.values()) > 1]
    assert shared, f"{rule_id}: no two subjects share a key here (the test would be vacuous)"


def _unkeyed(plan: dict) -> dict:
    return {cls: tuple(tuple(check[:6] + (None,) for check in checks) for checks in families) for cls, families in plan.items()}


def test_keyed_answers_report_what_plain_calls_do() -> None:
    """The whole device fleet of test_verdicts, with and without keyed answers: same violations
    in the same order, same errors."""
    devices = [d for _, d in subjects()["device"]]
    plan = engine._plan(POLICY)
    keyed = engine._evaluate_devices(devices, plan, {})
    plain = engine._evaluate_devices(devices, _unkeyed(plan), {})
    assert keyed.violations == plain.violations
    assert keyed.errors.counts == plain.errors.counts and keyed.errors.subjects == plain.errors.subjects
    assert keyed.checks_run == plain.checks_run and keyed.failing == plain.failing
    assert {v.rule_id for v in keyed.violations} >= {"lc.service_life", "ep.os_supported", "origin.allowed"}


def _laptop(device_id: int, today: date, policy=POLICY) -> DeviceSubject:
    return DeviceSubject(
        id=device_id, device_class="laptop", site_id=1, zone="internet", status="in_use", today=today, policy=policy,
        os_name="Windows 10 Pro", os_version="22H2", country_of_origin="VN", purchase_date=date(2020, 6, 1),
    )  # fmt: skip


def test_answers_follow_the_day_and_the_policy_within_one_run() -> None:
    """A key holds the day and the policy: devices alike but for those get their own answers,
    in the same run and from one run to the next."""
    years = POLICY.service_life.years_for("laptop")
    end = date(2020 + years, 6, 1)
    patient = POLICY.model_copy(update={"service_life": POLICY.service_life.model_copy(update={"by_class": {**POLICY.service_life.by_class, "laptop": years + 5}})})
    devices = [_laptop(1, end - timedelta(days=1)), _laptop(2, end), _laptop(3, end, patient), _laptop(4, end - timedelta(days=1))]
    failing = {v.device_id for v in engine.evaluate(devices, [], POLICY).violations if v.rule_id == "lc.service_life"}
    assert failing == {2}
    again = [_laptop(5, end), _laptop(6, end, patient)]
    assert {v.device_id for v in engine.evaluate(again, [], POLICY).violations if v.rule_id == "lc.service_life"} == {5}
