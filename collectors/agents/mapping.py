"""An agent's inventory content -> AgentReport, one mapping for both protocols.

GLPI Agent sends JSON with lower-case sections (`"cpus": [...]`); FusionInventory and OCS send
XML with upper-case ones (`<CPUS>`), repeated once per entry. `report_from_xml` first brings the
XML to the JSON shape (lower case, repeated sections as lists, the few renamed fields renamed),
then both go through `_report`. Field names follow GLPI's inventory.schema.json.

Only the sections named in `KEPT_SECTIONS` are read; everything else (environment variables,
processes, software) is dropped here and goes nowhere.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from collectors.agents.records import AgentAntivirus, AgentNic, AgentReport, AgentStorage, Protocol
from collectors.agents.wire import AgentMessageError
from inventory.identity import normalize_mac
from inventory.text import clean_text

# The sections the mapping reads; "firewall" is FusionInventory's XML name of "firewalls".
KEPT_SECTIONS = frozenset(
    {
        "bios",
        "hardware",
        "operatingsystem",
        "cpus",
        "memories",
        "storages",
        "drives",
        "antivirus",
        "firewalls",
        "firewall",
        "networks",
        "versionclient",
    }
)
SINGLE_SECTIONS = frozenset({"bios", "hardware", "operatingsystem"})  # one object, not a list
# A real machine has tens of entries in a section; this many is an attack or a broken agent.
MAX_SECTION_ENTRIES = 10_000

# Lengths kept of each text field.
CAP_HOSTNAME = 255
CAP_VENDOR = 100
CAP_MODEL = 200
CAP_OS = 100
CAP_SHORT = 100
CAP_DESCRIPTION = 200

# Values firmware leaves in place of a real one ("To Be Filled By O.E.M."), compared lower-case.
_PLACEHOLDERS = frozenset(
    {
        "to be filled by o.e.m.",
        "default string",
        "system serial number",
        "system manufacturer",
        "system product name",
        "not specified",
        "not applicable",
        "none",
        "n/a",
        "0",
    }
)
_BOGUS_UUID = re.compile(r"^[0-]+$|^[fF-]+$")
_INTEGER = re.compile(r"^\s*\d{1,18}(?:\.0*)?\s*$")
_BUILD_NUMBER = re.compile(r"^\d+(?:\.\d+)+$")
_TRUE = frozenset({"1", "true", "yes", "on", "enabled"})
_FALSE = frozenset({"0", "false", "no", "off", "disabled"})
_SSD_TYPES = frozenset({"ssd", "solid state", "solid state drive", "solid-state drive", "solid state disk"})
# "Fixed hard disk media" (Windows' media type of every internal disk, SSDs too) is not here on purpose.
_HDD_TYPES = frozenset({"hdd", "hard disk", "hard disk drive", "hard drive", "rotational"})
_NOT_FIXED = ("cd", "dvd", "rom", "removable", "floppy", "usb", "external", "tape", "card reader")
_ENCRYPTION_STATUS: dict[str, Literal["on", "partial", "off"]] = {
    "yes": "on",
    "partially": "partial",
    "partial": "partial",
    "no": "off",
}
_MAX_SIZE_MB = 10**12  # a petabyte: anything larger is nonsense, not a disk


def report_from_json(data: Mapping[str, Any], *, partial: bool) -> AgentReport:
    """A GLPI Agent inventory message (`{"deviceid": ..., "content": {...}}`) as a report."""
    deviceid = data.get("deviceid")
    content = data.get("content")
    if not isinstance(deviceid, str) or not isinstance(content, Mapping):
        raise AgentMessageError(400, "inventory needs a deviceid and a content object")
    kept = {name: content[name] for name in KEPT_SECTIONS if name in content}
    return _report(kept, deviceid=deviceid, protocol="json", partial=partial)


def report_from_xml(content: Mapping[str, Any], *, deviceid: str) -> AgentReport:
    """A legacy XML inventory's CONTENT, already read into lower-case sections (each a list of
    {field: text} entries, see `messages`), as a full report: XML inventories are never partial."""
    kept: dict[str, Any] = {}
    for name, value in content.items():
        name = "firewalls" if name == "firewall" else name
        if name not in KEPT_SECTIONS:
            continue
        if name in SINGLE_SECTIONS and isinstance(value, list):
            value = value[0] if value else {}
        kept[name] = value
    # FusionInventory's XML calls a NIC's MAC "MACADDR"; GLPI's JSON calls it "mac".
    for nic in _entries(kept, "networks") or []:
        if "mac" not in nic and "macaddr" in nic:
            nic["mac"] = nic["macaddr"]
    return _report(kept, deviceid=deviceid, protocol="xml", partial=False)


def _report(content: Mapping[str, Any], *, deviceid: str, protocol: Protocol, partial: bool) -> AgentReport:
    """The one mapping: lower-case sections -> AgentReport. An absent section leaves its fields None."""
    bios = _single(content, "bios")
    hardware = _single(content, "hardware")
    system = _single(content, "operatingsystem")
    cpus = _entries(content, "cpus")
    antivirus = _entries(content, "antivirus")
    if antivirus is None and not partial:
        antivirus = []  # a full inventory without the section: no anti-virus found
    encryption, encryption_detail = _encryption(_entries(content, "drives"))
    os_name, os_version, os_build = _operating_system(system)
    return AgentReport(
        deviceid=deviceid,
        protocol=protocol,
        partial=partial,
        agent=_text(content.get("versionclient"), CAP_SHORT),
        hostname=_text(_get(hardware, "name"), CAP_HOSTNAME),
        serial=_real_value(_get(bios, "ssn"), CAP_SHORT),
        uuid=_uuid(_get(hardware, "uuid")),
        vendor=_real_value(_get(bios, "smanufacturer"), CAP_VENDOR) or _real_value(_get(bios, "mmanufacturer"), CAP_VENDOR),
        model=_real_value(_get(bios, "smodel"), CAP_MODEL),
        chassis=_text(_get(hardware, "chassis_type"), CAP_SHORT) or _text(_get(bios, "type"), CAP_SHORT),
        cpu_model=_text(cpus[0].get("name"), CAP_MODEL) if cpus else None,
        cores=_cpu_total(cpus, "core", count_when_absent=True),
        threads=_cpu_total(cpus, "thread", count_when_absent=False),
        ram_kb=_ram_kb(hardware, _entries(content, "memories")),
        storages=_storages(_entries(content, "storages")),
        os_name=os_name,
        os_version=os_version,
        os_build=os_build,
        antivirus=None if antivirus is None else tuple(a for a in map(_antivirus, antivirus) if a),
        encryption=encryption,
        encryption_detail=encryption_detail,
        secure_boot=_secure_boot(_get(bios, "secure_boot")),
        firewall=_firewall(_entries(content, "firewalls")),
        nics=_nics(_entries(content, "networks")),
    )


# --- sections ---------------------------------------------------------------------------------


def _single(content: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = content.get(name)
    if isinstance(value, list):  # tolerate a one-entry list where an object is expected
        value = value[0] if value else None
    return value if isinstance(value, Mapping) else None


def _entries(content: Mapping[str, Any], name: str) -> list[dict[str, Any]] | None:
    """The section's entries (objects only); None when the section was not sent."""
    value = content.get(name)
    if isinstance(value, Mapping):  # an agent may send a one-entry section as an object
        value = [value]
    if not isinstance(value, list):
        return None
    if len(value) > MAX_SECTION_ENTRIES:
        raise AgentMessageError(400, f"section {name} has more than {MAX_SECTION_ENTRIES} entries")
    return [entry for entry in value if isinstance(entry, dict)]


