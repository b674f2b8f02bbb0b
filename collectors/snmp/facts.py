"""What kiemke asks a device (numeric OIDs) and how the answers become `DeviceFacts`.

Pure: no I/O. `build_facts` takes what one visit read (see `collectors.snmp.collector`) and
returns the facts; a value that had to be cut or could not be read becomes a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from collectors import records
from collectors.snmp.ber import (
    _EXCEPTIONS,
    _UNSIGNED,
    INTEGER,
    OCTETS,
    OID,
    BerError,
    Var,
    decode_oid,
    encode_oid,
)
from collectors.vendors import VendorData

MAX_VALUE_BYTES = 65535  # SMI's limit for an OCTET STRING; longer values are cut here


# ============================================================================ value helpers
def as_int(var: Var | None) -> int | None:
    if var is None:
        return None
    tag, value = var[1], var[2]
    if tag == INTEGER and value:
        return int.from_bytes(value, "big", signed=True)
    if tag in _UNSIGNED and value:
        return int.from_bytes(value, "big")
    return None


def as_text(var: Var | None, warnings: list[str] | None = None, what: str = "") -> str | None:
    if var is None or var[1] != OCTETS:
        return None
    return text(var[2], warnings, what)


def text(raw: bytes, warnings: list[str] | None = None, what: str = "") -> str:
    """Octets as text: UTF-8 with replacement, no NUL, at most MAX_VALUE_BYTES."""
    if len(raw) > MAX_VALUE_BYTES:
        if warnings is not None:
            warnings.append(f"{what}: value of {len(raw)} bytes cut to {MAX_VALUE_BYTES}")
        raw = raw[:MAX_VALUE_BYTES]
    raw = raw.rstrip(b"\x00")
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def mac_text(raw: bytes) -> str | None:
    """aa:bb:cc:dd:ee:ff from 6 raw octets (or from a MAC written as text); None if not a MAC."""
    if len(raw) != 6:
        digits = "".join(ch for ch in raw.decode("ascii", errors="replace") if ch in "0123456789abcdefABCDEF")
        if len(digits) != 12 or len(raw) > 17:
            return None
        raw = bytes.fromhex(digits)
    if raw == b"\x00" * 6:
        return None
    return raw.hex(":")


def as_oid(var: Var | None) -> str | None:
    if var is None or var[1] != OID:
        return None
    try:
        return decode_oid(var[2])
    except BerError:
        return None


def date_and_time(raw: bytes) -> date | None:
    """The date of an RFC 2579 DateAndTime (8 or 11 octets); None when absent or invalid."""
    if len(raw) not in (8, 11):
        return None
    try:
        return date(int.from_bytes(raw[:2], "big"), raw[2], raw[3])
    except ValueError:  # year 0, month 0, ...
        return None


def present(var: Var | None) -> bool:
    return var is not None and var[1] not in _EXCEPTIONS


# ============================================================================ OIDs
def _o(dotted: str) -> bytes:
    return encode_oid(dotted)


SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, SYS_LOCATION = (_o(f"1.3.6.1.2.1.1.{n}.0") for n in (1, 2, 3, 5, 6))
IF_NUMBER = _o("1.3.6.1.2.1.2.1.0")
DOT1D_BASE_NUM_PORTS = _o("1.3.6.1.2.1.17.1.2.0")
HR_MEMORY_SIZE = _o("1.3.6.1.2.1.25.2.2.0")

ENT = "1.3.6.1.2.1.47.1.1.1.1"
ENT_CLASS = _o(f"{ENT}.5")
ENT_COLUMNS = {"class": 5, "firmware": 9, "software": 10, "serial": 11, "mfg": 12, "model": 13}
ENT_CHASSIS = 3

IF_DESCR, IF_SPEED, IF_PHYS, IF_ADMIN, IF_OPER = (_o(f"1.3.6.1.2.1.2.2.1.{n}") for n in (2, 5, 6, 7, 8))
IF_NAME, IF_HIGH_SPEED, IF_ALIAS = (_o(f"1.3.6.1.2.1.31.1.1.1.{n}") for n in (1, 15, 18))
IF_COLUMNS = (IF_DESCR, IF_SPEED, IF_PHYS, IF_ADMIN, IF_OPER, IF_NAME, IF_HIGH_SPEED, IF_ALIAS)

BASE_PORT_IFINDEX = _o("1.3.6.1.2.1.17.1.4.1.2")
FDB_PORT = _o("1.3.6.1.2.1.17.4.3.1.2")
QFDB_PORT = _o("1.3.6.1.2.1.17.7.1.2.2.1.2")
ARP_PHYS = _o("1.3.6.1.2.1.4.22.1.2")
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1"
LLDP_REM_COLUMNS = tuple(_o(f"{LLDP_REM}.{n}") for n in (4, 5, 6, 7, 9))  # chassis st/id, port st/id, sysName
LLDP_LOC_PORT_ID = _o("1.0.8802.1.1.2.1.3.7.1.3")

HR_STORAGE = "1.3.6.1.2.1.25.2.3.1"
HR_STORAGE_COLUMNS = tuple(_o(f"{HR_STORAGE}.{n}") for n in (2, 3, 4, 5))  # type, descr, units, size
HR_STORAGE_FIXED_DISK = "1.3.6.1.2.1.25.2.1.4"
HR_DEVICE_TYPE = _o("1.3.6.1.2.1.25.3.2.1.2")
HR_DEVICE_PROCESSOR = "1.3.6.1.2.1.25.3.1.3"
HR_SW_COLUMNS = (_o("1.3.6.1.2.1.25.6.3.1.2"), _o("1.3.6.1.2.1.25.6.3.1.5"))  # name, date

PROBE_OIDS = (SYS_OBJECT_ID, SYS_UPTIME, IF_NUMBER, DOT1D_BASE_NUM_PORTS, HR_MEMORY_SIZE)
TEXT_OIDS = (SYS_DESCR, SYS_NAME, SYS_LOCATION)


def entity_row(index: int) -> list[bytes]:
    return [_o(f"{ENT}.{n}.{index}") for n in ENT_COLUMNS.values()]


Row = dict[tuple[int, ...], Var]


# ============================================================================ facts
def build_facts(address: str, probe: dict[bytes, Var], parts: dict[str, Any], vendors: VendorData, warnings: list[str]) -> records.DeviceFacts:
    """The facts of one visit.

    `probe` holds the first GET's answers by OID (PROBE_OIDS); `parts` what the visit read:
    "texts" ({oid: var} of TEXT_OIDS), "entity" ({ENT_COLUMNS name: var} of the chassis row),
    "interfaces" (rows of IF_COLUMNS), "arp" (rows of [ARP_PHYS]), "lldp" (rows of
    LLDP_REM_COLUMNS, row of LLDP_LOC_PORT_ID), and when the device has them "fdb" (row of
    BASE_PORT_IFINDEX, row of FDB_PORT by MAC) and "storage", "devices", "software" (rows of
    HR_STORAGE_COLUMNS, [HR_DEVICE_TYPE], HR_SW_COLUMNS). Warnings are appended to `warnings`.
    """
    w = warnings
    texts: dict[bytes, Var] = parts["texts"]
    entity: dict[str, Var] = parts["entity"]
    sys_descr = as_text(texts.get(SYS_DESCR), w, "sysDescr")
    sys_object_id = as_oid(probe.get(SYS_OBJECT_ID))
    uptime = as_int(probe.get(SYS_UPTIME))
    v = vendors

    def ent(name: str) -> str | None:
        value = as_text(entity.get(name), w, f"entPhysical {name}")
        return value if value else None

    model = ent("model")
    vendor = v.canonical_vendor(ent("mfg"))
    if vendor is None and not v.is_agent_software(sys_object_id):
        vendor = v.vendor_for_sys_object_id(sys_object_id)
    os_name, descr_version = v.os_from_sys_descr(sys_descr)
    interfaces = interface_records(parts["interfaces"], w)
    names = {i.index: i.name for i in interfaces}
    fdb = fdb_records(*parts["fdb"], names) if "fdb" in parts else ()
    host = host_record(parts, probe, w) if "storage" in parts else None
    return records.DeviceFacts(
        address=address,
        source="snmp",
        sys_name=as_text(texts.get(SYS_NAME), w, "sysName"),
        sys_descr=sys_descr,
        sys_object_id=sys_object_id,
        sys_location=as_text(texts.get(SYS_LOCATION), w, "sysLocation"),
        uptime_seconds=uptime // 100 if uptime is not None else None,
        vendor=vendor,
        model=model,
        serial=ent("serial"),
        os_name=os_name,
        os_version=ent("software") or descr_version or ent("firmware"),
        interfaces=interfaces,
        fdb=fdb,
        arp=arp_records(parts["arp"][0]),
        lldp=lldp_records(*parts["lldp"], interfaces, w),
        host=host,
        warnings=tuple(dict.fromkeys(w)),
    )


def interface_records(columns: list[Row], w: list[str]) -> tuple[records.InterfaceRecord, ...]:
    descr, speed, phys, admin, oper, name, high, alias = columns
    indexes = sorted({i for col in (descr, phys, admin, oper, name) for i in col if len(i) == 1})
    out = []
    for index in indexes:
        d = as_text(descr.get(index), w, "ifDescr") or ""
        high_speed = as_int(high.get(index))
        if high_speed is not None:
            mbps: int | None = high_speed
        else:
            bps = as_int(speed.get(index))
            mbps = bps // 1_000_000 if bps is not None else None
        mac_var = phys.get(index)
        admin_status, oper_status = as_int(admin.get(index)), as_int(oper.get(index))
        out.append(
            records.InterfaceRecord(
                index=index[0],
                name=as_text(name.get(index), w, "ifName") or d,
                description=d,
                alias=as_text(alias.get(index), w, "ifAlias") or "",
                mac=mac_text(mac_var[2]) if mac_var is not None and mac_var[1] == OCTETS else None,
                speed_mbps=mbps,
                admin_up=None if admin_status is None else admin_status == 1,
                oper_up=None if oper_status is None else oper_status == 1,
            )
        )
    return tuple(out)


def fdb_records(ports: Row, fdb: Row, names: dict[int, str]) -> tuple[records.FdbRecord, ...]:
    port_if = {index[0]: as_int(var) for index, var in ports.items() if len(index) == 1}
    out = []
    for index, var in fdb.items():
        port = as_int(var)
        if len(index) != 6 or not port or max(index) > 255:
            continue  # port 0: the switch's own or an unknown port
        if_index = port_if.get(port)
        out.append(records.FdbRecord(bytes(index).hex(":"), if_index, names.get(if_index, "") if if_index else ""))
    return tuple(out)


def arp_records(rows: Row) -> tuple[records.ArpRecord, ...]:
    out = []
    for index, var in rows.items():
        if len(index) != 5 or max(index[1:]) > 255 or var[1] != OCTETS:
            continue
        mac = mac_text(var[2])
        if mac:
            out.append(records.ArpRecord(".".join(map(str, index[1:])), mac, index[0]))
    return tuple(out)


def lldp_records(remote: list[Row], local: Row, interfaces: Sequence[records.InterfaceRecord], w: list[str]) -> tuple[records.LldpRecord, ...]:
    chassis_type, chassis, port_type, port, sys_name = remote
    by_name: dict[str, int] = {}
    for i in interfaces:
        for label in (i.description, i.name):
            if label:
                by_name.setdefault(label, i.index)
    known = {i.index for i in interfaces}
    out = []
    for index in sorted(set(chassis) | set(port) | set(sys_name)):
        if len(index) != 3:
            continue
        port_num = index[1]
        local_name = as_text(local.get((port_num,)), w, "lldpLocPortId")
        if local_name and local_name in by_name:
            if_index: int | None = by_name[local_name]
        else:
            if_index = port_num if port_num in known else None
        out.append(
            records.LldpRecord(
                local_if_index=if_index,
                remote_sysname=as_text(sys_name.get(index), w, "lldpRemSysName") or "",
                remote_port=_lldp_id(port_type.get(index), port.get(index), mac_subtype=3, w=w),
                remote_chassis=_lldp_id(chassis_type.get(index), chassis.get(index), mac_subtype=4, w=w),
            )
        )
    return tuple(out)


def host_record(parts: dict[str, Any], probe: dict[bytes, Var], w: list[str]) -> records.HostRecord:
    storage_type, descr, units, size = parts["storage"]
    disks = []
    for index, var in storage_type.items():
        if as_oid(var) != HR_STORAGE_FIXED_DISK:
            continue
        u, s = as_int(units.get(index)), as_int(size.get(index))
        if u is None or s is None:
            continue
        if s < 0:  # Integer32 wrap-around of agents with big disks
            s += 2**32
        disks.append((as_text(descr.get(index), w, "hrStorageDescr") or "", u * s // 1024))
    (device_types,) = parts["devices"]
    cores = sum(1 for var in device_types.values() if as_oid(var) == HR_DEVICE_PROCESSOR)
    names, dates = parts["software"]
    software = []
    for index, var in names.items():
        d = dates.get(index)
        software.append(
            records.SoftwareRecord(
                as_text(var, w, "hrSWInstalledName") or "",
                date_and_time(d[2]) if d is not None and d[1] == OCTETS else None,
            )
        )
    return records.HostRecord(
        cores=cores,
        ram_kb=as_int(probe.get(HR_MEMORY_SIZE)) or 0,
        disks=tuple(disks),
        software=tuple(software),
    )


def _lldp_id(subtype_var: Var | None, var: Var | None, *, mac_subtype: int, w: list[str]) -> str:
    """An LLDP chassis/port id as text: a MAC for the MAC subtype, an address for
    networkAddress (IPv4), else the octets as text."""
    if var is None or var[1] != OCTETS:
        return ""
    subtype = as_int(subtype_var)
    raw = var[2]
    if subtype == mac_subtype and len(raw) == 6:
        return mac_text(raw) or raw.hex(":")
    if subtype == mac_subtype + 1 and len(raw) == 5 and raw[0] == 1:  # networkAddress, IANA family 1
        return ".".join(str(b) for b in raw[1:])
    return text(raw, w, "LLDP id")
