"""Render one `LabDevice` as an snmpsim `.snmprec` data file.

`render_snmprec(device) -> str` is pure: the same device always gives the same text.

File format (snmpsim): one ``OID|tag|value`` record per line, numeric OIDs only, records
sorted by OID *numerically* (snmpsim binary-searches the file), no duplicate OIDs.
Tags used: 2 Integer32, 4 OCTET STRING, 4x OCTET STRING given as hex, 6 OBJECT IDENTIFIER,
64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks.

String conventions (apply to every text field of the device: sys_descr, hostname, interface
names, software names, ...):

* A Python ``str`` is sent as its UTF-8 bytes.
* A value that starts with the marker ``"hex:"`` is raw bytes given in hex
  (``"hex:c3286f"`` -> b"\\xc3\\x28\\x6f"); use it for values that are not valid UTF-8.
  Spaces and colons inside the hex part are ignored (``"hex:de ad:be ef"``).
* A value is written in plain text only when it is non-empty printable ASCII (0x20-0x7e)
  without leading/trailing blanks (snmpsim strips lines); everything else (UTF-8, control
  characters, HTML is fine in plain, huge strings, ...) is written as ``4x|<hex>``, so any
  byte string — ``<script>``, non-UTF-8, a 64 KB string — is served byte-exact.
  Size limits (measured with the patched snmpsim): SMI caps OCTET STRING at 65535 bytes — a
  longer value is still written here, but the agent answers noSuchInstance for it.  One GET
  delivers up to ~65,400 bytes over v2c and ~65,000 over v3 authPriv (bigger responses exceed
  a UDP datagram and get no answer); GETBULK responses are trimmed to what fits, so walks
  over a huge value still progress.  Use ~65,000 bytes for a "64 KB" hostile string.

Data served (all numeric):
  system group, ENTITY-MIB chassis row (index 1), IF-MIB ifTable/ifXTable, IP-MIB
  ipAddrTable (the device's own address) and ipNetToMediaTable (ARP), LLDP-MIB local system +
  lldpRemTable, BRIDGE-MIB dot1dBase + dot1dBasePortTable + dot1dTpFdbTable and, for devices
  with ``host`` set, HOST-RESOURCES-MIB (hrSystem, hrMemorySize, hrStorageTable,
  hrDeviceTable/hrProcessorTable, hrSWInstalledTable).

Index conventions:
  * ``FdbEntry.port_index`` and ``LldpNeighbour.local_port_index`` are ifIndex values of the
    device's interfaces.  Bridge port numbers are 1..N over the device's ethernet interfaces
    (in ``interfaces`` order), mapped to ifIndex via dot1dBasePortIfIndex, so a collector
    must translate dot1dTpFdbPort -> dot1dBasePortIfIndex -> ifIndex like on real switches.
    An FDB port_index that is not an interface of the device gets its own bridge port.
  * lldpRemTable index is (timeMark=0, lldpLocalPortNum=local_port_index, lldpRemIndex=1..n);
    chassis id subtype 4 (MAC, 6 raw bytes), port id subtype 5 (interfaceName).
  * hrDeviceProcessor rows use hrDeviceIndex 768+n (net-snmp style), one per core.
  * hrStorage: index 1 = RAM ("Physical Memory", 1024-byte units), 2.. = fixed disks
    (4096-byte units, larger if needed to fit Integer32).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date

from collectors.lab.spec import LabDevice, LabInterface

HEX_MARKER = "hex:"

# --- OID prefixes -----------------------------------------------------------------------
SYSTEM = "1.3.6.1.2.1.1"
IF_NUMBER = "1.3.6.1.2.1.2.1.0"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IP_ADDR_ENTRY = "1.3.6.1.2.1.4.20.1"
IP_NET_TO_MEDIA_ENTRY = "1.3.6.1.2.1.4.22.1"
DOT1D_BASE = "1.3.6.1.2.1.17.1"
DOT1D_BASE_PORT_ENTRY = "1.3.6.1.2.1.17.1.4.1"
DOT1D_TP_FDB_ENTRY = "1.3.6.1.2.1.17.4.3.1"
HR = "1.3.6.1.2.1.25"
HR_STORAGE_ENTRY = "1.3.6.1.2.1.25.2.3.1"
HR_DEVICE_ENTRY = "1.3.6.1.2.1.25.3.2.1"
HR_PROCESSOR_ENTRY = "1.3.6.1.2.1.25.3.3.1"
HR_SW_INSTALLED_ENTRY = "1.3.6.1.2.1.25.6.3.1"
IF_X_ENTRY = "1.3.6.1.2.1.31.1.1.1"
ENT_PHYSICAL_ENTRY = "1.3.6.1.2.1.47.1.1.1.1"
LLDP_LOC = "1.0.8802.1.1.2.1.3"
LLDP_REM_ENTRY = "1.0.8802.1.1.2.1.4.1.1"

HR_STORAGE_RAM = "1.3.6.1.2.1.25.2.1.2"
HR_STORAGE_FIXED_DISK = "1.3.6.1.2.1.25.2.1.4"
HR_DEVICE_PROCESSOR = "1.3.6.1.2.1.25.3.1.3"
HR_SW_APPLICATION = 4

INT32_MAX = 2**31 - 1
GAUGE32_MAX = 2**32 - 1

_CLEAN = re.compile(r"[\x20-\x7e]+")


# --- value helpers ------------------------------------------------------------------------
def to_octets(value: str | bytes) -> bytes:
    """The bytes an agent serves for a text field (see module docstring for ``hex:``)."""
    if isinstance(value, bytes):
        return value
    if value.startswith(HEX_MARKER):
        return bytes.fromhex(value[len(HEX_MARKER) :].replace(":", "").replace(" ", ""))
    return value.encode("utf-8")


def _octets(value: str | bytes) -> tuple[str, str]:
    raw = to_octets(value)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and _CLEAN.fullmatch(text) and text == text.strip():
        return "4", text
    return "4x", raw.hex()


def _mac_bytes(mac: str) -> bytes:
    digits = re.sub(r"[^0-9a-fA-F]", "", mac)
    if len(digits) != 12:
        raise ValueError(f"bad MAC address {mac!r}")
    return bytes.fromhex(digits)


def _mac_hex(mac: str) -> tuple[str, str]:
    return "4x", _mac_bytes(mac).hex()


def _mac_index(mac: str) -> str:
    return ".".join(str(b) for b in _mac_bytes(mac))


def _seed(device: LabDevice, what: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{device.key}/{what}".encode()).digest()[:8], "big")


def _date_and_time(day: str) -> str:
    """DateAndTime (RFC 2579) hex for "YYYY-MM-DD"; all zero when unparsable."""
    try:
        d = date.fromisoformat(day)
    except (TypeError, ValueError):
        return "00" * 8
    return (d.year.to_bytes(2, "big") + bytes([d.month, d.day, 0, 0, 0, 0])).hex()


def _if_type(iface: LabInterface) -> int:
    name = iface.name.lower()
    if name.startswith(("lo", "loopback")):
        return 24  # softwareLoopback
    if name.startswith(("vlan", "tunnel", "port-channel", "null")):
        return 53  # propVirtual
    return 6  # ethernetCsmacd


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(x) for x in oid.split("."))


class _Records:
    def __init__(self) -> None:
        self._rows: dict[str, tuple[str, str]] = {}

    def add(self, oid: str, tag: str, value: object) -> None:
        self._rows[oid] = (tag, str(value))

    def text(self, oid: str, value: str | bytes) -> None:
        self._rows[oid] = _octets(value)

    def hexval(self, oid: str, raw: bytes) -> None:
        self._rows[oid] = ("4x", raw.hex())

    def render(self) -> str:
        lines = [f"{oid}|{tag}|{value}" for oid, (tag, value) in sorted(self._rows.items(), key=lambda kv: _oid_key(kv[0]))]
        return "\n".join(lines) + "\n"


# --- sections -------------------------------------------------------------------------------
def _system(r: _Records, d: LabDevice) -> None:
    uptime = 8_640_000 + _seed(d, "uptime") % 3_000_000_000  # >= 1 day, < ~1 year
    if d.host is not None:
        services = 76  # internet + end-to-end + applications
    elif d.device_class in ("firewall", "router"):
        services = 78
    else:
        services = 6  # datalink + internet
    r.text(f"{SYSTEM}.1.0", d.sys_descr)
    r.add(f"{SYSTEM}.2.0", "6", d.sys_object_id)
    r.add(f"{SYSTEM}.3.0", "67", uptime)
    r.text(f"{SYSTEM}.4.0", f"noc@{d.site_code.lower()}.example.vn" if d.site_code else "")
    r.text(f"{SYSTEM}.5.0", d.hostname)
    r.text(f"{SYSTEM}.6.0", d.site_code)
    r.add(f"{SYSTEM}.7.0", "2", services)


def _entity(r: _Records, d: LabDevice) -> None:
    e = ENT_PHYSICAL_ENTRY
    r.text(f"{e}.2.1", f"{d.vendor} {d.model} Chassis".strip())
    r.add(f"{e}.3.1", "6", d.sys_object_id)
    r.add(f"{e}.4.1", "2", 0)
    r.add(f"{e}.5.1", "2", 3)  # chassis
    r.add(f"{e}.6.1", "2", -1)
    r.text(f"{e}.7.1", "Chassis")
    r.text(f"{e}.8.1", f"V0{_seed(d, 'hwrev') % 5 + 1}")
    r.text(f"{e}.9.1", d.os_version)
    r.text(f"{e}.10.1", d.os_version)
    r.text(f"{e}.11.1", d.serial)
    r.text(f"{e}.12.1", d.vendor)
    r.text(f"{e}.13.1", d.model)
    r.text(f"{e}.14.1", "")
    r.text(f"{e}.15.1", "")
    r.add(f"{e}.16.1", "2", 2)  # isFRU false


def _interfaces(r: _Records, d: LabDevice) -> None:
    lldp_alias = {n.local_port_index: f"uplink {n.remote_sysname} {n.remote_port}" for n in d.lldp}
    if d.interfaces:
        r.add(IF_NUMBER, "2", len(d.interfaces))
    for i in d.interfaces:
        x = i.index
        speed_bps = i.speed_mbps * 1_000_000
        r.add(f"{IF_ENTRY}.1.{x}", "2", x)
        r.text(f"{IF_ENTRY}.2.{x}", i.name)
        r.add(f"{IF_ENTRY}.3.{x}", "2", _if_type(i))
        r.add(f"{IF_ENTRY}.4.{x}", "2", 1500)
        r.add(f"{IF_ENTRY}.5.{x}", "66", min(speed_bps, GAUGE32_MAX))
        r.add(f"{IF_ENTRY}.6.{x}", *_mac_hex(i.mac))
        r.add(f"{IF_ENTRY}.7.{x}", "2", 1)
        r.add(f"{IF_ENTRY}.8.{x}", "2", 1 if i.oper_up else 2)
        r.text(f"{IF_X_ENTRY}.1.{x}", i.name)
        r.add(f"{IF_X_ENTRY}.15.{x}", "66", min(i.speed_mbps, GAUGE32_MAX))
        r.text(f"{IF_X_ENTRY}.18.{x}", lldp_alias.get(x, ""))


def _ip(r: _Records, d: LabDevice) -> None:
    # own management address
    try:
        octs = [int(p) for p in d.address.split(".")]
        if len(octs) == 4 and all(0 <= o <= 255 for o in octs):
            if_index = d.interfaces[0].index if d.interfaces else 1
            a = d.address
            r.add(f"{IP_ADDR_ENTRY}.1.{a}", "64", a)
            r.add(f"{IP_ADDR_ENTRY}.2.{a}", "2", if_index)
            r.add(f"{IP_ADDR_ENTRY}.3.{a}", "64", "255.0.0.0" if octs[0] == 127 else "255.255.255.0")
    except ValueError:
        pass
    for e in d.arp:
        if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", e.ip):
            continue  # ipNetToMediaTable is IPv4 only
        idx = f"{e.if_index}.{e.ip}"
        r.add(f"{IP_NET_TO_MEDIA_ENTRY}.1.{idx}", "2", e.if_index)
        r.add(f"{IP_NET_TO_MEDIA_ENTRY}.2.{idx}", *_mac_hex(e.mac))
        r.add(f"{IP_NET_TO_MEDIA_ENTRY}.3.{idx}", "64", e.ip)
        r.add(f"{IP_NET_TO_MEDIA_ENTRY}.4.{idx}", "2", 3)  # dynamic


def _bridge(r: _Records, d: LabDevice) -> None:
    if not d.fdb:
        return
    ports: dict[int, int] = {}  # ifIndex -> bridge port
    for i in d.interfaces:
        if _if_type(i) == 6:
            ports[i.index] = len(ports) + 1
    for e in d.fdb:
        if e.port_index not in ports:
            ports[e.port_index] = max(ports.values(), default=0) + 1
    base_mac = d.interfaces[0].mac if d.interfaces else "00:00:00:00:00:00"
    r.add(f"{DOT1D_BASE}.1.0", *_mac_hex(base_mac))
    r.add(f"{DOT1D_BASE}.2.0", "2", len(ports))
    r.add(f"{DOT1D_BASE}.3.0", "2", 2)  # transparent-only
    for if_index, port in ports.items():
        r.add(f"{DOT1D_BASE_PORT_ENTRY}.1.{port}", "2", port)
        r.add(f"{DOT1D_BASE_PORT_ENTRY}.2.{port}", "2", if_index)
    for e in d.fdb:
        idx = _mac_index(e.mac)
        r.add(f"{DOT1D_TP_FDB_ENTRY}.1.{idx}", *_mac_hex(e.mac))
        r.add(f"{DOT1D_TP_FDB_ENTRY}.2.{idx}", "2", ports[e.port_index])
        r.add(f"{DOT1D_TP_FDB_ENTRY}.3.{idx}", "2", 3)  # learned


def _lldp(r: _Records, d: LabDevice) -> None:
    if not d.lldp and not d.interfaces:
        return
    if d.interfaces:
        r.add(f"{LLDP_LOC}.1.0", "2", 4)  # chassis id subtype macAddress
        r.add(f"{LLDP_LOC}.2.0", *_mac_hex(d.interfaces[0].mac))
    r.text(f"{LLDP_LOC}.3.0", d.hostname)
    for i in d.interfaces:
        r.add(f"{LLDP_LOC}.7.1.2.{i.index}", "2", 5)  # interfaceName
        r.text(f"{LLDP_LOC}.7.1.3.{i.index}", i.name)
    seen: dict[int, int] = {}
    for n in d.lldp:
        seen[n.local_port_index] = seen.get(n.local_port_index, 0) + 1
        idx = f"0.{n.local_port_index}.{seen[n.local_port_index]}"
        r.add(f"{LLDP_REM_ENTRY}.4.{idx}", "2", 4)
        r.add(f"{LLDP_REM_ENTRY}.5.{idx}", *_mac_hex(n.remote_chassis_mac))
        r.add(f"{LLDP_REM_ENTRY}.6.{idx}", "2", 5)
        r.text(f"{LLDP_REM_ENTRY}.7.{idx}", n.remote_port)
        r.text(f"{LLDP_REM_ENTRY}.8.{idx}", n.remote_port)
        r.text(f"{LLDP_REM_ENTRY}.9.{idx}", n.remote_sysname)


def _host(r: _Records, d: LabDevice) -> None:
    h = d.host
    if h is None:
        return
    s = _seed(d, "host")
    r.add(f"{HR}.1.1.0", "67", 8_640_000 + s % 500_000_000)
    r.hexval(f"{HR}.1.2.0", bytes.fromhex("07ea0b160e1e0000"))  # 2026-11-22 14:30
    r.add(f"{HR}.1.3.0", "2", 1552)
    r.text(f"{HR}.1.4.0", "")
    r.add(f"{HR}.1.5.0", "66", 1 + s % 3)
    r.add(f"{HR}.1.6.0", "66", 90 + s % 200)
    r.add(f"{HR}.1.7.0", "2", 0)
    r.add(f"{HR}.2.2.0", "2", min(h.ram_kb, INT32_MAX))

    # hrStorageTable: RAM then fixed disks
    ram_units = 1024
    r.add(f"{HR_STORAGE_ENTRY}.1.1", "2", 1)
    r.add(f"{HR_STORAGE_ENTRY}.2.1", "6", HR_STORAGE_RAM)
    r.text(f"{HR_STORAGE_ENTRY}.3.1", "Physical Memory")
    r.add(f"{HR_STORAGE_ENTRY}.4.1", "2", ram_units)
    r.add(f"{HR_STORAGE_ENTRY}.5.1", "2", min(h.ram_kb, INT32_MAX))
    r.add(f"{HR_STORAGE_ENTRY}.6.1", "2", min(h.ram_kb * (30 + s % 50) // 100, INT32_MAX))
    r.add(f"{HR_STORAGE_ENTRY}.7.1", "65", 0)
    for n, (descr, size_kb) in enumerate(h.disks, start=2):
        units = 4096
        while size_kb * 1024 // units > INT32_MAX:
            units *= 2
        size = size_kb * 1024 // units
        r.add(f"{HR_STORAGE_ENTRY}.1.{n}", "2", n)
        r.add(f"{HR_STORAGE_ENTRY}.2.{n}", "6", HR_STORAGE_FIXED_DISK)
        r.text(f"{HR_STORAGE_ENTRY}.3.{n}", descr)
        r.add(f"{HR_STORAGE_ENTRY}.4.{n}", "2", units)
        r.add(f"{HR_STORAGE_ENTRY}.5.{n}", "2", size)
        r.add(f"{HR_STORAGE_ENTRY}.6.{n}", "2", size * (20 + (s >> n) % 60) // 100)
        r.add(f"{HR_STORAGE_ENTRY}.7.{n}", "65", 0)

    # hrDeviceTable / hrProcessorTable: one processor row per core
    for c in range(h.cores):
        x = 768 + c
        r.add(f"{HR_DEVICE_ENTRY}.1.{x}", "2", x)
        r.add(f"{HR_DEVICE_ENTRY}.2.{x}", "6", HR_DEVICE_PROCESSOR)
        r.text(f"{HR_DEVICE_ENTRY}.3.{x}", "GenuineIntel: Intel(R) Core(TM) CPU")
        r.add(f"{HR_DEVICE_ENTRY}.4.{x}", "6", "0.0")
        r.add(f"{HR_DEVICE_ENTRY}.5.{x}", "2", 2)  # running
        r.add(f"{HR_DEVICE_ENTRY}.6.{x}", "65", 0)
        r.add(f"{HR_PROCESSOR_ENTRY}.1.{x}", "6", "0.0")
        r.add(f"{HR_PROCESSOR_ENTRY}.2.{x}", "2", (s >> c) % 40)

    # hrSWInstalled
    r.add(f"{HR}.6.1.0", "67", 0)
    r.hexval(f"{HR}.6.2.0", bytes.fromhex("07ea0b160e1e0000"))
    for n, (name, installed) in enumerate(h.software, start=1):
        r.add(f"{HR_SW_INSTALLED_ENTRY}.1.{n}", "2", n)
        r.text(f"{HR_SW_INSTALLED_ENTRY}.2.{n}", name)
        r.add(f"{HR_SW_INSTALLED_ENTRY}.3.{n}", "6", "0.0")
        r.add(f"{HR_SW_INSTALLED_ENTRY}.4.{n}", "2", HR_SW_APPLICATION)
        r.add(f"{HR_SW_INSTALLED_ENTRY}.5.{n}", "4x", _date_and_time(installed))


def render_snmprec(device: LabDevice) -> str:
    """The snmpsim data file text for `device` (sorted numerically, numeric OIDs)."""
    r = _Records()
    _system(r, device)
    _entity(r, device)
    _interfaces(r, device)
    _ip(r, device)
    _bridge(r, device)
    _lldp(r, device)
    _host(r, device)
    return r.render()
