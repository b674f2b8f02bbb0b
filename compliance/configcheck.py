"""Check a device's running-config against the baseline (what `kiemke check-config` calls)."""

from __future__ import annotations

from compliance.checks.base import get_check
from compliance.configparse import NetworkConfigFacts, parse_config
from compliance.outcome import RuleOutcome, evaluate_rule
from compliance.policy import DEVICE_CLASSES, Policy

NETWORK_CONFIG = "network_config"


def check_config_text(text: str, platform: str, policy: Policy, device_class: str = "access_switch") -> list[RuleOutcome]:
    """Parse `text` as a `platform` running-config and evaluate the config rules for `device_class`.

    Raises UnsupportedPlatformError (a ValueError) for an unknown platform and ValueError for an
    unknown device class.
    """
    return check_config_facts(parse_config(text, platform), policy, device_class)


def check_config_facts(facts: NetworkConfigFacts, policy: Policy, device_class: str) -> list[RuleOutcome]:
    """Evaluate every enabled rule for `device_class` whose check reads a running-config."""
    if device_class not in DEVICE_CLASSES:
        raise ValueError(f"unknown device class {device_class!r} (known: {', '.join(DEVICE_CLASSES)})")
    return [evaluate_rule(rule, facts) for rule in policy.rules_for(device_class) if _reads_config(rule.check)]


def _reads_config(check_name: str) -> bool:
    registered = get_check(check_name)
    return registered is not None and registered.subject == NETWORK_CONFIG
