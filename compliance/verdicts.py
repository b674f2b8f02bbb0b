"""Every rule that applies to one device, with its verdict on the device's data as it is now.

The device page shows this beside the stored state, so a reader sees each rule's pass, fail or
"not evaluated, because ..." (an agent's encryption and anti-virus verdicts, a TPM nobody
reported) rather than only the failures. The device is loaded as the engine loads it
(`load_fleet` over a one-device scope) and each rule runs through `evaluate_rule`, the one place a
check is called for a report; nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from compliance.checks.base import CheckResult, get_check
from compliance.checks.device import DEVICE
from compliance.configparse import PLATFORMS
from compliance.engine import Scope, load_fleet
from compliance.outcome import RuleOutcome, evaluate_rule, outcome_from
from compliance.policy import Policy
from inventory.models import Device

NETWORK_CONFIG = "network_config"


@dataclass(frozen=True)
class DeviceVerdicts:
    """The device's rules in baseline order, and how many passed, failed or were not evaluated."""

    outcomes: list[RuleOutcome]

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)


def device_verdicts(session: Session, device_id: int, policy: Policy, today: date) -> DeviceVerdicts | None:
    """The verdict of each enabled device and configuration rule for the device's class (site
    rules are the site's); None for an unknown device."""
    device = session.get(Device, device_id)
    if device is None:
        return None
    fleet = load_fleet(session, policy, today, Scope(frozenset({device_id}), frozenset({device.site_id})))
    subject = next((d for d in fleet.devices if d.id == device_id), None)
    if subject is None:  # disposed: no longer evaluated
        return DeviceVerdicts([])
    config = fleet.configs.get(device_id)
    config_error = fleet.configs.errors.get(device_id)
    outcomes = []
    for rule in policy.rules_for(subject.device_class):
        registered = get_check(rule.check)
        family = registered.subject if registered is not None else None
        if family == DEVICE:
            outcomes.append(evaluate_rule(rule, subject))
        elif family == NETWORK_CONFIG:
            if config is not None:
                outcomes.append(evaluate_rule(rule, config))
            else:
                outcomes.append(outcome_from(rule, CheckResult(None, "", _no_config(device_id, fleet.platforms, config_error))))
    return DeviceVerdicts(outcomes)


def _no_config(device_id: int, platforms: dict[int, str], error: str | None) -> str:
    platform = platforms.get(device_id)
    if platform is None:
        return "not evaluated: no parser for its platform"
    if platform not in PLATFORMS:  # recorded, but kiemke reads no configuration of it
        return f"not evaluated: no parser for its platform ({platform})"
    if error is not None:
        return f"not evaluated: configuration unreadable ({error})"
    return "not evaluated: no configuration collected"
