"""SnmpCollector against snmpsim agents on 127.252.1.x, the BER codec, and collectors.vendors."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr

from collectors.base import Collector
from collectors.lab.spec import (
    ArpEntry,
    FdbEntry,
    HostResources,
    LabDevice,
    LabInterface,
    LldpNeighbour,
    SnmpAccess,
)
from collectors.records import (
    AuthenticationFailed,
    CollectionTimeout,
    DeviceFacts,
    SnmpCredential,
    Target,
    Unreachable,
)
from collectors.snmp import (
    BerError,
    SnmpCollector,
    date_and_time,
    localize_key,
    password_to_key,
    priv_key_for,
    decode_message,
    decode_oid,
    encode_oid,
    encode_request,
    mac_text,
    text,
)
from collectors.vendors import VendorData, VendorDataError, canonical_vendor, origin_for, os_from_sys_descr, vendor_for_sys_object_id

PORT = 1161


# ------------------------------------------------------------------------------ devices
def _mac(*tail: int) -> str:
    return ":".join(f"{b:02x}" for b in (0x00, 0x1A, *tail))


def _device(n: int, **kw) -> LabDevice:
    base = dict(
        key=f"snmpc{n}",
        site_code="HN01",
        zone="party_wan",
        device_class="access_switch",
        hostname=f"hn01-sw{n}",
        address=f"127.252.1.{n}",
        vendor="Cisco",
        model="C9200L-24T-4G",
        serial=f"JAE2{n:07d}",
        os_name="IOS-XE",
        os_version="17.9.4",
        sys_object_id="1.3.6.1.4.1.9.1.2694",
        sys_descr="Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_LITE_IOSXE), Version 17.9.4",
        country_of_origin="US",
        recorded=True,
        snmp=SnmpAccess(PORT, f"Kk{n}ro-c", f"kiemke{n}", f"auth-secret-{n}x", f"priv-secret-{n}x"),
    )
    base.update(kw)
    return LabDevice(**base)


SWITCH = _device(
    1,
    interfaces=tuple(
        LabInterface(i, f"GigabitEthernet1/0/{i}", _mac(0xC0, 0x01, 0x00, i), 1000, i % 4 != 0) for i in range(1, 25)
    )
    + (LabInterface(30, "Vlan10", _mac(0xC0, 0x01, 0x00, 0x30), 1000, True),),
    fdb=(
        FdbEntry("3c:52:82:aa:00:01", 3),
        FdbEntry("3c:52:82:aa:00:02", 7),
        FdbEntry("00:09:0f:fe:00:01", 24),
        FdbEntry("3c:52:82:aa:00:09", 40),  # a port that is not an interface: own bridge port
    ),
    arp=(ArpEntry("10.10.0.21", "3c:52:82:aa:00:01", 30), ArpEntry("10.10.0.22", "3c:52:82:aa:00:02", 30)),
    lldp=(
        LldpNeighbour(24, "hn01-fw01", "port1", "00:09:0f:fe:00:01"),
        LldpNeighbour(23, "hn01-sw02", "GigabitEthernet1/0/1", "00:1a:c0:02:00:01"),
    ),
)
ENDPOINT = _device(
    2,
    device_class="desktop",
    hostname="HN01-PC0042",
    vendor="Dell Inc.",
    model="OptiPlex 7010",
    serial="7X1B2C3",
    os_name="Windows",
    os_version="10.0.19045",
    sys_object_id="1.3.6.1.4.1.311.1.1.3.1.1",
    sys_descr="Hardware: Intel64 Family 6 Model 154 - Software: Windows Version 6.3 (Build 19045 Multiprocessor Free)",
    interfaces=(LabInterface(11, "Intel(R) Ethernet Connection (17) I219-LM", "3c:52:82:aa:00:01", 1000, True),),
    host=HostResources(
        cores=4,
        ram_kb=16 * 1024 * 1024,
        disks=(("C:\\ Label:Windows  Serial Number 5a3c1e77", 500_000_000), ("D:\\ Label:Data", 4_000_000_000)),
        os_descr="Windows 10 Pro 22H2",
        software=(
            ("Microsoft Office Professional Plus 2019", "2023-04-11"),
            ("Kaspersky Endpoint Security for Windows", "2024-01-30"),
            ("Bộ gõ Unikey 4.3", "2022-09-01"),
            ("Unknown date tool", ""),
        ),
    ),
)
HTML = '<script>alert("kiemke")</script><img src=x onerror=alert(1)> & | "IOS" \'x\''
NON_UTF8 = b"sw-\xff\xfe\xc3(\x00\x7f-evil\x00\x00"
PADDED = b" padded serial\t"
BIG = ("0123456789abcdef" * 4063)[:65000]  # fits one answer
HOSTILE = _device(
    3,
    hostname="hex:" + NON_UTF8.hex(),
    sys_descr=HTML,
    vendor="Huawei",
    model=BIG,
    serial=PADDED.decode(),
    sys_object_id="1.3.6.1.4.1.2011.2.23.541",
    interfaces=(
        LabInterface(1, "Cổng 1 — ‘uplink’", _mac(0xC0, 0x03, 0x00, 1), 100, True),
        LabInterface(2, "hex:476900ff2f32", _mac(0xC0, 0x03, 0x00, 2), 100, False),
    ),
)
HUGE = _device(  # entPhysicalModelName too big for any answer: only that value is lost
    4,
    snmp=SnmpAccess(PORT, "Kk4ro-c", "kiemke3", "auth-secret-4x", "priv-secret-4x"),  # HOSTILE's user, own keys
    vendor="Fortinet",
    model="M" * 65500,
    sys_object_id="1.3.6.1.4.1.12356.101.1.1004",
    sys_descr="FortiGate-100F v7.2.8,build1639,240313 (GA.M)",
    os_name="FortiOS",
    os_version="7.2.8",
    interfaces=(LabInterface(1, "port1", "00:09:0f:fe:00:01", 1000, True),),
)
SLOW = _device(5, behaviour="slow", interfaces=(LabInterface(1, "Gi0/1", _mac(0xC0, 0x05, 0, 1), 1000, True),))
HANG = _device(6, behaviour="hang")
DEAD = _device(7, behaviour="dead")
DEVICES = [SWITCH, ENDPOINT, HOSTILE, HUGE, SLOW, HANG, DEAD]


def v2c(d: LabDevice, community: str | None = None) -> SnmpCredential:
    return SnmpCredential(name="ro", version="v2c", community=SecretStr(community or d.snmp.community), port=d.snmp.port)


def v3(d: LabDevice, auth: str | None = None, priv: str | None = None) -> SnmpCredential:
    return SnmpCredential(
        name="v3",
        version="v3",
        user=d.snmp.v3_user,
        auth_key=SecretStr(auth or d.snmp.v3_auth_key),
        priv_key=SecretStr(priv or d.snmp.v3_priv_key),
        port=d.snmp.port,
    )


def collect_all(jobs: list[tuple]) -> list[tuple[DeviceFacts | BaseException, float]]:
    """Run the visits (device, credential, timeout[, v3 backend]) concurrently, one collector
    per backend; each result is (facts or error, seconds)."""

    async def main():
        collectors = {"native": SnmpCollector(), "pysnmp": SnmpCollector(v3_backend="pysnmp")}

        async def one(d, cred, timeout, backend="native"):
            t0 = time.monotonic()
            try:
                result = await collectors[backend].collect(Target(d.address), cred, timeout)
            except Exception as exc:  # noqa: BLE001
                result = exc
            return result, time.monotonic() - t0

        try:
            return await asyncio.gather(*(one(*job) for job in jobs))
        finally:
            for collector in collectors.values():
                await collector.aclose()

    return asyncio.run(main())


# ------------------------------------------------------------------------------ live lab
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from collectors.lab.snmp_agents import SnmpLab

    lab = SnmpLab(DEVICES, tmp_path_factory.mktemp("snmpcollector"), slow_delay=1.0)
    lab.start(timeout=60)
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def visits(lab):
    """One concurrent round: every device over v2c and v3, plus the failure cases."""
    jobs = {
        "switch_v2c": (SWITCH, v2c(SWITCH), 10),
        "switch_v3": (SWITCH, v3(SWITCH), 10),
        "switch_v3-pysnmp": (SWITCH, v3(SWITCH), 10, "pysnmp"),
        "endpoint_v2c": (ENDPOINT, v2c(ENDPOINT), 10),
        "endpoint_v3": (ENDPOINT, v3(ENDPOINT), 10),
        "endpoint_v3-pysnmp": (ENDPOINT, v3(ENDPOINT), 10, "pysnmp"),
        "hostile_v2c": (HOSTILE, v2c(HOSTILE), 10),
        "hostile_v3": (HOSTILE, v3(HOSTILE), 10),
        "huge_v2c": (HUGE, v2c(HUGE), 12),
        "slow_v2c": (SLOW, v2c(SLOW), 10),
        "slow_v3": (SLOW, v3(SLOW), 10),
        "wrong_community": (SWITCH, v2c(SWITCH, "public"), 2),
        "wrong_auth": (SWITCH, v3(SWITCH, auth="WrongAuthKey-4242"), 3),
        "wrong_priv": (SWITCH, v3(SWITCH, priv="WrongPrivKey-4242"), 3),
        "wrong_auth-pysnmp": (SWITCH, v3(SWITCH, auth="WrongAuthKey-4242"), 3, "pysnmp"),
        "hang_v2c": (HANG, v2c(HANG), 2),
        "hang_v3": (HANG, v3(HANG), 2),
        "hang_v3-pysnmp": (HANG, v3(HANG), 2, "pysnmp"),
        "dead_v2c": (DEAD, v2c(DEAD), 2),
        "dead_v3": (DEAD, v3(DEAD), 2),
    }
    return dict(zip(jobs, collect_all(list(jobs.values())), strict=True))


pytestmark = pytest.mark.lab


def _expected_interfaces(d: LabDevice) -> list[tuple]:
    from collectors.lab.snmprec import to_octets

    return [
        (i.index, text(to_octets(i.name)), i.mac, i.speed_mbps, True, i.oper_up)
        for i in sorted(d.interfaces, key=lambda i: i.index)
    ]


def _interfaces(facts: DeviceFacts) -> list[tuple]:
    return [(i.index, i.name, i.mac, i.speed_mbps, i.admin_up, i.oper_up) for i in facts.interfaces]


def test_collector_follows_the_protocol() -> None:
    assert isinstance(SnmpCollector(), Collector)
    assert SnmpCollector.name == "snmp"


@pytest.mark.parametrize("version", ["v2c", "v3", "v3-pysnmp"])
def test_switch_facts_match_the_lab(visits, version: str) -> None:
    facts, took = visits[f"switch_{version}"]
    assert isinstance(facts, DeviceFacts), facts
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
    assert sorted((f.mac, f.if_index, f.port_name) for f in facts.fdb) == sorted(
        (e.mac, e.port_index, names.get(e.port_index, "")) for e in d.fdb
    )
    assert sorted((a.ip, a.mac, a.if_index) for a in facts.arp) == sorted((e.ip, e.mac, e.if_index) for e in d.arp)
    assert sorted((n.local_if_index, n.remote_sysname, n.remote_port, n.remote_chassis) for n in facts.lldp) == sorted(
        (n.local_port_index, n.remote_sysname, n.remote_port, n.remote_chassis_mac) for n in d.lldp
    )
    assert facts.host is None
    assert origin_for(facts.vendor, facts.model) == d.country_of_origin
    assert took < 5


@pytest.mark.parametrize("version", ["v2c", "v3", "v3-pysnmp"])
def test_endpoint_host_resources(visits, version: str) -> None:
    facts, _ = visits[f"endpoint_{version}"]
    assert isinstance(facts, DeviceFacts), facts
    h = ENDPOINT.host
    assert facts.warnings == ()
    assert facts.vendor == "Dell"  # entPhysicalMfgName "Dell Inc.", not Microsoft's sysObjectID
    assert (facts.model, facts.serial, facts.os_name, facts.os_version) == ("OptiPlex 7010", "7X1B2C3", "Windows", "10.0.19045")
    assert facts.host is not None
    assert (facts.host.cores, facts.host.ram_kb) == (h.cores, h.ram_kb)
    assert facts.host.disks == h.disks
    assert [(s.name, s.installed) for s in facts.host.software] == [
        (name, date.fromisoformat(day) if day else None) for name, day in h.software
    ]
    assert facts.macs == ("3c:52:82:aa:00:01",)
    assert origin_for(facts.vendor, facts.model) == "US"


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_hostile_values_stay_text(visits, version: str) -> None:
    facts, _ = visits[f"hostile_{version}"]
    assert isinstance(facts, DeviceFacts), facts
    assert facts.sys_descr == HTML  # kept as text; escaping is the web layer's job
    assert facts.sys_name == "sw-\ufffd\ufffd\ufffd(\ufffd\x7f-evil"  # bad UTF-8 replaced, NUL too, padding gone
    assert facts.serial == PADDED.decode()
    assert facts.model == BIG
    assert [i.name for i in facts.interfaces] == ["Cổng 1 — ‘uplink’", "Gi\ufffd\ufffd/2"]
    assert (facts.vendor, origin_for(facts.vendor, facts.model)) == ("Huawei", "CN")


def test_a_value_too_big_for_any_answer_is_a_warning_not_a_failure(visits) -> None:
    facts, took = visits["huge_v2c"]
    assert isinstance(facts, DeviceFacts), facts
    assert facts.model is None
    assert any("1.3.6.1.2.1.47.1.1.1.1.13.1" in w for w in facts.warnings)
    # the interface walk may also end on the huge entPhysicalDescr that follows ifAlias
    assert all(w.startswith(("ENTITY-MIB", "interfaces")) for w in facts.warnings), facts.warnings
    assert (facts.serial, facts.vendor, facts.os_name, facts.os_version) == (HUGE.serial, "Fortinet", "FortiOS", "7.2.8")
    assert [i.name for i in facts.interfaces] == ["port1"]
    assert took <= 12.05


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_slow_device_is_collected(visits, version: str) -> None:
    facts, took = visits[f"slow_{version}"]
    assert isinstance(facts, DeviceFacts), facts
    assert facts.warnings == ()
    assert (facts.sys_name, facts.serial) == (SLOW.hostname, SLOW.serial)
    assert [i.name for i in facts.interfaces] == ["Gi0/1"]
    assert 1.0 <= took < 10


def test_wrong_community_times_out_within_the_timeout(visits) -> None:
    exc, took = visits["wrong_community"]
    assert isinstance(exc, CollectionTimeout), exc
    assert exc.kind == "timeout"
    assert "no SNMP answer from 127.252.1.1:1161 within 2 s" in str(exc)
    assert "wrong community" in str(exc)
    assert SWITCH.snmp.community not in str(exc)
    assert 1.0 < took <= 2.2


@pytest.mark.parametrize("case", ["wrong_auth", "wrong_priv", "wrong_auth-pysnmp"])
def test_wrong_v3_key_is_an_authentication_failure(visits, case: str) -> None:
    exc, took = visits[case]
    assert isinstance(exc, AuthenticationFailed), exc
    assert exc.kind == "auth"
    assert "SNMPv3 authentication failed for user 'kiemke1'" in str(exc)
    for secret in ("WrongAuthKey-4242", "WrongPrivKey-4242", SWITCH.snmp.v3_auth_key, SWITCH.snmp.v3_priv_key):
        assert secret not in str(exc) and secret not in repr(exc.args)
    assert took < 3.2


@pytest.mark.parametrize("case", ["hang_v2c", "hang_v3", "hang_v3-pysnmp", "dead_v2c", "dead_v3"])
def test_silent_devices_end_within_the_timeout(visits, case: str) -> None:
    exc, took = visits[case]
    assert isinstance(exc, CollectionTimeout | Unreachable), exc
    assert took <= 2.2
    if case.startswith("dead"):  # connected UDP socket: ICMP port unreachable ends it at once
        assert isinstance(exc, Unreachable) and took < 0.5
    else:
        assert isinstance(exc, CollectionTimeout) and took > 1.0


def test_v3_keys_are_per_credential(lab) -> None:
    """One collector, one user name with different keys on two devices: each gets its own keys
    (a single pysnmp engine would keep the first keys it saw for the name)."""
    assert HOSTILE.snmp.v3_user == HUGE.snmp.v3_user and HOSTILE.snmp.v3_auth_key != HUGE.snmp.v3_auth_key
    results = collect_all(
        [
            (HOSTILE, v3(HOSTILE), 8),
            (HUGE, v3(HUGE), 12),
            (HUGE, v3(HUGE, auth=HOSTILE.snmp.v3_auth_key, priv=HOSTILE.snmp.v3_priv_key), 3),
            (HOSTILE, v3(HOSTILE), 8),
        ]
    )
    kinds = [type(r).__name__ for r, _ in results]
    assert kinds == ["DeviceFacts", "DeviceFacts", "AuthenticationFailed", "DeviceFacts"], results
    assert results[1][0].serial == HUGE.serial and results[3][0].serial == PADDED.decode()


def test_bad_credential_is_a_config_error() -> None:
    async def main():
        c = SnmpCollector()
        with pytest.raises(Exception) as info:
            await c.collect(Target("127.252.1.9"), SnmpCredential("x", "v3", user="u", auth_key=SecretStr("short"), priv_key=SecretStr("short")), 1)
        assert info.value.kind == "config" and "short" not in str(info.value)
        with pytest.raises(Exception) as info:
            await c.collect(Target("127.252.1.9"), SnmpCredential("x", "v2c"), 1)
        assert info.value.kind == "config"

    asyncio.run(main())


# ------------------------------------------------------------------------------ codec (no lab)
def test_oid_codec_round_trips() -> None:
    for oid in ("1.3.6.1.2.1.1.1.0", "1.3.6.1.4.1.2011.2.23.541", "1.0.8802.1.1.2.1.4.1.1.9.0.24.1", "2.999.3", "1.3.6.1.4.1.4294967295"):
        assert decode_oid(encode_oid(oid)) == oid
    assert encode_oid("1.3.6.1") == b"+\x06\x01"


def test_codec_matches_pysnmp() -> None:
    from pyasn1.codec.ber import decoder, encoder
    from pysnmp.proto import api

    p = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    wire = encode_request(0xA5, b"c\xffx", 1234567, 0, 25, [encode_oid("1.3.6.1.2.1.2.2.1.2"), encode_oid("1.0.8802.1.1.2")])
    msg, rest = decoder.decode(wire, asn1Spec=p.Message())
    assert rest == b""
    assert bytes(p.apiMessage.get_community(msg)) == b"c\xffx"
    pdu = p.apiMessage.get_pdu(msg)
    assert int(p.apiBulkPDU.get_request_id(pdu)) == 1234567
    assert int(p.apiBulkPDU.get_max_repetitions(pdu)) == 25
    assert [str(o) for o, _ in p.apiBulkPDU.get_varbinds(pdu)] == ["1.3.6.1.2.1.2.2.1.2", "1.0.8802.1.1.2"]

    resp = p.GetResponsePDU()
    p.apiPDU.set_defaults(resp)
    p.apiPDU.set_request_id(resp, 77)
    big = b"\xff" * 300
    p.apiPDU.set_varbinds(
        resp,
        [
            ((1, 3, 6, 1, 2, 1, 1, 1, 0), p.OctetString(big)),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 200), p.Integer(-5)),
            ((1, 3, 6, 1, 2, 1, 1, 3, 0), p.TimeTicks(4294967295)),
            ((1, 3, 6, 1, 2, 1, 1, 2, 0), p.ObjectIdentifier((1, 3, 6, 1, 4, 1, 9, 1, 1208))),
            ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 10, 0, 0, 1), p.IpAddress("10.0.0.1")),
            ((1, 3, 6, 1, 2, 1, 9, 9), p.NoSuchObject("")),
        ],
    )
    out = p.Message()
    p.apiMessage.set_defaults(out)
    p.apiMessage.set_community(out, b"ro")
    p.apiMessage.set_pdu(out, resp)
    community, pdu_tag, request_id, status, index, varbinds = decode_message(encoder.encode(out))
    assert (community, pdu_tag, request_id, status, index) == (b"ro", 0xA2, 77, 0, 0)
    assert [(decode_oid(o), tag) for o, tag, _ in varbinds] == [
        ("1.3.6.1.2.1.1.1.0", 0x04), ("1.3.6.1.2.1.2.2.1.8.200", 0x02), ("1.3.6.1.2.1.1.3.0", 0x43),
        ("1.3.6.1.2.1.1.2.0", 0x06), ("1.3.6.1.2.1.4.20.1.1.10.0.0.1", 0x40), ("1.3.6.1.2.1.9.9", 0x80),
    ]  # fmt: skip
    assert varbinds[0][2] == big
    assert int.from_bytes(varbinds[1][2], "big", signed=True) == -5
    assert decode_oid(varbinds[3][2]) == "1.3.6.1.4.1.9.1.1208"
    assert varbinds[4][2] == bytes([10, 0, 0, 1])


def test_usm_keys_match_rfc3414_and_pysnmp() -> None:
    from pysnmp.proto.secmod.eso.priv.aes256 import AesBlumenthal256
    from pysnmp.proto.secmod.rfc3414.auth.hmacsha import HmacSha
    from pysnmp.proto.secmod.rfc3414.localkey import hash_passphrase
    from pysnmp.proto.secmod.rfc7860.auth.hmacsha2 import HmacSha2
    from pyasn1.type.univ import OctetString

    engine = bytes.fromhex("000000000000000000000002")
    ku = password_to_key(b"maplesyrup", "sha1")  # RFC 3414 A.3.2
    assert ku.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert localize_key(ku, engine, "sha1").hex() == "6695febc9288e36282235fc7151f128497b38f3f"
    for hash_name in ("sha1", "sha256"):
        assert password_to_key(b"priv-secret-9x", hash_name) == bytes(hash_passphrase(b"priv-secret-9x", getattr(__import__("hashlib"), hash_name)))
    priv_ku = password_to_key(b"priv-secret-9x", "sha1")
    theirs = AesBlumenthal256().localize_key(HmacSha.SERVICE_ID, priv_ku, OctetString(engine))
    assert priv_key_for(priv_ku, engine, "sha1", 32) == bytes(theirs)[:32]
    priv_ku = password_to_key(b"priv-secret-9x", "sha256")
    theirs = AesBlumenthal256().localize_key(HmacSha2.SHA256_SERVICE_ID, priv_ku, OctetString(engine))
    assert priv_key_for(priv_ku, engine, "sha256", 32) == bytes(theirs)[:32]


def test_v3_message_round_trip_and_tamper_check() -> None:
    """A response built and signed like an agent would is accepted; one flipped bit is dropped."""
    from collectors.snmp import PRIV_KEY_BYTES, _aes_cfb, _NativeV3Session, _tlv, _UsmUser, encode_v3

    user = _UsmUser(b"u", "sha256", 24, PRIV_KEY_BYTES["AES256"], password_to_key(b"authkey-1", "sha256"), password_to_key(b"privkey-1", "sha256"))
    session = _NativeV3Session("127.0.0.1", 1, user, 1)
    session.engine_id = b"\x80\x00\x1f\x88\x05agent"
    auth_key, priv_key = user.keys(session.engine_id)
    varbind = _tlv(0x30, _tlv(0x06, encode_oid("1.3.6.1.2.1.1.5.0")) + _tlv(0x04, b"sw"))
    pdu = _tlv(0xA2, b"\x02\x02\x10\x92" + b"\x02\x01\x00" * 2 + _tlv(0x30, varbind))  # request-id 4242
    scoped = _tlv(0x30, _tlv(0x04, session.engine_id) + _tlv(0x04, b"") + pdu)
    salt = b"12345678"
    enc = _aes_cfb(priv_key, (7).to_bytes(4, "big") + (99).to_bytes(4, "big") + salt).encryptor()
    encrypted = enc.update(scoped) + enc.finalize()
    message, offset = encode_v3(4242, 3, session.engine_id, 7, 99, b"u", 24, salt, _tlv(0x04, encrypted))
    import hmac as _hmac

    mac = _hmac.new(auth_key, message, "sha256").digest()[:24]
    signed = message[:offset] + mac + message[offset + 24 :]
    msg_id, (kind, status, varbinds) = session.accept(signed)
    assert (msg_id, kind, status) == (4242, "response", 0)
    assert [(decode_oid(o), t, v) for o, t, v in varbinds] == [("1.3.6.1.2.1.1.5.0", 0x04, b"sw")]
    tampered = bytearray(signed)
    tampered[-1] ^= 1
    assert session.accept(bytes(tampered)) is None
    assert session.accept(message) is None  # zero MAC


@pytest.mark.parametrize(
    "garbage", [b"", b"\x30", b"\x30\x05\x02\x01\x01\x04", b"\x30\x84\xff\xff\xff\xff", b"\x02\x01\x01", b"\x30\x03\x02\x01\x00"]
)
def test_codec_refuses_garbage(garbage: bytes) -> None:
    with pytest.raises(BerError):
        decode_message(garbage)


def test_value_helpers() -> None:
    assert mac_text(bytes.fromhex("001ac0010001")) == "00:1a:c0:01:00:01"
    assert mac_text(b"00:1A:C0:01:00:01") == "00:1a:c0:01:00:01"
    assert mac_text(b"") is None and mac_text(b"\x00" * 6) is None and mac_text(b"abc") is None
    assert date_and_time(bytes.fromhex("07e8011e00000000")) == date(2024, 1, 30)
    assert date_and_time(bytes.fromhex("07e8011e000000002b0700")) == date(2024, 1, 30)
    assert date_and_time(b"\x00" * 8) is None and date_and_time(b"\x07") is None
    assert text(b"a\xffb\x00c\x00\x00") == "a\ufffdb\ufffdc"
    warnings: list[str] = []
    assert len(text(b"x" * 70_000, warnings, "sysDescr")) == 65535 and "sysDescr" in warnings[0]


# ------------------------------------------------------------------------------ vendors.py
def test_vendor_tables() -> None:
    assert vendor_for_sys_object_id("1.3.6.1.4.1.9.1.1208") == "Cisco"
    assert vendor_for_sys_object_id(".1.3.6.1.4.1.12356.101.1.641") == "Fortinet"
    assert vendor_for_sys_object_id("1.3.6.1.4.1.11.2.3.7.11.141") == "HP"
    assert vendor_for_sys_object_id("1.3.6.1.4.1.999999999.1") is None
    assert vendor_for_sys_object_id("1.3.6.1.2.1.1") is None and vendor_for_sys_object_id(None) is None
    assert canonical_vendor("Cisco Systems, Inc.") == "Cisco" and canonical_vendor("HEWLETT-PACKARD Co.") == "HP"
    assert canonical_vendor("Ban Co yeu Chinh phu") == "Ban Cơ yếu Chính phủ"
    assert canonical_vendor("Some New Maker") == "Some New Maker" and canonical_vendor("  ") is None
    assert origin_for("Huawei") == "CN" and origin_for("TP-LINK Technologies Co., Ltd.") == "CN"
    assert origin_for("Lenovo", "ThinkPad E14 Gen 5") == "JP" and origin_for("Lenovo", "ThinkCentre neo 50s") == "CN"
    assert origin_for("Ban Cơ yếu Chính phủ", "BML-VPN 1000") == "VN" and origin_for("CMS") == "VN"
    assert origin_for("Unknown Maker") is None and origin_for(None) is None
    assert os_from_sys_descr("FortiGate-60F v7.2.8,build1639,240313 (GA.M)") == ("FortiOS", "7.2.8")
    assert os_from_sys_descr("Juniper Networks, Inc. ex2300-24t, kernel JUNOS 21.4R3-S1.6,") == ("Junos", "21.4R3-S1.6")
    assert os_from_sys_descr("Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, RELEASE") == ("IOS", "15.2(7)E8")
    assert os_from_sys_descr("<script>") == (None, None)


@pytest.mark.parametrize(
    "enterprises, origins, message",
    [
        ("enterprises: {9: Cisco}\nos: [{match: '(', name: X}]", "origins: {}", "bad regular expression"),
        ("enterprises: {x: Cisco}", "origins: {}", "not an enterprise number"),
        ("enterprises: {9: Cisco}\nagents: [8072]", "origins: {}", "not a number listed"),
        ("enterprises: {9: Cisco}", "origins: {Cisco: USA}", "ISO 3166"),
        ("enterprises: {9: Cisco}", "origins: {Cisco: {default: US, models: [{match: x}]}}", "models[0]"),
        ("enterprises: {9: Cisco, 11: HP}\naliases: {HP: [Cisco]}", "origins: {}", "already names vendor"),
        ("enterprises: [", "origins: {}", "not valid YAML"),
        ("{}", "origins: {}", "missing section 'enterprises'"),
    ],
)
def test_vendor_data_is_validated(tmp_path: Path, enterprises: str, origins: str, message: str) -> None:
    (tmp_path / "e.yaml").write_text(enterprises)
    (tmp_path / "o.yaml").write_text(origins)
    with pytest.raises(VendorDataError, match=message.replace("(", r"\(").replace("[", r"\[")) as info:
        VendorData.from_files(tmp_path / "e.yaml", tmp_path / "o.yaml")
    assert "e.yaml" in str(info.value) or "o.yaml" in str(info.value)
