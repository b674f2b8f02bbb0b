"""The SNMP collector tests' devices (snmpsim agents on 127.252.1.x), their credentials, and
what the facts collected from each must be. Shared by the live-lab tests, the golden-walk
tests (which need no lab) and the script that records the golden walks."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import SecretStr

from collectors.lab import spec
from collectors.lab.snmprec import to_octets
from collectors.records import DeviceFacts, SnmpCredential
from collectors.snmp import text
from collectors.vendors import origin_for
from tests.lab import snmp_devices as kinds

NETWORK = "127.252.1"
PORT = 1161


def _device(n: int, **overrides: Any) -> spec.LabDevice:
    access = spec.SnmpAccess(PORT, f"Kk{n}ro-c", f"kiemke{n}", f"auth-secret-{n}x", f"priv-secret-{n}x")
    return kinds.lab_device(n, NETWORK, overrides.pop("snmp", access), key=f"snmpc{n}", **overrides)


SWITCH = _device(
    1,
    interfaces=kinds.SWITCH_INTERFACES,
    fdb=(
        *kinds.SWITCH_FDB,
        spec.FdbEntry("3c:52:82:aa:00:09", 40),  # a port that is not an interface: own bridge port
    ),
    arp=kinds.SWITCH_ARP,
    lldp=(kinds.UPLINK_TO_FIREWALL, spec.LldpNeighbour(23, "hn01-sw02", "GigabitEthernet1/0/1", "00:1a:c0:02:00:01")),
)
ENDPOINT = _device(2, **kinds.DELL_DESKTOP, host=kinds.desktop_host(4_000_000_000, ("Unknown date tool", "")))
HTML, PADDED, BIG = kinds.HTML, kinds.PADDED, kinds.BIG
NON_UTF8 = kinds.NON_UTF8 + b"\x00\x00"
HOSTILE = _device(
    3,
    hostname="hex:" + NON_UTF8.hex(),
    sys_descr=HTML,
    vendor="Huawei",
    model=BIG,
    serial=PADDED.decode(),
    sys_object_id="1.3.6.1.4.1.2011.2.23.541",
    interfaces=(
        spec.LabInterface(1, "Cổng 1 — ‘uplink’", kinds.mac(0xC0, 0x03, 0x00, 1), 100, True),
        spec.LabInterface(2, "hex:476900ff2f32", kinds.mac(0xC0, 0x03, 0x00, 2), 100, False),
    ),
)
HUGE = _device(  # entPhysicalModelName too big for any answer: only that value is lost
    4,
    snmp=spec.SnmpAccess(PORT, "Kk4ro-c", "kiemke3", "auth-secret-4x", "priv-secret-4x"),  # HOSTILE's user, own keys
    **kinds.FORTIGATE_100F,
    model="M" * 65500,
    interfaces=(spec.LabInterface(1, "port1", "00:09:0f:fe:00:01", 1000, True),),
)
SLOW, HANG, DEAD = kinds.slow_hang_dead(_device)
DEVICES = [SWITCH, ENDPOINT, HOSTILE, HUGE, SLOW, HANG, DEAD]


def v2c(d: spec.LabDevice, community: str | None = None) -> SnmpCredential:
    return SnmpCredential(name="ro", version="v2c", community=SecretStr(community or d.snmp.community), port=d.snmp.port)


def v3(d: spec.LabDevice, auth: str | None = None, priv: str | None = None) -> SnmpCredential:
    return SnmpCredential(
        name="v3",
        version="v3",
        user=d.snmp.v3_user,
        auth_key=SecretStr(auth or d.snmp.v3_auth_key),
        priv_key=SecretStr(priv or d.snmp.v3_priv_key),
        port=d.snmp.port,
    )


# ------------------------------------------------------------------------------ expected facts
def _expected_interfaces(d: spec.LabDevice) -> list[tuple]:
    return [(i.index, text(to_octets(i.name)), i.mac, i.speed_mbps, True, i.oper_up) for i in sorted(d.interfaces, key=lambda i: i.index)]


def _interfaces(facts: DeviceFacts) -> list[tuple]:
    return [(i.index, i.name, i.mac, i.speed_mbps, i.admin_up, i.oper_up) for i in facts.interfaces]


def check_switch_facts(facts: DeviceFacts) -> None:
    """SWITCH's facts hold what the lab serves: identity, interfaces, FDB, ARP and LLDP."""
    d = SWITCH
    assert facts.warnings == ()
    assert (facts.address, facts.source) == (d.address, "snmp")
    assert (facts.sys_name, facts.sys_descr, facts.sys_object_id) == (d.hostname, d.sys_descr, d.sys_object_id)
    assert facts.sys_location == d.site_code
    assert facts.uptime_seconds and facts.uptime_seconds >= 86_400
    assert (facts.vendor, facts.model, facts.serial) == ("Cisco", d.model, d.serial)
    assert (facts.os_name, facts.os_version) == ("IOS-XE", "17.9.4")
    assert _interfaces(facts) == _expected_interfaces(d)
    assert facts.interfaces[23].alias == "uplink hn01-fw01 port1"
    assert facts.interfaces[23].description == "GigabitEthernet1/0/24"
    names = {i.index: i.name for i in d.interfaces}
    assert sorted((f.mac, f.if_index, f.port_name) for f in facts.fdb) == sorted((e.mac, e.port_index, names.get(e.port_index, "")) for e in d.fdb)
    assert sorted((a.ip, a.mac, a.if_index) for a in facts.arp) == sorted((e.ip, e.mac, e.if_index) for e in d.arp)
    assert sorted((n.local_if_index, n.remote_sysname, n.remote_port, n.remote_chassis) for n in facts.lldp) == sorted(
        (n.local_port_index, n.remote_sysname, n.remote_port, n.remote_chassis_mac) for n in d.lldp
    )
    assert facts.host is None
    assert origin_for(facts.vendor, facts.model) == d.country_of_origin


def check_endpoint_facts(facts: DeviceFacts) -> None:
    """ENDPOINT's facts: the chassis maker's vendor, and its host resources."""
    h = ENDPOINT.host
    assert facts.warnings == ()
    assert facts.vendor == "Dell"  # entPhysicalMfgName "Dell Inc.", not Microsoft's sysObjectID
    assert (facts.model, facts.serial, facts.os_name, facts.os_version) == ("OptiPlex 7010", "7X1B2C3", "Windows", "10.0.19045")
    assert facts.host is not None
    assert (facts.host.cores, facts.host.ram_kb) == (h.cores, h.ram_kb)
    assert facts.host.disks == h.disks
    assert [(s.name, s.installed) for s in facts.host.software] == [(name, date.fromisoformat(day) if day else None) for name, day in h.software]
    assert facts.macs == ("3c:52:82:aa:00:01",)
    assert origin_for(facts.vendor, facts.model) == "US"


def check_hostile_facts(facts: DeviceFacts) -> None:
    """HOSTILE's values stay text: HTML kept, bad UTF-8 and NULs replaced, nothing cut."""
    assert facts.sys_descr == HTML  # kept as text; escaping is the web layer's job
    assert facts.sys_name == "sw-\ufffd\ufffd\ufffd(\ufffd\x7f-evil"  # bad UTF-8 replaced, NUL too, padding gone
    assert facts.serial == PADDED.decode()
    assert facts.model == BIG
    assert [i.name for i in facts.interfaces] == ["Cổng 1 — ‘uplink’", "Gi\ufffd\ufffd/2"]
    assert (facts.vendor, origin_for(facts.vendor, facts.model)) == ("Huawei", "CN")
