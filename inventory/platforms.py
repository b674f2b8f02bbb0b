"""Which platform a device recorded without one has, from its vendor and OS name.

The rules are data (``inventory/data/platforms.yaml``), validated on load: every platform must
be one kiemke collects and parses (``inventory.choices.Platform``) or null (an OS without a
parser), every regex must compile.
One table for both users: the collector logs in as that platform, and compliance reads the
device's configuration with that parser. A device's own ``platform`` always wins; the collector
records the platform on the device once an SSH visit with it brought a configuration back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from inventory.choices import Platform

PLATFORMS_FILE = Path(__file__).with_name("data") / "platforms.yaml"


class PlatformRulesError(ValueError):
    """The rules file is missing, malformed or names an unknown platform."""


@dataclass(frozen=True)
class PlatformRule:
    vendor: str  # compared case-insensitively
    os: re.Pattern[str] | None
    platform: str | None  # None: the vendor's OS named by `os` has no parser


def load_rules(path: Path = PLATFORMS_FILE) -> tuple[PlatformRule, ...]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PlatformRulesError(f"{path}: cannot read: {exc}") from exc
    rows = data.get("platforms") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise PlatformRulesError(f"{path}: a list `platforms:` is required")
    known = {p.value for p in Platform}
    rules = []
    for n, row in enumerate(rows):
        where = f"{path}: platforms[{n}]"
        if not isinstance(row, dict) or not isinstance(row.get("vendor"), str) or "platform" not in row or (row["platform"] is not None and row["platform"] not in known):
            raise PlatformRulesError(f"{where}: needs `vendor` and `platform` (one of {sorted(known)}, or null)")
        pattern = None
        if row.get("os") is not None:
            try:
                pattern = re.compile(str(row["os"]), re.I)
            except re.error as exc:
                raise PlatformRulesError(f"{where}: bad regular expression {row['os']!r}: {exc}") from exc
        rules.append(PlatformRule(row["vendor"].casefold(), pattern, row["platform"]))
    return tuple(rules)


@lru_cache(maxsize=1)
def _rules() -> tuple[PlatformRule, ...]:
    return load_rules()


def platform_for(vendor: str | None, os_name: str | None) -> str | None:
    """The platform of a device of ``vendor`` running ``os_name``, or None when no rule fits."""
    if not vendor:
        return None
    name = vendor.strip().casefold()
    for rule in _rules():
        if rule.vendor == name and (rule.os is None or (os_name and rule.os.search(os_name))):
            return rule.platform
    return None
