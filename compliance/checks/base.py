"""What a check returns, and the registry that maps check names (used in baseline.yaml) to functions.

A check is a small pure function `(subject, params) -> CheckResult`. The subject depends on the
check's family: `NetworkConfigFacts` for "network_config" checks; other families (endpoint,
lifecycle, origin, zone, site) define their own subject types and register the same way:

    @check("net.telnet_off", subject="network_config")
    def telnet_off(facts: NetworkConfigFacts, params: Mapping[str, Any]) -> CheckResult: ...

`passed` is True, False, or None when the rule does not apply to what was seen (napalm's
"skipped", never "failed").

A check may also register a `verdict`: a function of the same arguments that returns only what
`passed` would be, without building the texts. An engine that keeps only failures calls the
check itself only when the verdict is False. The verdict must be False exactly when the check's
`passed` is False (it may raise where the check raises).

A check may also register a `key`: a function of the subject that returns, as one small
hashable value, everything of the subject the check reads (the rule's params aside). Two subjects
with equal keys get the same result, so an engine evaluates a rule once per distinct key in a run
and reuses the answer for every device that shares it (same purchase date and class, same OS
release, same origin...). A key that leaves out something the check reads is a bug
(tests/compliance/test_check_keys.py holds each key to its check).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

CheckFunc = Callable[[Any, Mapping[str, Any]], "CheckResult"]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check on one subject: expected vs actual, with the evidence behind it."""

    passed: bool | None
    expected: str
    actual: str
    evidence: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """ "pass", "fail" or "n/a"."""
        return {True: "pass", False: "fail", None: "n/a"}[self.passed]


@dataclass(frozen=True)
class RegisteredCheck:
    """A check function with the family of subject it takes and the params it requires."""

    name: str
    func: CheckFunc
    subject: str
    params: Mapping[str, type]
    verdict: Callable[[Any, Mapping[str, Any]], bool | None] | None = None
    key: Callable[[Any], Hashable] | None = None


_REGISTRY: dict[str, RegisteredCheck] = {}

# Check names the shipped baseline references whose functions are written in other modules
# (endpoint, lifecycle, origin, zone, site). The policy loader accepts them; engines treat an
# unregistered one as "not implemented" (skipped). Remove a name once its function registers.
PENDING_CHECKS: frozenset[str] = frozenset()


def check(
    name: str,
    *,
    subject: str = "network_config",
    params: Mapping[str, type] | None = None,
    verdict: Callable[[Any, Mapping[str, Any]], bool | None] | None = None,
    key: Callable[[Any], Hashable] | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check function under `name`; `params` maps required param names to types;
    `verdict` (optional) gives its `passed` alone, cheaply; `key` (optional) is what it reads."""

    def register(func: CheckFunc) -> CheckFunc:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"check {name!r} is already registered")
        _REGISTRY[name] = RegisteredCheck(name, func, subject, dict(params or {}), verdict, key)
        return func

    return register


def registered_checks() -> Mapping[str, RegisteredCheck]:
    """All registered checks by name (import `compliance.checks` first to load them all)."""
    return dict(_REGISTRY)


def get_check(name: str) -> RegisteredCheck | None:
    """The registered check called `name`, or None (pending or unknown)."""
    return _REGISTRY.get(name)


def known_check_names() -> frozenset[str]:
    """Names a baseline rule may reference: registered plus pending."""
    return frozenset(_REGISTRY) | PENDING_CHECKS