def _get(section: Mapping[str, Any] | None, key: str) -> Any:
    return None if section is None else section.get(key)


def _cpu_total(cpus: list[dict[str, Any]] | None, key: str, *, count_when_absent: bool) -> int | None:
    # dmidecode's core / thread counts are per package, so the machine's are the sums.
    if cpus is None:
        return None
    counts = [n for n in (_count(cpu.get(key)) for cpu in cpus) if n]
    if counts:
        return sum(counts)
    return len(cpus) if count_when_absent and cpus else None


def _ram_kb(hardware: Mapping[str, Any] | None, memories: list[dict[str, Any]] | None) -> int | None:
    total_mb = _count(_get(hardware, "memory"))
    if not total_mb and memories:
        total_mb = sum(_count(m.get("capacity")) or 0 for m in memories)
    return total_mb * 1024 if total_mb else None


def _storages(entries: list[dict[str, Any]] | None) -> tuple[AgentStorage, ...] | None:
    if entries is None:
        return None
    disks = []
    for entry in entries:
        kind_text = " ".join(str(entry.get(k) or "") for k in ("type", "interface")).lower()
        if any(re.search(rf"\b{word}\b", kind_text) for word in _NOT_FIXED):
            continue
        size_mb = _count(entry.get("disksize"))
        if not size_mb:  # an empty card reader, a disk without a size: nothing to record
            continue
        description = next(
            (t for t in (_text(entry.get(k), CAP_DESCRIPTION) for k in ("model", "description", "name")) if t),
            "disk",
        )
        disks.append(AgentStorage(description=description, size_kb=size_mb * 1024, kind=_disk_kind(entry.get("type"))))
    return tuple(disks)


