"""Endpoint minimum configuration, lifecycle, origin, zone and firmware checks on one device.

Each returns passed=None when the fact it needs was never collected or recorded: unknown is
shown as unknown, not as a failure (napalm's "skipped").
"""

from __future__ import annotations

from typing import Any, Mapping

from compliance.checks.base import CheckResult, check
from compliance.subjects import DeviceSubject

DEVICE = "device"
UNKNOWN = CheckResult(None, "", "not collected")


def _gb(kb: int) -> float:
    return round(kb / 1024 / 1024, 1)


@check("ep.cpu_cores", subject=DEVICE, params={"min_cores": int, "arch": str})
def cpu_cores(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    cores = d.fact_int("host.cores")
    if cores is None:
        return UNKNOWN
    return CheckResult(cores >= p["min_cores"], f">= {p['min_cores']} cores", f"{cores} cores", [f"hrProcessorTable: {cores} rows"])


@check("ep.ram", subject=DEVICE, params={"min_ram_gb": int})
def ram(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    ram_kb = d.fact_int("host.ram_kb")
    if ram_kb is None:
        return UNKNOWN
    # Firmware reserves some memory: 8 GB modules report a little less than 8 GiB.
    ok = ram_kb >= p["min_ram_gb"] * 1024 * 1024 * 0.95
    return CheckResult(ok, f">= {p['min_ram_gb']} GB", f"{_gb(ram_kb)} GB", [f"hrMemorySize = {ram_kb} KB"])


@check("ep.disk", subject=DEVICE, params={"min_disk_gb": int, "require_ssd": bool})
def disk(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    if not d.facts.get("host.disks"):
        return UNKNOWN
    largest = max(d.disks_kb, default=0)
    ok = largest >= p["min_disk_gb"] * 1024 * 1024 * 0.9  # vendors count GB in 10^9 bytes
    return CheckResult(ok, f">= {p['min_disk_gb']} GB", f"{_gb(largest)} GB", [f"hrStorageFixedDisk sizes (KB): {d.disks_kb}"])


@check("ep.tpm_secure_boot", subject=DEVICE, params={"min_tpm_version": str})
def tpm_secure_boot(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    tpm = d.facts.get("host.tpm_version")
    if not tpm:
        return CheckResult(None, f"TPM {p['min_tpm_version']} and Secure Boot", "not collected (SNMP does not report TPM)")
    return CheckResult(tpm >= p["min_tpm_version"], f"TPM >= {p['min_tpm_version']}", f"TPM {tpm}")


def _support(d: DeviceSubject) -> CheckResult:
    if not d.os_name:
        return UNKNOWN
    entry = d.policy.end_of_support.lookup(d.os_name, d.os_version or "")
    if entry is None:
        return CheckResult(None, "a supported release", f"{d.os_name} {d.os_version or ''}: end of support unknown".strip())
    ok = entry.end_of_support > d.today
    return CheckResult(
        ok, f"supported after {d.today.isoformat()}", f"{d.os_name} {d.os_version or ''} support ends {entry.end_of_support.isoformat()}",
        [f"end_of_support.yaml: {entry.id} ({entry.source})"],
    )  # fmt: skip


@check("ep.os_supported", subject=DEVICE)
def os_supported(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    return _support(d)


@check("net.firmware_supported", subject=DEVICE)
def firmware_supported(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    return _support(d)


def _antivirus(d: DeviceSubject, products: list[str]) -> list[tuple[str, object]]:
    names = [p.lower() for p in products]
    return [(name, installed) for name, installed in d.software if any(p in name.lower() for p in names)]


@check("ep.av_present", subject=DEVICE, params={"products": list})
def av_present(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    if "host.software" not in d.facts:
        return UNKNOWN
    found = _antivirus(d, p["products"])
    return CheckResult(bool(found), "an anti-virus product installed", ", ".join(n for n, _ in found) or "none among installed software", [f"hrSWInstalledName: {n}" for n, _ in found])


@check("ep.av_fresh", subject=DEVICE, params={"max_signature_age_days": int, "products": list})
def av_fresh(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    found = _antivirus(d, p["products"])
    dated = [(n, i) for n, i in found if i is not None]
    if not dated:
        return CheckResult(None, "", "no anti-virus with a known update date")
    name, newest = max(dated, key=lambda item: item[1])
    age = (d.today - newest).days
    ok = age <= p["max_signature_age_days"]
    return CheckResult(ok, f"signatures at most {p['max_signature_age_days']} days old", f"{age} days old ({newest.isoformat()})", [f"hrSWInstalledDate of {name}: {newest.isoformat()}"])


@check("ep.disk_encryption", subject=DEVICE)
def disk_encryption(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    state = d.facts.get("host.disk_encryption")
    if state is None:
        return CheckResult(None, "full-disk encryption on", "not collected (SNMP does not report encryption)")
    return CheckResult(state == "on", "full-disk encryption on", state)


@check("ep.one_zone", subject=DEVICE)
def one_zone(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    if d.zone is None:
        return CheckResult(False, "recorded in exactly one zone", "no zone recorded")
    foreign = sorted(d.zones_seen - {d.zone})
    if not d.zones_seen:
        return CheckResult(True, f"only in {d.zone}", f"recorded in {d.zone}")
    return CheckResult(not foreign, f"only in {d.zone}", f"seen in {', '.join(sorted(d.zones_seen))}", [f"MAC {m} seen in {', '.join(sorted(d.zones_seen))}" for m in d.seen_macs])


@check("zone.mac_both_zones", subject=DEVICE)
def mac_both_zones(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    both = {"party_wan", "internet"} <= d.zones_seen
    return CheckResult(not both, "MAC seen in one zone only", "seen in both zones" if both else "one zone", [f"MAC {m} seen on the Party WAN and the Internet network" for m in d.seen_macs] if both else [])


@check("zone.ip_in_subnet", subject=DEVICE)
def ip_in_subnet(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    inside = d.ip_in_zone()
    if inside is None:
        return CheckResult(None, "", "no address or no zone subnet")
    return CheckResult(inside, f"address inside {', '.join(d.zone_subnets)}", d.mgmt_ip or "")


@check("lc.service_life", subject=DEVICE)
def service_life(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    if d.purchase_date is None:
        return CheckResult(None, "", "no purchase date recorded")
    years = d.policy.service_life.years_for(d.device_class)
    end = end_of_life(d.purchase_date, years)
    return CheckResult(end > d.today, f"younger than {years} years", f"bought {d.purchase_date.isoformat()}, service life ends {end.isoformat()}")


def end_of_life(bought, years: int):
    try:
        return bought.replace(year=bought.year + years)
    except ValueError:  # 29 February
        return bought.replace(year=bought.year + years, day=28)


@check("lc.broken", subject=DEVICE)
def broken(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    return CheckResult(d.status != "broken", "not broken", d.status)


@check("origin.allowed", subject=DEVICE, params={"unknown_is_finding": bool})
def origin_allowed(d: DeviceSubject, p: Mapping[str, Any]) -> CheckResult:
    code = d.country_of_origin
    if not code:
        return CheckResult(False if p["unknown_is_finding"] else None, "an allowed country of origin", "unknown origin")
    return CheckResult(d.policy.origin.is_allowed(code), "Vietnam, ASEAN, Korea, Israel, Mexico, G7 or EU", code)
