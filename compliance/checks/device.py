"""Endpoint minimum configuration, lifecycle, origin, zone and firmware checks on one device.

Each returns passed=None when the fact it needs was never collected or recorded: unknown is
shown as unknown, not as a failure (napalm's "skipped").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from compliance.checks.base import CheckResult, check
from compliance.lifecycle import BROKEN, service_life_end, support_ended
from compliance.lifecycle import service_life_end as end_of_life  # noqa: F401  (the name tests import)
from compliance.subjects import DeviceSubject
from inventory.choices import ZoneKind, values

DEVICE = "device"
UNKNOWN = CheckResult(None, "", "not collected")


def _gb(kb: int) -> float:
    return round(kb / 1024 / 1024, 1)


# Each check below has a verdict (see compliance.checks.base): the same decision, no texts.
# Those whose inputs repeat across a fleet (a batch bought the same day, one OS release on many
# machines) also have a key: what they read. The policy is keyed by identity: an engine keeps
# keyed answers for one run only, while every subject (and so its policy) is alive.


def _cores_key(d: DeviceSubject) -> object:
    return d.facts.get("host.cores")


def _ram_key(d: DeviceSubject) -> object:
    return d.facts.get("host.ram_kb")


def _disks_key(d: DeviceSubject) -> object:
    return d.facts.get("host.disks")


def _release_key(d: DeviceSubject) -> object:
    return (d.os_name, d.os_version, d.today, id(d.policy))


def _service_life_key(d: DeviceSubject) -> object:
    return (d.purchase_date, d.device_class, d.today, id(d.policy))


def _origin_key(d: DeviceSubject) -> object:
    return (d.country_of_origin, id(d.policy))


def _cpu_cores_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    cores = d.fact_int("host.cores")
    return None if cores is None else cores >= p["min_cores"]


@check("ep.cpu_cores", subject=DEVICE, params={"min_cores": int, "arch": str}, verdict=_cpu_cores_passed, key=_cores_key)
def cpu_cores(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    cores = d.fact_int("host.cores")
    if cores is None:
        return UNKNOWN
    return CheckResult(cores >= p["min_cores"], f">= {p['min_cores']} cores", f"{cores} cores", [f"hrProcessorTable: {cores} rows"])


def _ram_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    ram_kb = d.fact_int("host.ram_kb")
    return None if ram_kb is None else ram_kb >= p["min_ram_gb"] * 1024 * 1024 * 0.95


@check("ep.ram", subject=DEVICE, params={"min_ram_gb": int}, verdict=_ram_passed, key=_ram_key)
def ram(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    ram_kb = d.fact_int("host.ram_kb")
    if ram_kb is None:
        return UNKNOWN
    # Firmware reserves some memory: 8 GB modules report a little less than 8 GiB.
    ok = ram_kb >= p["min_ram_gb"] * 1024 * 1024 * 0.95
    return CheckResult(ok, f">= {p['min_ram_gb']} GB", f"{_gb(ram_kb)} GB", [f"hrMemorySize = {ram_kb} KB"])


def _big_disks(d: DeviceSubject, p: Mapping[str, Any]) -> list[str | None]:
    """The kinds ("SSD", "HDD" or None: not reported) of the disks large enough."""
    minimum = p["min_disk_gb"] * 1024 * 1024 * 0.9  # vendors count GB in 10^9 bytes
    return [kind for _, size, kind in d.disks if size >= minimum]


def _disk_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    if not d.facts.get("host.disks"):
        return None
    big = _big_disks(d, p)
    if not big:
        return False
    if not p["require_ssd"] or "SSD" in big:
        return True
    # Large enough, but not known to be an SSD: HDD alone fails; a type nobody reported is not a pass.
    return False if all(kind == "HDD" for kind in big) else None


@check("ep.disk", subject=DEVICE, params={"min_disk_gb": int, "require_ssd": bool}, verdict=_disk_passed, key=_disks_key)
def disk(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    if not d.facts.get("host.disks"):
        return UNKNOWN
    largest = max(d.disks_kb, default=0)
    typed = any(kind for _, _, kind in d.disks)
    described = ", ".join(f"{desc} {_gb(size)} GB {kind or '(type not reported)'}" for desc, size, kind in d.disks)
    evidence = [f"disks reported: {described}"] if typed else [f"hrStorageFixedDisk sizes (KB): {d.disks_kb}"]
    big = _big_disks(d, p)
    if not big:
        return CheckResult(False, f">= {p['min_disk_gb']} GB", f"{_gb(largest)} GB", evidence)
    if not p["require_ssd"] or "SSD" in big:
        return CheckResult(True, f">= {p['min_disk_gb']} GB" + (" SSD" if p["require_ssd"] else ""), f"{_gb(largest)} GB", evidence)
    if all(kind == "HDD" for kind in big):
        return CheckResult(False, f"SSD >= {p['min_disk_gb']} GB", f"HDD {_gb(largest)} GB", evidence)
    return CheckResult(None, f"SSD >= {p['min_disk_gb']} GB", "disk type (SSD or HDD) not reported", evidence)


def _tpm_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    tpm = d.facts.get("host.tpm_version")
    if not tpm:
        return None
    if tpm < p["min_tpm_version"] or d.facts.get("host.secure_boot") in ("disabled", "unsupported"):
        return False
    return True if d.facts.get("host.secure_boot") == "enabled" else None


@check("ep.tpm_secure_boot", subject=DEVICE, params={"min_tpm_version": str}, verdict=_tpm_passed)
def tpm_secure_boot(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    tpm = d.facts.get("host.tpm_version")
    secure_boot = d.facts.get("host.secure_boot")
    expected = f"TPM >= {p['min_tpm_version']} and Secure Boot enabled"
    if not tpm:
        # No agent reports TPM (GLPI Agent, FusionInventory, SNMP): only a recorded or imported value.
        return CheckResult(None, expected, "TPM not collected (no agent reports it; record it in the device import)")
    evidence = [f"TPM {tpm}"] + ([f"Secure Boot {secure_boot}"] if secure_boot else [])
    if tpm < p["min_tpm_version"]:
        return CheckResult(False, expected, f"TPM {tpm}", evidence)
    if secure_boot in ("disabled", "unsupported"):
        return CheckResult(False, expected, f"Secure Boot {secure_boot}", evidence)
    if secure_boot != "enabled":
        return CheckResult(None, expected, f"TPM {tpm}; Secure Boot not collected", evidence)
    return CheckResult(True, expected, f"TPM {tpm}, Secure Boot enabled", evidence)


# (policy section, {arguments: answer}): answers of the current policy's lookups. Policies are
# frozen, so an answer never changes; holding the section keeps its identity unique.
_eos_answers: tuple[object, dict] = (None, {})
_origin_answers: tuple[object, dict] = (None, {})


def _end_of_support(d: DeviceSubject) -> Any:
    global _eos_answers
    policy = d.policy.end_of_support
    section, answers = _eos_answers
    if section is not policy:
        section, answers = _eos_answers = (policy, {})
    key = (d.os_name, d.os_version or "")
    if key not in answers:
        answers[key] = policy.lookup(*key)
    return answers[key]


def _allowed_origin(d: DeviceSubject, code: str) -> bool:
    global _origin_answers
    policy = d.policy.origin
    section, answers = _origin_answers
    if section is not policy:
        section, answers = _origin_answers = (policy, {})
    if code not in answers:
        answers[code] = policy.is_allowed(code)
    return answers[code]


def _support_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    if not d.os_name:
        return None
    entry = _end_of_support(d)
    return None if entry is None else not support_ended(entry.end_of_support, d.today)


def _support(d: DeviceSubject) -> CheckResult:
    if not d.os_name:
        return UNKNOWN
    entry = _end_of_support(d)
    if entry is None:
        return CheckResult(None, "a supported release", f"{d.os_name} {d.os_version or ''}: end of support unknown".strip())
    ok = not support_ended(entry.end_of_support, d.today)
    return CheckResult(
        ok, f"supported after {d.today.isoformat()}", f"{d.os_name} {d.os_version or ''} support ends {entry.end_of_support.isoformat()}",
        [f"end_of_support.yaml: {entry.id} ({entry.source})"],
    )  # fmt: skip


@check("ep.os_supported", subject=DEVICE, verdict=_support_passed, key=_release_key)
def os_supported(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    return _support(d)


@check("net.firmware_supported", subject=DEVICE, verdict=_support_passed, key=_release_key)
def firmware_supported(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    return _support(d)


def _product_matcher(products: tuple[str, ...] | list[str]) -> Callable[[str], object]:
    """Whether a lower-cased software name contains one of the lower-cased `products`."""
    names = [p.lower() for p in products]
    if not names:
        return lambda name: None  # noqa: ARG005 (a matcher that matches nothing)
    return re.compile("|".join(re.escape(p) for p in names)).search


_cached_product_matcher = lru_cache(maxsize=64)(_product_matcher)


def _matcher_for(products: list[str]) -> Callable[[str], object]:
    try:
        return _cached_product_matcher(tuple(products))
    except TypeError:  # unhashable product names: fail (or not) as the plain matcher does
        return _product_matcher(products)


# (subject, products, result) of the last call: av_present and av_fresh ask the same in a row.
_last_antivirus: tuple[object, object, list] = (None, None, [])


def _antivirus(d: DeviceSubject, products: list[str]) -> list[tuple[str, object]]:
    global _last_antivirus
    subject, asked, found = _last_antivirus
    if subject is d and asked == products:
        return found
    matches = _matcher_for(products)
    found = [(name, installed) for name, installed in d.software if matches(name.lower())]
    _last_antivirus = (d, list(products), found)
    return found


def _reported_antivirus(d: DeviceSubject, products: list[str]) -> list[dict[str, Any]]:
    """The agent-reported anti-virus products that are among the policy's `products`."""
    matches = _matcher_for(products)
    return [entry for entry in d.antivirus or () if matches(str(entry["name"]).lower())]