def _disk_kind(value: Any) -> Literal["SSD", "HDD"] | None:
    kind = (_text(value, CAP_SHORT) or "").lower()
    if kind in _SSD_TYPES:
        return "SSD"
    if kind in _HDD_TYPES:
        return "HDD"
    return None


def _operating_system(system: Mapping[str, Any] | None) -> tuple[str | None, str | None, str | None]:
    if system is None:
        return None, None, None
    name = _text(system.get("name"), CAP_OS)
    full_name = _text(system.get("full_name"), CAP_OS)
    version = _text(system.get("version"), CAP_OS)
    kernel = _text(system.get("kernel_version"), CAP_OS)
    windows = "windows" in f"{name} {full_name}".lower()
    if windows:
        # The caption ("Microsoft Windows 11 Pro") says the edition; "Windows" alone does not.
        caption = (full_name or name or "").removeprefix("Microsoft").strip()
        service_pack = _text(system.get("service_pack"), CAP_OS)
        build = service_pack if service_pack and _BUILD_NUMBER.match(service_pack) else kernel
        return caption or None, version, build
    return name or full_name, version, kernel


def _antivirus(entry: dict[str, Any]) -> AgentAntivirus | None:
    name = _text(entry.get("name"), CAP_DESCRIPTION)
    if not name:
        return None
    return AgentAntivirus(
        name=name,
        company=_text(entry.get("company"), CAP_VENDOR),
        version=_text(entry.get("version"), CAP_SHORT),
        enabled=_bool(entry.get("enabled")),
        up_to_date=_bool(entry.get("uptodate")),
        signature_version=_text(entry.get("base_version"), CAP_SHORT),
        signature_date=_date(entry.get("base_creation")),
        license_expiration=_date(entry.get("expiration")),
    )


def _encryption(
    drives: list[dict[str, Any]] | None,
) -> tuple[Literal["on", "partial", "off"] | None, str | None]:
    """Encryption of the system drive(s): flagged `systemdrive` (Windows), else C: or "/"."""
    if not drives:
        return None, None
    system = [d for d in drives if _bool(d.get("systemdrive"))]
    if not system:
        system = [d for d in drives if _drive_label(d) in ("C:", "/")]
    statuses = []
    details = []
    for drive in system:
        status = _ENCRYPTION_STATUS.get((_text(drive.get("encrypt_status"), CAP_SHORT) or "").lower())
        if status is None:
            continue
        statuses.append(status)
        how = [t for t in (_text(drive.get(k), CAP_SHORT) for k in ("encrypt_name", "encrypt_algo")) if t]
        if how and status != "off":
            details.append(" ".join([_drive_label(drive) or "?", *how]))
    if not statuses:
        return None, None
    if all(s == "on" for s in statuses):
        state: Literal["on", "partial", "off"] = "on"
    elif all(s == "off" for s in statuses):
        state = "off"
    else:
        state = "partial"
    return state, (_text("; ".join(details), CAP_DESCRIPTION) if details else None)


def _drive_label(drive: Mapping[str, Any]) -> str | None:
    """C: for a Windows drive (`letter`, or `volumn` as some agents fill it), the mount point on Unix."""
    for key in ("letter", "volumn"):
        value = (_text(drive.get(key), CAP_SHORT) or "").rstrip("\\")
        if re.fullmatch(r"[A-Za-z]:", value):
            return value.upper()
    return _text(drive.get("type"), CAP_SHORT)  # Unix: the mount point ("/")


