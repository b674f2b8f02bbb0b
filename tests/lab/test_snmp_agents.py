"""The SNMP half of the lab: snmprec.py (pure) and SnmpLab (snmpsim agents on 127.250.x.y)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from collectors.lab.snmp_agents import SnmpLab, engine_id
from collectors.lab.snmprec import render_snmprec, to_octets
from collectors.lab.spec import ArpEntry, LabDevice, LabInterface, SnmpAccess
from tests.lab import snmp_devices as kinds

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
ENT_SERIAL = "1.3.6.1.2.1.47.1.1.1.1.11.1"
ENT_MODEL = "1.3.6.1.2.1.47.1.1.1.1.13.1"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_PHYS = "1.3.6.1.2.1.2.2.1.6"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"
BASE_PORT_IFINDEX = "1.3.6.1.2.1.17.1.4.1.2"
FDB_PORT = "1.3.6.1.2.1.17.4.3.1.2"
ARP_PHYS = "1.3.6.1.2.1.4.22.1.2"
LLDP_REM_SYSNAME = "1.0.8802.1.1.2.1.4.1.1.9"
LLDP_REM_PORT = "1.0.8802.1.1.2.1.4.1.1.7"
HR_MEMORY = "1.3.6.1.2.1.25.2.2.0"
HR_STORAGE_DESCR = "1.3.6.1.2.1.25.2.3.1.3"
HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2"
HR_SW_NAME = "1.3.6.1.2.1.25.6.3.1.2"

pytestmark = pytest.mark.lab


# ------------------------------------------------------------------------------ devices
NETWORK = "127.250.1"


def _snmp(n: int) -> SnmpAccess:
    return SnmpAccess(
        port=21600 + n,
        community=f"Kk{n}ro",
        v3_user=f"kiemke{n}",
        # Leading dashes: the keys reach snmpsim on its command line and must not read as options.
        v3_auth_key=f"-auth-secret-{n}",
        v3_priv_key=f"--priv-secret-{n}",
    )


def _device(n: int, **overrides) -> LabDevice:
    return kinds.lab_device(n, NETWORK, overrides.pop("snmp", _snmp(n)), **overrides)


SWITCH = _device(1, interfaces=kinds.SWITCH_INTERFACES, fdb=kinds.SWITCH_FDB, arp=kinds.SWITCH_ARP, lldp=(kinds.UPLINK_TO_FIREWALL,))
FIREWALL = _device(
    2,
    **kinds.FORTIGATE_100F,
    device_class="firewall",
    hostname="hn01-fw01",
    model="FortiGate-100F",
    serial="FG100FTK21000002",
    country_of_origin="TW",
    interfaces=(
        LabInterface(1, "port1", "00:09:0f:fe:00:01", 1000, True),
        LabInterface(2, "wan1", "00:09:0f:fe:00:02", 10000, True),
    ),
    arp=(ArpEntry("10.10.0.1", "00:1a:c0:01:00:30", 1),),
)
ENDPOINT = _device(3, **kinds.DELL_DESKTOP, host=kinds.desktop_host(1_000_000_000))
HTML, NON_UTF8, PADDED, BIG = kinds.HTML, kinds.NON_UTF8, kinds.PADDED, kinds.BIG
HOSTILE = _device(
    4,
    hostname="hex:" + NON_UTF8.hex(),
    sys_descr=HTML,
    model=BIG,
    serial=PADDED.decode(),
    interfaces=(
        LabInterface(1, "Cổng 1 — ‘uplink’", kinds.mac(0xC0, 0x04, 0x00, 1), 100, True),
        LabInterface(2, "Gi0/2", kinds.mac(0xC0, 0x04, 0x00, 2), 100, False),
    ),
    tags=("hostile",),
)
SLOW, HANG, DEAD = kinds.slow_hang_dead(_device)
DEVICES = [SWITCH, FIREWALL, ENDPOINT, HOSTILE, SLOW, HANG, DEAD]
ANSWERING = [SWITCH, FIREWALL, ENDPOINT, HOSTILE, SLOW]


# ------------------------------------------------------------------------------ client
def _v2(d: LabDevice, community: str | None = None):
    from pysnmp.hlapi.v3arch.asyncio import CommunityData

    return CommunityData(community or d.snmp.community, mpModel=1)


def _v3(d: LabDevice, auth: str | None = None, priv: str | None = None):
    from pysnmp.hlapi.v3arch.asyncio import (
        UsmUserData,
        usmAesCfb128Protocol,
        usmHMACSHAAuthProtocol,
    )

    return UsmUserData(
        d.snmp.v3_user,
        auth or d.snmp.v3_auth_key,
        priv or d.snmp.v3_priv_key,
        authProtocol=usmHMACSHAAuthProtocol,
        privProtocol=usmAesCfb128Protocol,
    )


async def _get(engine, d: LabDevice, auth, *oids: str, timeout: float = 2.0):
    """(errorIndication, {oid: value}) of one GET."""
    from pysnmp.hlapi.v3arch.asyncio import (
        ContextData,
        ObjectIdentity,
        ObjectType,
        UdpTransportTarget,
        get_cmd,
    )

    target = await UdpTransportTarget.create((d.address, d.snmp.port), timeout=timeout, retries=0)
    err, status, _idx, binds = await get_cmd(engine, auth, target, ContextData(), *(ObjectType(ObjectIdentity(o)) for o in oids), lookupMib=False)
    if err or status:
        return err or status, {}
    return None, {str(k): v for k, v in binds}


async def _walk(engine, d: LabDevice, auth, oid: str, timeout: float = 2.0) -> dict[str, object]:
    from pysnmp.hlapi.v3arch.asyncio import (
        ContextData,
        ObjectIdentity,
        ObjectType,
        UdpTransportTarget,
        bulk_walk_cmd,
    )

    target = await UdpTransportTarget.create((d.address, d.snmp.port), timeout=timeout, retries=1)
    out: dict[str, object] = {}
    async for err, status, _idx, binds in bulk_walk_cmd(
        engine, auth, target, ContextData(), 0, 25, ObjectType(ObjectIdentity(oid)),
        lookupMib=False, lexicographicMode=False,
    ):  # fmt: skip
        if err or status:
            raise AssertionError(f"walk {oid} on {d.key}: {err or status}")
        for k, v in binds:
            out[str(k)] = v
    return out


def run(coro_fn):
    """Run `coro_fn(engine)` with a fresh client SnmpEngine."""
    from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

    async def main():
        engine = SnmpEngine()
        try:
            return await coro_fn(engine)
        finally:
            engine.close_dispatcher()

    return asyncio.run(main())


def _octets(v) -> bytes:
    return bytes(v.asOctets())


def _tail(oid: str, prefix: str) -> str:
    return oid[len(prefix) + 1 :]


# ------------------------------------------------------------------------------ snmprec.py
def _oid_key(line: str) -> tuple[int, ...]:
    return tuple(int(x) for x in line.split("|", 1)[0].split("."))


@pytest.mark.parametrize("device", DEVICES, ids=lambda d: d.key)
def test_snmprec_is_sorted_numeric_unique_and_pure(device: LabDevice) -> None:
    text = render_snmprec(device)
    assert text == render_snmprec(device)
    lines = text.splitlines()
    keys = [_oid_key(line) for line in lines]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    for line in lines:
        oid, tag, value = line.split("|", 2)
        assert tag in {"2", "4", "4x", "6", "64", "65", "66", "67"}
        if tag == "4":  # plain text only for clean ASCII that survives snmpsim's strip()
            assert value == value.strip() and value.isascii() and value.isprintable()


def test_snmprec_hex_conventions() -> None:
    text = render_snmprec(HOSTILE)
    assert f"1.3.6.1.2.1.1.5.0|4x|{NON_UTF8.hex()}" in text
    assert f"1.3.6.1.2.1.1.1.0|4x|{HTML.encode().hex()}" in text or f"1.3.6.1.2.1.1.1.0|4|{HTML}" in text
    assert f"{ENT_MODEL}|4|{BIG}" in text
    assert f"{ENT_SERIAL}|4x|{PADDED.hex()}" in text
    assert to_octets("hex:de ad:BE ef") == b"\xde\xad\xbe\xef"


# ------------------------------------------------------------------------------ live lab
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = SnmpLab(DEVICES, tmp_path_factory.mktemp("snmplab"))
    t0 = time.monotonic()
    lab.start(timeout=60)
    lab.started_in = time.monotonic() - t0
    yield lab
    lab.stop()
    assert not lab.is_running()


def test_lab_serves_every_answering_device(lab: SnmpLab) -> None:
    assert {d.key for d in lab.served} == {d.key for d in DEVICES if d.behaviour != "dead"}
    assert lab.is_running()
    assert lab.started_in < 20


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_each_device_answers_with_its_own_identity(lab: SnmpLab, version: str) -> None:
    async def check(engine):
        results = {}
        for d in [SWITCH, FIREWALL, ENDPOINT]:
            auth = _v2(d) if version == "v2c" else _v3(d)
            results[d.key] = await _get(engine, d, auth, SYS_NAME, ENT_SERIAL, ENT_MODEL, SYS_DESCR)
        return results

    results = run(check)
    for d in [SWITCH, FIREWALL, ENDPOINT]:
        err, vals = results[d.key]
        assert err is None, (d.key, err)
        assert _octets(vals[SYS_NAME]) == d.hostname.encode()
        assert _octets(vals[ENT_SERIAL]) == d.serial.encode()
        assert _octets(vals[ENT_MODEL]) == d.model.encode()
        assert _octets(vals[SYS_DESCR]) == d.sys_descr.encode()


def test_switch_tables_over_v2c_and_v3(lab: SnmpLab) -> None:
    async def check(engine):
        out = {}
        for name, auth in (("v2c", _v2(SWITCH)), ("v3", _v3(SWITCH))):
            out[name] = {
                oid: await _walk(engine, SWITCH, auth, oid)
                for oid in (IF_DESCR, IF_PHYS, IF_OPER, IF_NAME, IF_HIGH_SPEED, BASE_PORT_IFINDEX, FDB_PORT,
                            ARP_PHYS, LLDP_REM_SYSNAME, LLDP_REM_PORT)
            }  # fmt: skip
        return out

    out = run(check)
    assert out["v2c"] == out["v3"]
    t = out["v3"]
    assert {int(_tail(k, IF_DESCR)): _octets(v).decode() for k, v in t[IF_DESCR].items()} == {i.index: i.name for i in SWITCH.interfaces}
    assert {int(_tail(k, IF_NAME)): _octets(v).decode() for k, v in t[IF_NAME].items()} == {i.index: i.name for i in SWITCH.interfaces}
    assert {int(_tail(k, IF_PHYS)): _octets(v).hex(":") for k, v in t[IF_PHYS].items()} == {i.index: i.mac for i in SWITCH.interfaces}
    assert {int(_tail(k, IF_OPER)): int(v) for k, v in t[IF_OPER].items()} == {i.index: 1 if i.oper_up else 2 for i in SWITCH.interfaces}
    assert {int(v) for v in t[IF_HIGH_SPEED].values()} == {1000}
    # FDB: MAC -> bridge port -> ifIndex
    port_if = {int(_tail(k, BASE_PORT_IFINDEX)): int(v) for k, v in t[BASE_PORT_IFINDEX].items()}
    fdb = {":".join(f"{int(x):02x}" for x in _tail(k, FDB_PORT).split(".")): port_if[int(v)] for k, v in t[FDB_PORT].items()}
    assert fdb == {e.mac: e.port_index for e in SWITCH.fdb}
    arp = {_tail(k, ARP_PHYS): _octets(v).hex(":") for k, v in t[ARP_PHYS].items()}
    assert arp == {f"{e.if_index}.{e.ip}": e.mac for e in SWITCH.arp}
    assert [_octets(v) for v in t[LLDP_REM_SYSNAME].values()] == [b"hn01-fw01"]
    assert list(t[LLDP_REM_SYSNAME]) == [f"{LLDP_REM_SYSNAME}.0.24.1"]
    assert [_octets(v) for v in t[LLDP_REM_PORT].values()] == [b"port1"]


def test_endpoint_host_resources(lab: SnmpLab) -> None:
    async def check(engine):
        auth = _v3(ENDPOINT)
        err, mem = await _get(engine, ENDPOINT, auth, HR_MEMORY)
        assert err is None
        return (
            mem,
            await _walk(engine, ENDPOINT, auth, HR_STORAGE_DESCR),
            await _walk(engine, ENDPOINT, auth, HR_DEVICE_TYPE),
            await _walk(engine, ENDPOINT, auth, HR_SW_NAME),
        )

    mem, storage, devices, software = run(check)
    assert int(mem[HR_MEMORY]) == ENDPOINT.host.ram_kb
    assert [_octets(v).decode() for v in storage.values()] == ["Physical Memory"] + [descr for descr, _ in ENDPOINT.host.disks]
    assert [str(v) for v in devices.values()] == ["1.3.6.1.2.1.25.3.1.3"] * ENDPOINT.host.cores
    names = [_octets(v).decode() for v in software.values()]
    assert names == [n for n, _ in ENDPOINT.host.software]
    assert any("Kaspersky" in n for n in names)


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_hostile_values_come_back_byte_exact(lab: SnmpLab, version: str) -> None:
    async def check(engine):
        auth = _v2(HOSTILE) if version == "v2c" else _v3(HOSTILE)
        err, vals = await _get(engine, HOSTILE, auth, SYS_DESCR, SYS_NAME, ENT_SERIAL)
        assert err is None, err
        err, big = await _get(engine, HOSTILE, auth, ENT_MODEL)
        assert err is None, err
        walked = await _walk(engine, HOSTILE, auth, "1.3.6.1.2.1.47.1.1.1.1")  # GETBULK over 65 KB
        names = await _walk(engine, HOSTILE, auth, IF_DESCR)
        return vals, big, walked, names

    vals, big, walked, names = run(check)
    assert _octets(vals[SYS_DESCR]) == HTML.encode()
    assert _octets(vals[SYS_NAME]) == NON_UTF8
    assert _octets(vals[ENT_SERIAL]) == PADDED
    assert _octets(big[ENT_MODEL]) == BIG.encode()
    assert _octets(walked[ENT_MODEL]) == BIG.encode()
    assert _octets(walked[ENT_SERIAL]) == PADDED
    assert [_octets(v).decode() for v in names.values()] == [i.name for i in HOSTILE.interfaces]


def test_wrong_credentials_get_no_data(lab: SnmpLab) -> None:
    from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

    cases = [
        (SWITCH, _v2(SWITCH, "public")),
        (SWITCH, _v2(SWITCH, FIREWALL.snmp.community)),  # another device's community
        (SWITCH, _v2(SWITCH, "index")),  # snmpsim's data-file catalogue context
        (SWITCH, _v3(SWITCH, auth="wrong-auth-key")),
        (SWITCH, _v3(SWITCH, priv="wrong-priv-key")),
        (FIREWALL, _v3(SWITCH)),  # another device's user
    ]

    async def one(d, auth):
        engine = SnmpEngine()  # own engine: the client caches USM keys per user name
        try:
            return await _get(engine, d, auth, SYS_NAME, timeout=0.7)
        finally:
            engine.close_dispatcher()

    async def check():
        return await asyncio.gather(*(one(d, auth) for d, auth in cases))

    for n, (err, vals) in enumerate(asyncio.run(check())):
        assert err is not None and vals == {}, (n, err, vals)


def test_behaviours_slow_hang_dead(lab: SnmpLab) -> None:
    async def timed(engine, d, auth, timeout):
        t0 = time.monotonic()
        err, vals = await _get(engine, d, auth, SYS_NAME, timeout=timeout)
        return err, vals, time.monotonic() - t0

    async def check(engine):
        return await asyncio.gather(
            timed(engine, SLOW, _v2(SLOW), 4),
            timed(engine, SLOW, _v3(SLOW), 4),
            timed(engine, HANG, _v2(HANG), 1),
            timed(engine, HANG, _v3(HANG), 1),
            timed(engine, DEAD, _v2(DEAD), 1),
            timed(engine, SWITCH, _v2(SWITCH), 1),  # a slow neighbour does not stall others
        )

    (s2, s3, h2, h3, dead, fast) = run(check)
    for err, vals, took in (s2, s3):
        assert err is None and _octets(vals[SYS_NAME]) == SLOW.hostname.encode()
        assert 1.4 <= took < 4.0  # the 4 s timeout bounds it too
    for err, vals, _took in (h2, h3, dead):
        assert err is not None and vals == {}
    assert fast[0] is None and fast[2] < 1.0  # the slow device answers after 1.4 s


def test_engine_ids_are_distinct_per_device() -> None:
    ids = {engine_id(d) for d in DEVICES}
    assert len(ids) == len(DEVICES)
    assert all(5 <= len(i) <= 32 for i in ids)


def test_invalid_devices_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        SnmpLab([_device(8, address="10.99.0.8")], tmp_path)
    with pytest.raises(ValueError, match="port"):
        SnmpLab([_device(8, snmp=SnmpAccess(161, "c", "u", "12345678", "12345678"))], tmp_path)
    with pytest.raises(ValueError, match="already used"):
        SnmpLab([_device(8), _device(9, address="127.250.1.8", snmp=_snmp(8))], tmp_path)


def _snmpsim_pids(workdir: Path) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"collectors.lab.snmpsim_run" in cmd and str(workdir).encode() in cmd:
                pids.append(int(entry))
    return pids


def test_stop_from_another_process_object_kills_leftovers(tmp_path: Path) -> None:
    d = _device(20, snmp=_snmp(20), address="127.250.1.20")
    first = SnmpLab([d], tmp_path)
    pids = first.start(timeout=30)
    assert sorted(_snmpsim_pids(tmp_path.resolve())) == sorted(pids)
    # as if the first owner crashed: a new SnmpLab on the same workdir cleans up
    SnmpLab([d], tmp_path).stop()
    assert _snmpsim_pids(tmp_path.resolve()) == []
    assert not first.is_running()
    first.stop()  # idempotent; reaps our children


def test_stop_leaves_no_snmpsim_process(lab: SnmpLab) -> None:
    assert _snmpsim_pids(lab.workdir)
    lab.stop()
    assert _snmpsim_pids(lab.workdir) == []
    assert not lab.is_running()