def _av_present_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    if d.antivirus is not None:  # an agent's report of the machine's anti-virus says more than a software list
        return any(entry.get("enabled") is not False for entry in _reported_antivirus(d, p["products"]))
    if "host.software" not in d.facts:
        return None
    return bool(_antivirus(d, p["products"]))


@check("ep.av_present", subject=DEVICE, params={"products": list}, verdict=_av_present_passed)
def av_present(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    expected = "an anti-virus product installed"
    if d.antivirus is not None:
        found = _reported_antivirus(d, p["products"])
        running = [entry for entry in found if entry.get("enabled") is not False]
        evidence = [f"agent: {entry['name']} ({_switch(entry.get('enabled'), 'enabled', 'disabled')})" for entry in d.antivirus]
        if running:
            return CheckResult(True, expected, ", ".join(str(entry["name"]) for entry in running), evidence)
        actual = ", ".join(f"{entry['name']} disabled" for entry in found) or "none among the reported anti-virus products"
        return CheckResult(False, expected, actual, evidence)
    if "host.software" not in d.facts:
        return UNKNOWN
    found = _antivirus(d, p["products"])
    return CheckResult(bool(found), expected, ", ".join(n for n, _ in found) or "none among installed software", [f"hrSWInstalledName: {n}" for n, _ in found])


def _switch(value: object, yes: str, no: str) -> str:
    return yes if value is True else no if value is False else "not reported"


def _signature_age(entry: Mapping[str, Any], today: Any) -> int | None:
    try:
        return (today - date.fromisoformat(entry["signature_date"])).days if entry.get("signature_date") else None
    except (TypeError, ValueError):
        return None


def _agent_av_fresh(d: DeviceSubject, p: Mapping[str, Any]) -> tuple[bool | None, str, list[str]]:
    """(verdict, what was found, evidence) from the agent-reported products: the signature date
    where reported, else the agent's own "up to date" flag."""
    running = [entry for entry in _reported_antivirus(d, p["products"]) if entry.get("enabled") is not False]
    if not running:
        return None, "no running anti-virus reported", []
    evidence = [
        f"agent: {entry['name']}: signatures {entry.get('signature_version') or ''} of {entry.get('signature_date') or 'unknown date'}, up to date: {_switch(entry.get('up_to_date'), 'yes', 'no')}"
        for entry in running
    ]
    ages = [age for age in (_signature_age(entry, d.today) for entry in running) if age is not None]
    if ages:
        age = min(ages)
        return age <= p["max_signature_age_days"], f"{age} days old", evidence
    flags = [entry.get("up_to_date") for entry in running]
    if True in flags:
        return True, "up to date (as the agent reports; no signature date)", evidence
    if False in flags:
        return False, "out of date (as the agent reports)", evidence
    return None, "signature date not reported", evidence


def _newest_antivirus(d: DeviceSubject, p: Mapping[str, Any]) -> tuple[str, Any] | None:
    """(name, installed date) of the most recently updated anti-virus, None when none is dated."""
    dated = [(n, i) for n, i in _antivirus(d, p["products"]) if i is not None]
    return max(dated, key=lambda item: item[1]) if dated else None


def _av_fresh_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    if d.antivirus is not None:
        return _agent_av_fresh(d, p)[0]
    newest = _newest_antivirus(d, p)
    return None if newest is None else (d.today - newest[1]).days <= p["max_signature_age_days"]


@check("ep.av_fresh", subject=DEVICE, params={"max_signature_age_days": int, "products": list}, verdict=_av_fresh_passed)
def av_fresh(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    expected = f"signatures at most {p['max_signature_age_days']} days old"
    if d.antivirus is not None:
        verdict, actual, evidence = _agent_av_fresh(d, p)
        return CheckResult(verdict, expected, actual, evidence)
    found = _newest_antivirus(d, p)
    if found is None:
        return CheckResult(None, "", "no anti-virus with a known update date")
    name, newest = found
    age = (d.today - newest).days
    ok = age <= p["max_signature_age_days"]
    return CheckResult(ok, expected, f"{age} days old ({newest.isoformat()})", [f"hrSWInstalledDate of {name}: {newest.isoformat()}"])


def _disk_encryption_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    state = d.facts.get("host.disk_encryption")
    return None if state is None else state == "on"


@check("ep.disk_encryption", subject=DEVICE, verdict=_disk_encryption_passed)
def disk_encryption(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    state = d.facts.get("host.disk_encryption")
    if state is None:
        return CheckResult(None, "full-disk encryption on", "not collected (SNMP does not report encryption)")
    detail = d.facts.get("host.encryption_detail")
    return CheckResult(state == "on", "full-disk encryption on", state, [detail] if detail else [])


def _one_zone_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    if d.zone is None:
        return False
    foreign = sorted(d.zones_seen - {d.zone})
    return True if not d.zones_seen else not foreign


@check("ep.one_zone", subject=DEVICE, verdict=_one_zone_passed)
def one_zone(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    if d.zone is None:
        return CheckResult(False, "recorded in exactly one zone", "no zone recorded")
    foreign = sorted(d.zones_seen - {d.zone})
    if not d.zones_seen:
        return CheckResult(True, f"only in {d.zone}", f"recorded in {d.zone}")
    return CheckResult(not foreign, f"only in {d.zone}", f"seen in {', '.join(sorted(d.zones_seen))}", [f"MAC {m} seen in {', '.join(sorted(d.zones_seen))}" for m in d.seen_macs])


_BOTH_ZONES = frozenset(values(ZoneKind))


def _mac_both_zones_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    return not d.zones_seen >= _BOTH_ZONES


@check("zone.mac_both_zones", subject=DEVICE, verdict=_mac_both_zones_passed)
def mac_both_zones(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    both = d.zones_seen >= _BOTH_ZONES
    return CheckResult(
        not both,
        "MAC seen in one zone only",
        "seen in both zones" if both else "one zone",
        [*(f"MAC {m} seen on the Party WAN and the Internet network" for m in d.seen_macs), *d.seen_at] if both else [],
    )


def _ip_in_subnet_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    return d.ip_in_zone()


@check("zone.ip_in_subnet", subject=DEVICE, verdict=_ip_in_subnet_passed)
def ip_in_subnet(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    inside = d.ip_in_zone()
    if inside is None:
        return CheckResult(None, "", "no address or no zone subnet")
    return CheckResult(inside, f"address inside {', '.join(d.zone_subnets)}", d.mgmt_ip or "")


def _service_life_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    if d.purchase_date is None:
        return None
    return service_life_end(d.purchase_date, d.policy.service_life.years_for(d.device_class)) > d.today


@check("lc.service_life", subject=DEVICE, verdict=_service_life_passed, key=_service_life_key)
def service_life(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    if d.purchase_date is None:
        return CheckResult(None, "", "no purchase date recorded")
    years = d.policy.service_life.years_for(d.device_class)
    end = service_life_end(d.purchase_date, years)
    return CheckResult(end > d.today, f"younger than {years} years", f"bought {d.purchase_date.isoformat()}, service life ends {end.isoformat()}")


def _broken_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    return d.status != BROKEN


@check("lc.broken", subject=DEVICE, verdict=_broken_passed)
def broken(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    return CheckResult(d.status != BROKEN, "not broken", d.status)


def _origin_passed(d: DeviceSubject, p: Mapping[str, Any]) -> bool | None:
    code = d.country_of_origin
    if not code:
        return False if p["unknown_is_finding"] else None
    return _allowed_origin(d, code)


@check("origin.allowed", subject=DEVICE, params={"unknown_is_finding": bool}, verdict=_origin_passed, key=_origin_key)
def origin_allowed(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    code = d.country_of_origin
    if not code:
        return CheckResult(False if p["unknown_is_finding"] else None, "an allowed country of origin", "unknown origin")
    return CheckResult(_allowed_origin(d, code), "Vietnam, ASEAN, Korea, Israel, Mexico, G7 or EU", code)