def _secure_boot(value: Any) -> Literal["enabled", "disabled", "unsupported"] | None:
    text = (_text(value, CAP_SHORT) or "").lower()
    if text in _TRUE:
        return "enabled"
    if text in _FALSE:
        return "disabled"
    if text in ("unsupported", "not supported"):
        return "unsupported"
    return None


def _firewall(entries: list[dict[str, Any]] | None) -> Literal["on", "off"] | None:
    statuses = [(_text(e.get("status"), CAP_SHORT) or "").lower() for e in entries or ()]
    statuses = [s for s in statuses if s in ("on", "off")]
    if "off" in statuses:
        return "off"
    return "on" if statuses else None


def _nics(entries: list[dict[str, Any]] | None) -> tuple[AgentNic, ...] | None:
    """One AgentNic per interface: agents repeat an interface once per address."""
    if entries is None:
        return None
    merged: dict[tuple[str, str | None], AgentNic] = {}
    for entry in entries:
        description = _text(entry.get("description"), CAP_DESCRIPTION) or "interface"
        mac = _mac(entry.get("mac"))
        key = (description, mac)
        nic = merged.get(key) or AgentNic(description=description, mac=mac, virtual=bool(_bool(entry.get("virtualdev"))))
        addresses = tuple(dict.fromkeys([*nic.addresses, *_ipv4_addresses(entry.get("ipaddress"))]))
        merged[key] = AgentNic(description=nic.description, mac=nic.mac, addresses=addresses, virtual=nic.virtual)
    return tuple(merged.values())


def _mac(value: Any) -> str | None:
    text = _text(value, CAP_SHORT)
    if not text:
        return None
    try:
        mac = normalize_mac(text)
    except ValueError:
        return None
    return None if mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff") else mac


def _ipv4_addresses(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    found = []
    for item in values:
        for token in re.split(r"[\s,]+", _text(item, 1000) or ""):
            try:
                address = ipaddress.ip_interface(token).ip
            except ValueError:
                continue
            if address.version == 4 and not (address.is_loopback or address.is_unspecified):
                found.append(str(address))
    return found


# --- values -----------------------------------------------------------------------------------


def _text(value: Any, cap: int) -> str | None:
    """A clean one-line text: control characters replaced, whitespace collapsed, at most `cap`."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = " ".join(clean_text(value[: cap * 4]).split())[:cap].strip()
    return text or None


def _real_value(value: Any, cap: int) -> str | None:
    """Text, unless it is a firmware placeholder ("To Be Filled By O.E.M.", "0000")."""
    text = _text(value, cap)
    if text is None or text.lower() in _PLACEHOLDERS or set(text) == {"0"}:
        return None
    return text


def _uuid(value: Any) -> str | None:
    text = _text(value, CAP_SHORT)
    return None if text is None or _BOGUS_UUID.match(text) else text


def _count(value: Any) -> int | None:
    """A non-negative integer from an int, a whole float or a numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = int(value) if math.isfinite(value) and value.is_integer() else None
    elif isinstance(value, str):
        value = int(float(value)) if _INTEGER.match(value) else None
    if not isinstance(value, int) or not 0 <= value <= _MAX_SIZE_MB:
        return None
    return value


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {1: True, 0: False}.get(value)
    text = (_text(value, 10) or "").lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T ])")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:$|\d{6})")  # WMI: 20241120083000.000000+000
_YEAR_FIRST = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:$|\s)")
_YEAR_LAST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:$|\s)")


def _date(value: Any) -> date | None:
    """A date in any of the forms agents use; None for anything unreadable or ambiguous.

    >>> _date("2026-11-30 07:12:01"), _date("20261130"), _date("30/11/2026"), _date("03/04/2026")
    (datetime.date(2026, 11, 30), datetime.date(2026, 11, 30), datetime.date(2026, 11, 30), None)
    """
    text = _text(value, 40)
    if not text:
        return None
    if match := _ISO.match(text) or _COMPACT.match(text) or _YEAR_FIRST.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _YEAR_LAST.match(text):
        first, second, year = (int(g) for g in match.groups())
        if first > 12 or first == second:
            day, month = first, second
        elif second > 12:
            month, day = first, second
        else:  # 03/04/2026: March or April depends on the machine's locale; better unknown than wrong
            return None
    else:
        return None
    if not 1980 <= year <= 2200:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None
