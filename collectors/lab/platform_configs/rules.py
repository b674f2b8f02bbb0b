"""The rule bookkeeping every platform generator shares: which rules apply, what an insecure
form also breaks, argument checks and the hostname-hashed choice of variants."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping

from collectors.lab.spec import NETWORK_CONFIG_RULES


def applicable(not_applicable: frozenset[str], *, is_firewall: bool) -> frozenset[str]:
    """Every config rule but the platform's inapplicable ones; net.fw_default_deny only on firewalls."""
    rules = set(NETWORK_CONFIG_RULES) - not_applicable
    if not is_firewall:
        rules.discard("net.fw_default_deny")
    return frozenset(rules)


def implied(violations: Iterable[str], implies: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """``violations`` plus what each one's insecure form also breaks (one step: an implied failure
    is not an insecure form of its own, so it implies nothing further)."""
    asked = frozenset(violations)
    found = set(asked)
    for rule in asked:
        found |= implies.get(rule, frozenset())
    return frozenset(found)


def checked(platform: str, violations: Iterable[str], allowed: frozenset[str], *, is_firewall: bool) -> frozenset[str]:
    """``violations`` as a set, or ValueError naming unknown and inapplicable rule ids."""
    asked = frozenset(violations)
    unknown = asked - set(NETWORK_CONFIG_RULES)
    if unknown:
        raise ValueError(f"unknown rule ids: {sorted(unknown)}")
    na = asked - allowed
    if na:
        raise ValueError(f"rules not applicable to {platform} (firewall={is_firewall}): {sorted(na)}")
    return asked


def variant(hostname: str, salt: str = "") -> int:
    """A stable number per hostname (and salt) that picks between insecure variants."""
    return zlib.crc32(f"{salt}:{hostname}".encode())


def opaque(seed: str, length: int, alphabet: str) -> str:
    """``length`` characters of ``alphabet`` derived from ``seed``: looks like ciphertext, hides
    nothing (lab secrets are made up, never real ones)."""
    digest = hashlib.sha512(seed.encode()).digest()
    while len(digest) < length:
        digest += hashlib.sha512(digest).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])
