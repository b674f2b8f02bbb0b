"""Site coverage: each zone of each site has its firewall and access switch; the Party WAN its BML."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compliance.checks.base import CheckResult, check
from compliance.subjects import SiteSubject
from inventory.choices import DeviceClass

SITE = "site"


def _per_zone(site: SiteSubject, device_class: str, zones: list[str], minimum: int) -> CheckResult:
    counts = {zone: site.in_use.get((zone, device_class), 0) for zone in zones}
    missing = [zone for zone, n in counts.items() if n < minimum]
    actual = ", ".join(f"{zone}: {n}" for zone, n in counts.items())
    return CheckResult(not missing, f">= {minimum} {device_class} in use in each of {', '.join(zones)}", actual, [f"missing in {zone}" for zone in missing])


@check("site.firewall_per_zone", subject=SITE, params={"zones": list, "min_per_zone": int})
def firewall_per_zone(site: SiteSubject, p: Mapping[str, Any]) -> CheckResult:
    return _per_zone(site, DeviceClass.FIREWALL.value, p["zones"], p["min_per_zone"])


@check("site.switch_per_zone", subject=SITE, params={"zones": list, "min_per_zone": int})
def switch_per_zone(site: SiteSubject, p: Mapping[str, Any]) -> CheckResult:
    return _per_zone(site, DeviceClass.ACCESS_SWITCH.value, p["zones"], p["min_per_zone"])


@check("site.bml_party_wan", subject=SITE, params={"zone": str, "min_devices": int})
def bml_party_wan(site: SiteSubject, p: Mapping[str, Any]) -> CheckResult:
    return _per_zone(site, DeviceClass.BML.value, [p["zone"]], p["min_devices"])
