"""SNMP collector: identity, interfaces, FDB, ARP, LLDP and host resources of one device.

    facts = await SnmpCollector().collect(target, credential, timeout=10)

What is asked (numeric OIDs only, no MIB files needed):

    system group        sysDescr, sysObjectID, sysUpTime, sysName, sysLocation
    ENTITY-MIB          the chassis row (class chassis(3); index 1 first, else found by a walk):
                        model, serial, software/firmware revision, manufacturer
    IF-MIB              ifDescr, ifSpeed, ifPhysAddress, ifAdminStatus, ifOperStatus,
                        ifName, ifHighSpeed, ifAlias
    BRIDGE-MIB          dot1dTpFdbPort -> dot1dBasePortIfIndex -> ifIndex
                        (Q-BRIDGE dot1qTpFdbPort when the old table is empty)
    IP-MIB              ipNetToMediaPhysAddress (ARP; the index carries ifIndex and the IP)
    LLDP-MIB            lldpRemTable (chassis/port id with their subtypes, sysName); the local
                        port number is resolved to an ifIndex by lldpLocPortId -> ifName
    HOST-RESOURCES-MIB  only when hrMemorySize answers: hrMemorySize, processors
                        (hrDeviceType = hrDeviceProcessor), fixed disks (hrStorageFixedDisk,
                        size = units * size / 1024 KB), installed software (DateAndTime dates)

Vendor, OS and country of origin come from data files (see `collectors.vendors`).

How it talks
------------
* SNMPv2c: kiemke's own small BER codec over one connected asyncio UDP socket per visit
  (`_V2cSession`). pysnmp's hlapi spends ~95 us of CPU per var-bind in pyasn1's BER decoder
  (~30 ms for a 24-port switch); the codec below decodes a var-bind in ~2 us and leaves
  values as raw bytes until a parser needs them. A connected socket also turns an ICMP port
  unreachable into an immediate `Unreachable`.
* SNMPv3 authPriv (HMAC-SHA-96 or HMAC-SHA-256-192; AES-128 or AES-256 CFB), two backends:
  - "native" (default, `_NativeV3Session`): the same codec plus USM (RFC 3414/3826/7860):
    engine discovery per visit, HMAC with `hmac`, AES-CFB with `cryptography`. Passwords are
    hashed once per credential (RFC 3414 A.2) and localised per engine ID, so one user name
    with different keys on different devices just works. ~13 ms of CPU per switch, including
    the password hashing, against ~250 ms through hlapi.
  - "pysnmp" (`SnmpCollector(v3_backend="pysnmp")`, `_PysnmpV3Session`): pysnmp's hlapi, kept
    as the reference implementation. A pysnmp engine keeps the first keys it localised for a
    user name, so engines are cached per credential (user, keys, protocols) and per event loop;
    building one costs ~75 ms of CPU (done in a worker thread). Call `await
    collector.aclose()` before the loop ends to close them.
  AES-256 keys are extended the Blumenthal way (net-snmp "AES-256", pysnmp
  usmAesBlumenthalCfb256Protocol); with SHA256 auth no extension is needed. Cisco's "Reeder"
  extension for SHA + AES-256 is not supported.
* Fewer round trips: one GET proves the device answers (small fixed-size values only, so a
  hostile 64 KB string cannot make a live device look dead), then every table is read
  concurrently by multi-column GETBULK walks. The interface walk asks ifNumber + 1
  repetitions (one round trip for a switch); walks of unknown size start small and double.
* Bounded: the first GET gets `timeout / (retries + 1) * 0.9` per attempt, so a wrong
  community or a dead device raises `CollectionTimeout` within `timeout`; later requests use
  a shorter attempt timeout learnt from the first answer and all stop at the visit's deadline.
  A part that fails (a walk that times out, a GET whose answer does not fit a datagram, ...)
  becomes a line in `DeviceFacts.warnings`; the rest is kept.

Hostile data
------------
Octet strings are decoded as UTF-8 with errors="replace"; trailing NULs (C padding) are
dropped and other NULs become U+FFFD (PostgreSQL text cannot hold NUL). Other text is kept as
sent (HTML included: escaping is the web layer's job). A value longer than SMI's 65,535 bytes
is cut there (with a warning). Walks stop at `max_rows` rows per column and once the device
has sent MAX_BYTES (32 MB) in one visit; a column whose OIDs stop increasing ends with a
warning.
Malformed datagrams are ignored (a device that only sends garbage times out).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import os
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from collectors.records import (
    ArpRecord,
    AuthenticationFailed,
    CollectionTimeout,
    CollectorError,
    DeviceFacts,
    FdbRecord,
    HostRecord,
    InterfaceRecord,
    LldpRecord,
    ProtocolError,
    SnmpCredential,
    SoftwareRecord,
    Target,
    Unreachable,
)
from collectors.vendors import VendorData, vendor_data

MAX_VALUE_BYTES = 65535  # SMI's limit for an OCTET STRING; longer values are cut here
MAX_ROWS = 20_000  # rows per column of one walk
MAX_BYTES = 32 * 1024 * 1024  # received from one device in one visit
MAX_VARBINDS_PER_REQUEST = 512  # repetitions x columns of one GETBULK
MIN_ATTEMPT = 1.0  # seconds: shortest attempt timeout after the device has answered


class ConfigError(CollectorError):
    kind = "config"


# ============================================================================ BER codec
# Values travel as (tag, content bytes); OIDs as their BER content bytes, so an OID is in a
# column's subtree iff its bytes start with the column's bytes (every encoded sub-identifier
# ends with a byte < 0x80, so a byte prefix is an arc prefix).

INTEGER, OCTETS, NULL, OID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
IPADDRESS, COUNTER32, GAUGE32, TIMETICKS, OPAQUE, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
GET, GETNEXT, RESPONSE, GETBULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA5, 0xA8
_UNSIGNED = frozenset((COUNTER32, GAUGE32, TIMETICKS, COUNTER64))
_EXCEPTIONS = frozenset((NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW))

Var = tuple[bytes, int, bytes]  # (OID content, tag, value content)


class BerError(ValueError):
    pass


def encode_oid(dotted: str | Iterable[int]) -> bytes:
    """BER content of an OID: '1.3.6.1' -> b'+\\x06\\x01'."""
    arcs = [int(x) for x in dotted.strip(".").split(".")] if isinstance(dotted, str) else list(dotted)
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or min(arcs) < 0:
        raise ValueError(f"bad OID {dotted!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def _subids(content: bytes) -> tuple[int, ...]:
    if content and max(content) < 0x80:
        return tuple(content)
    out = []
    value = 0
    for b in content:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            out.append(value)
            value = 0
    if content and content[-1] & 0x80:
        raise BerError("truncated OID")
    return tuple(out)


def decode_oid(content: bytes) -> str:
    """Dotted text of an OID's BER content."""
    ids = _subids(content)
    if not ids:
        return ""
    first = ids[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return ".".join(map(str, (*head, *ids[1:])))


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _int(value: int) -> bytes:
    return _tlv(INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def encode_request(pdu: int, community: bytes, request_id: int, a: int, b: int, oids: Sequence[bytes]) -> bytes:
    """An SNMPv2c message: GET (a = b = 0) or GETBULK (a = non-repeaters, b = max-repetitions)."""
    return _tlv(SEQUENCE, b"\x02\x01\x01" + _tlv(OCTETS, community) + encode_pdu(pdu, request_id, a, b, oids))


def _header(data: bytes, p: int, tag: int | None) -> tuple[int, int, int]:
    """(tag, content length, content start) of the TLV at p; checks the tag if given."""
    t = data[p]
    if tag is not None and t != tag:
        raise BerError(f"expected tag 0x{tag:02x}, got 0x{t:02x}")
    n = data[p + 1]
    p += 2
    if n & 0x80:
        k = n & 0x7F
        if not 0 < k <= 4:
            raise BerError("bad length")
        n = int.from_bytes(data[p : p + k], "big")
        p += k
    if p + n > len(data):
        raise BerError("value runs past the end of the message")
    return t, n, p


def decode_message(data: bytes) -> tuple[bytes, int, int, int, int, list[Var]]:
    """(community, pdu tag, request-id, error-status, error-index, var-binds) of a v2c message."""
    try:
        _, n, p = _header(data, 0, SEQUENCE)
        _, n, p = _header(data, p, INTEGER)
        if data[p : p + n] != b"\x01":
            raise BerError("not SNMPv2c")
        p += n
        _, n, p = _header(data, p, OCTETS)
        community = data[p : p + n]
        return (community, *decode_pdu(data, p + n))
    except IndexError:
        raise BerError("truncated message") from None


def decode_pdu(data: bytes, p: int) -> tuple[int, int, int, int, list[Var]]:
    """(pdu tag, request-id, error-status, error-index, var-binds) of the PDU at data[p]."""
    try:
        pdu, n, p = _header(data, p, None)
        end = p + n
        values = []
        for _ in range(3):
            _, n, p = _header(data, p, INTEGER)
            values.append(int.from_bytes(data[p : p + n], "big", signed=True))
            p += n
        _, n, p = _header(data, p, SEQUENCE)
        stop = p + n
        if stop > end:
            raise BerError("var-bind list runs past the PDU")
        varbinds: list[Var] = []
        append = varbinds.append
        while p < stop:
            # var-bind SEQUENCE { name OID, value }, lengths inline for speed
            if data[p] != SEQUENCE:
                raise BerError("var-bind is not a SEQUENCE")
            n = data[p + 1]
            p += 2
            if n & 0x80:
                k = n & 0x7F
                n = int.from_bytes(data[p : p + k], "big")
                p += k
            vb_end = p + n
            if data[p] != OID:
                raise BerError("var-bind name is not an OID")
            n = data[p + 1]
            p += 2
            if n & 0x80:
                k = n & 0x7F
                n = int.from_bytes(data[p : p + k], "big")
                p += k
            oid = data[p : p + n]
            p += n
            tag = data[p]
            n = data[p + 1]
            p += 2
            if n & 0x80:
                k = n & 0x7F
                if not 0 < k <= 4:
                    raise BerError("bad length")
                n = int.from_bytes(data[p : p + k], "big")
                p += k
            value = data[p : p + n]
            p += n
            if p != vb_end or p > stop:
                raise BerError("var-bind length mismatch")
            append((oid, tag, value))
        return pdu, values[0], values[1], values[2], varbinds
    except IndexError:
        raise BerError("truncated PDU") from None


def encode_pdu(pdu: int, request_id: int, a: int, b: int, oids: Sequence[bytes]) -> bytes:
    vbs = b"".join(_tlv(SEQUENCE, _tlv(OID, o) + b"\x05\x00") for o in oids)
    return _tlv(pdu, _int(request_id) + _int(a) + _int(b) + _tlv(SEQUENCE, vbs))


# ---------------------------------------------------------------------------- SNMPv3 / USM
# RFC 3412 message, RFC 3414 USM (HMAC-SHA-96), RFC 7860 (HMAC-SHA-256-192), RFC 3826 AES-128
# CFB; AES-256 keys are extended the Blumenthal way (draft-blumenthal-aes-usm-04, what net-snmp's
# "AES-256" and pysnmp's usmAesBlumenthalCfb256Protocol do; Cisco's "Reeder" variant differs
# only when the auth hash is shorter than 32 bytes, i.e. for SHA + AES256).
MAX_MESSAGE_SIZE = 65507
FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 0x01, 0x02, 0x04
AUTH = {"SHA": ("sha1", 12), "SHA256": ("sha256", 24)}  # hash, length of the truncated HMAC
PRIV_KEY_BYTES = {"AES": 16, "AES256": 32}
USM_STATS = "1.3.6.1.6.3.15.1.1."
USM_REPORTS = {
    f"{USM_STATS}1.0": "unsupportedSecurityLevel",
    f"{USM_STATS}2.0": "notInTimeWindow",
    f"{USM_STATS}3.0": "unknownUserName",
    f"{USM_STATS}4.0": "unknownEngineID",
    f"{USM_STATS}5.0": "wrongDigest",
    f"{USM_STATS}6.0": "decryptionError",
}


def password_to_key(password: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2: the digest of 1 MB of the repeated password (not yet localised)."""
    if not password:
        raise ValueError("empty password")
    buf = (password * (1048576 // len(password) + 1))[:1048576]
    return hashlib.new(hash_name, buf).digest()


def localize_key(key: bytes, engine_id: bytes, hash_name: str) -> bytes:
    return hashlib.new(hash_name, key + engine_id + key).digest()


def priv_key_for(priv_ku: bytes, engine_id: bytes, hash_name: str, size: int) -> bytes:
    key = localize_key(priv_ku, engine_id, hash_name)
    while len(key) < size:  # Blumenthal key extension
        key += hashlib.new(hash_name, key).digest()
    return key[:size]


def encode_v3(
    msg_id: int, flags: int, engine_id: bytes, boots: int, engine_time: int, user: bytes,
    auth_len: int, salt: bytes, msg_data: bytes,
) -> tuple[bytes, int]:  # fmt: skip
    """An SNMPv3 message with a zeroed authentication field, and that field's offset."""
    before = _tlv(OCTETS, engine_id) + _int(boots) + _int(engine_time) + _tlv(OCTETS, user)
    auth = _tlv(OCTETS, b"\x00" * auth_len)
    usm_body = before + auth + _tlv(OCTETS, salt)
    usm = _tlv(SEQUENCE, usm_body)
    sec = _tlv(OCTETS, usm)
    header = _tlv(SEQUENCE, _int(msg_id) + _int(MAX_MESSAGE_SIZE) + _tlv(OCTETS, bytes((flags,))) + _int(3))
    body = b"\x02\x01\x03" + header + sec + msg_data
    head = bytes((SEQUENCE,)) + _length(len(body))
    offset = (
        len(head) + 3 + len(header) + (len(sec) - len(usm)) + (len(usm) - len(usm_body))
        + len(before) + (len(auth) - auth_len)
    )  # fmt: skip
    return head + body, offset


@dataclass
class V3Message:
    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    engine_time: int
    user: bytes
    auth_offset: int
    auth_params: bytes
    priv_params: bytes
    data_offset: int  # where msgData starts (an OCTET STRING if encrypted, else the ScopedPDU)


def decode_v3(data: bytes) -> V3Message:
    try:
        _, n, p = _header(data, 0, SEQUENCE)
        _, n, p = _header(data, p, INTEGER)
        if data[p : p + n] != b"\x03":
            raise BerError("not SNMPv3")
        p += n
        _, n, p = _header(data, p, SEQUENCE)  # HeaderData
        _, n, p = _header(data, p, INTEGER)
        msg_id = int.from_bytes(data[p : p + n], "big", signed=True)
        p += n
        _, n, p = _header(data, p, INTEGER)
        p += n
        _, n, p = _header(data, p, OCTETS)
        flags = data[p] if n else 0
        p += n
        _, n, p = _header(data, p, INTEGER)
        if data[p : p + n] != b"\x03":
            raise BerError("not the user-based security model")
        p += n
        _, n, p = _header(data, p, OCTETS)  # msgSecurityParameters
        _, n, p = _header(data, p, SEQUENCE)
        fields = []
        offsets = []
        for tag in (OCTETS, INTEGER, INTEGER, OCTETS, OCTETS, OCTETS):
            _, n, p = _header(data, p, tag)
            offsets.append(p)
            fields.append(data[p : p + n])
            p += n
        engine_id, boots, engine_time, user, auth_params, priv_params = fields
        return V3Message(
            msg_id, flags, engine_id, int.from_bytes(boots, "big"), int.from_bytes(engine_time, "big"),
            user, offsets[4], auth_params, priv_params, p,
        )  # fmt: skip
    except IndexError:
        raise BerError("truncated message") from None


def decode_scoped_pdu(data: bytes, p: int = 0) -> tuple[int, int, int, int, list[Var]]:
    try:
        _, n, p = _header(data, p, SEQUENCE)
        for _ in range(2):  # contextEngineID, contextName
            _, n, p = _header(data, p, OCTETS)
            p += n
        return decode_pdu(data, p)
    except IndexError:
        raise BerError("truncated scoped PDU") from None


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


SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, SYS_LOCATION = (
    _o(f"1.3.6.1.2.1.1.{n}.0") for n in (1, 2, 3, 5, 6)
)
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


# ============================================================================ sessions
class _NoAnswer(Exception):
    pass


class _TooBig(Exception):
    pass


class _AuthError(Exception):
    pass


class _PortUnreachable(Exception):
    pass


class _OverBudget(Exception):
    pass


class _Failed(Exception):
    """The device answered with an error (error-status, a report, a malformed message)."""


@dataclass
class _Timing:
    deadline: float  # loop.time() by which the visit ends
    attempt: float  # seconds per attempt
    retries: int


class _Session:
    """One visit's way to a device: GET and GETBULK returning raw var-binds."""

    host: str
    port: int
    received: int = 0

    async def get(self, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        raise NotImplementedError

    async def bulk(self, oids: Sequence[bytes], repetitions: int, timing: _Timing) -> list[Var]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _UdpProtocol(asyncio.DatagramProtocol):
    """Hands each datagram to `accept` (which returns (id, result) or None for garbage) and
    completes the future waiting for that id."""

    def __init__(self, accept: Any) -> None:
        self.accept = accept
        self.waiting: dict[int, asyncio.Future] = {}

    def datagram_received(self, data: bytes, addr: Any) -> None:  # noqa: ARG002
        try:
            accepted = self.accept(data)
        except (BerError, ValueError):
            return  # garbage: ignore, the request times out if nothing better comes
        if accepted is None:
            return
        future = self.waiting.get(accepted[0])
        if future is not None and not future.done():
            future.set_result((len(data), accepted[1]))

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):  # ICMP port/host unreachable on the connected socket
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(_PortUnreachable(str(exc)))


_request_ids = itertools.count(int.from_bytes(os.urandom(3), "big") + 1)


class _UdpSession(_Session):
    """A connected UDP socket, request ids, retries within the visit's deadline."""

    def __init__(self, host: str, port: int, parallel: int) -> None:
        self.host, self.port = host, port
        self.protocol = _UdpProtocol(self.accept)
        self.transport: asyncio.DatagramTransport | None = None
        self.limit = asyncio.Semaphore(parallel)
        self.received = 0

    def accept(self, data: bytes) -> tuple[int, Any] | None:
        raise NotImplementedError

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.transport, _ = await loop.create_datagram_endpoint(
                lambda: self.protocol, remote_addr=(self.host, self.port)
            )
        except OSError as exc:
            raise Unreachable(f"cannot send SNMP to {self.host}:{self.port}: {exc.strerror or exc}") from None

    async def exchange(self, request_id: int, message: bytes, timing: _Timing) -> Any:
        """Send `message` (again after each attempt timeout) until its answer comes."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.protocol.waiting[request_id] = future
        try:
            async with self.limit:
                for _attempt in range(timing.retries + 1):
                    left = timing.deadline - loop.time()
                    if left <= 0:
                        break
                    assert self.transport is not None
                    self.transport.sendto(message)
                    try:
                        size, result = await asyncio.wait_for(asyncio.shield(future), min(timing.attempt, left))
                    except TimeoutError:
                        continue
                    self.received += size
                    if self.received > MAX_BYTES:
                        raise _OverBudget()
                    return result
                raise _NoAnswer()
        finally:
            self.protocol.waiting.pop(request_id, None)
            if not future.done():
                future.cancel()

    @staticmethod
    def check(status: int) -> None:
        if status == 1:
            raise _TooBig()
        if status:
            raise _Failed(f"error-status {_STATUS.get(status, status)}")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _V2cSession(_UdpSession):
    def __init__(self, host: str, port: int, community: bytes, parallel: int) -> None:
        super().__init__(host, port, parallel)
        self.community = community

    def accept(self, data: bytes) -> tuple[int, Any] | None:
        community, pdu, request_id, status, _index, varbinds = decode_message(data)
        if pdu != RESPONSE or community != self.community:
            return None
        return request_id, (status, varbinds)

    async def _request(self, pdu: int, a: int, b: int, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        request_id = next(_request_ids) & 0x7FFFFFFF
        status, varbinds = await self.exchange(
            request_id, encode_request(pdu, self.community, request_id, a, b, oids), timing
        )
        self.check(status)
        return varbinds

    async def get(self, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        return await self._request(GET, 0, 0, oids, timing)

    async def bulk(self, oids: Sequence[bytes], repetitions: int, timing: _Timing) -> list[Var]:
        return await self._request(GETBULK, 0, repetitions, oids, timing)


def _aes_cfb(key: bytes, iv: bytes) -> Any:
    """AES in CFB-128 mode (RFC 3826), from `cryptography` (a kiemke dependency)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    try:  # cryptography >= 44 keeps CFB among its "decrepit" modes
        from cryptography.hazmat.decrepit.ciphers.modes import CFB
    except ImportError:  # pragma: no cover - older cryptography
        from cryptography.hazmat.primitives.ciphers.modes import CFB
    return Cipher(algorithms.AES(key), CFB(iv))


@dataclass
class _UsmUser:
    """A v3 credential's keys: passwords hashed once (RFC 3414 A.2), localised per engine ID."""

    name: bytes
    hash_name: str
    auth_len: int
    priv_size: int
    auth_ku: bytes
    priv_ku: bytes

    def __post_init__(self) -> None:
        self.localized: dict[bytes, tuple[bytes, bytes]] = {}

    def keys(self, engine_id: bytes) -> tuple[bytes, bytes]:
        keys = self.localized.get(engine_id)
        if keys is None:
            if len(self.localized) > 4096:
                self.localized.clear()
            keys = (
                localize_key(self.auth_ku, engine_id, self.hash_name),
                priv_key_for(self.priv_ku, engine_id, self.hash_name, self.priv_size),
            )
            self.localized[engine_id] = keys
        return keys


_salts = itertools.count(int.from_bytes(os.urandom(7), "big"))


class _NativeV3Session(_UdpSession):
    """SNMPv3 authPriv with kiemke's codec: engine discovery, HMAC-SHA(-256), AES-CFB."""

    def __init__(self, host: str, port: int, user: _UsmUser, parallel: int) -> None:
        super().__init__(host, port, parallel)
        self.user = user
        self.engine_id = b""
        self.boots = 0
        self.engine_time = 0
        self.synced_at = 0.0
        self.discovery: asyncio.Future | None = None

    # ------------------------------------------------------------------ crypto
    def _cipher(self, key: bytes, boots: int, engine_time: int, salt: bytes) -> Any:
        iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
        return _aes_cfb(key, iv)

    def _mac(self, key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, self.user.hash_name).digest()[: self.user.auth_len]

    def accept(self, data: bytes) -> tuple[int, Any] | None:
        m = decode_v3(data)
        if m.flags & FLAG_AUTH:
            if m.engine_id != self.engine_id or len(m.auth_params) != self.user.auth_len:
                return None
            auth_key, priv_key = self.user.keys(m.engine_id)
            zeroed = data[: m.auth_offset] + b"\x00" * self.user.auth_len + data[m.auth_offset + self.user.auth_len :]
            if not hmac.compare_digest(self._mac(auth_key, zeroed), m.auth_params):
                return None  # forged or damaged: drop it
        if m.flags & FLAG_PRIV:
            if not m.flags & FLAG_AUTH or len(m.priv_params) != 8:
                return None
            _, n, p = _header(data, m.data_offset, OCTETS)
            decryptor = self._cipher(priv_key, m.boots, m.engine_time, m.priv_params).decryptor()
            scoped = decryptor.update(data[p : p + n]) + decryptor.finalize()
            pdu, request_id, status, _index, varbinds = decode_scoped_pdu(scoped)
        else:
            pdu, request_id, status, _index, varbinds = decode_scoped_pdu(data, m.data_offset)
        if pdu == REPORT:
            # unauthenticated reports are how USM says "wrong key/user"; they cannot forge data
            report = decode_oid(varbinds[0][0]) if varbinds else ""
            return m.msg_id, ("report", USM_REPORTS.get(report, report), m)
        if pdu != RESPONSE or not m.flags & FLAG_AUTH:
            return None
        return m.msg_id, ("response", status, varbinds)

    # ------------------------------------------------------------------ protocol
    async def _discover(self, timing: _Timing) -> None:
        """Learn the agent's engine ID, boots and time (RFC 3414 4)."""
        msg_id = next(_request_ids) & 0x7FFFFFFF
        scoped = _tlv(SEQUENCE, _tlv(OCTETS, b"") + _tlv(OCTETS, b"") + encode_pdu(GET, msg_id, 0, 0, []))
        message, _ = encode_v3(msg_id, FLAG_REPORTABLE, b"", 0, 0, b"", 0, b"", scoped)
        result = await self.exchange(msg_id, message, timing)
        if result[0] != "report" or not result[2].engine_id:
            raise _Failed("SNMPv3 engine discovery got no engine ID")
        self._sync(result[2])

    def _sync(self, m: V3Message) -> None:
        self.engine_id, self.boots, self.engine_time = m.engine_id, m.boots, m.engine_time
        self.synced_at = asyncio.get_running_loop().time()

    async def _request(self, pdu: int, a: int, b: int, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        if self.discovery is None:
            self.discovery = asyncio.ensure_future(self._discover(timing))
        try:
            await asyncio.shield(self.discovery)
        except BaseException:
            self.discovery = None  # let the next request try again
            raise
        for _again in range(2):
            msg_id = next(_request_ids) & 0x7FFFFFFF
            auth_key, priv_key = self.user.keys(self.engine_id)
            engine_time = self.engine_time + int(asyncio.get_running_loop().time() - self.synced_at)
            salt = (next(_salts) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
            scoped = _tlv(SEQUENCE, _tlv(OCTETS, self.engine_id) + _tlv(OCTETS, b"") + encode_pdu(pdu, msg_id, a, b, oids))
            encryptor = self._cipher(priv_key, self.boots, engine_time, salt).encryptor()
            encrypted = encryptor.update(scoped) + encryptor.finalize()
            message, offset = encode_v3(
                msg_id, FLAG_AUTH | FLAG_PRIV | FLAG_REPORTABLE, self.engine_id, self.boots, engine_time,
                self.user.name, self.user.auth_len, salt, _tlv(OCTETS, encrypted),
            )  # fmt: skip
            message = message[:offset] + self._mac(auth_key, message) + message[offset + self.user.auth_len :]
            result = await self.exchange(msg_id, message, timing)
            if result[0] == "response":
                self.check(result[1])
                return result[2]
            report, m = result[1], result[2]
            if report == "notInTimeWindow" and m.flags & FLAG_AUTH:
                self._sync(m)  # the agent's clock, authenticated: try once more
                continue
            if report == "unknownEngineID":
                self._sync(m)
                continue
            if report in ("unknownUserName", "wrongDigest", "decryptionError", "unsupportedSecurityLevel"):
                raise _AuthError(report)
            raise _Failed(f"report {report}")
        raise _Failed("SNMPv3 time synchronisation failed")

    async def get(self, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        return await self._request(GET, 0, 0, oids, timing)

    async def bulk(self, oids: Sequence[bytes], repetitions: int, timing: _Timing) -> list[Var]:
        return await self._request(GETBULK, 0, repetitions, oids, timing)


_STATUS = {
    1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr", 6: "noAccess",
    7: "wrongType", 8: "wrongLength", 9: "wrongEncoding", 10: "wrongValue", 11: "noCreation",
    12: "inconsistentValue", 13: "resourceUnavailable", 14: "commitFailed", 15: "undoFailed",
    16: "authorizationError", 17: "notWritable", 18: "inconsistentName",
}  # fmt: skip


class _PysnmpV3Session(_Session):
    """SNMPv3 authPriv through pysnmp's hlapi on a cached per-credential engine."""

    def __init__(self, engine: Any, auth: Any, host: str, port: int) -> None:
        self.engine, self.auth = engine, auth
        self.host, self.port = host, port
        self.targets: dict[tuple[float, int], Any] = {}
        self.received = 0

    async def _target(self, timing: _Timing, left: float) -> Any:
        from pysnmp.hlapi.v3arch.asyncio import UdpTransportTarget

        attempt = round(max(0.05, min(timing.attempt, left)), 2)
        key = (attempt, timing.retries)
        if key not in self.targets:
            self.targets[key] = await UdpTransportTarget.create(
                (self.host, self.port), timeout=attempt, retries=timing.retries
            )
        return self.targets[key]

    async def _call(self, timing: _Timing, run: Any) -> list[Var]:
        from pysnmp.proto import errind

        loop = asyncio.get_running_loop()
        left = timing.deadline - loop.time()
        if left <= 0:
            raise _NoAnswer()
        target = await self._target(timing, left)
        try:
            err, status, _index, varbinds = await asyncio.wait_for(run(target), left)
        except TimeoutError:
            raise _NoAnswer() from None
        if err:
            if isinstance(err, errind.RequestTimedOut):
                raise _NoAnswer()
            if isinstance(err, _AUTH_ERRORS):
                raise _AuthError(type(err).__name__)
            raise _Failed(str(err))
        if status:
            if int(status) == 1:
                raise _TooBig()
            raise _Failed(f"error-status {_STATUS.get(int(status), int(status))}")
        out = [_from_pyasn1(name, value) for name, value in varbinds]
        self.received += sum(len(v[2]) + len(v[0]) + 4 for v in out)
        if self.received > MAX_BYTES:
            raise _OverBudget()
        return out

    async def get(self, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        from pysnmp.hlapi.v3arch.asyncio import ContextData, get_cmd

        binds = _object_types(oids)
        return await self._call(
            timing, lambda target: get_cmd(self.engine, self.auth, target, ContextData(), *binds, lookupMib=False)
        )

    async def bulk(self, oids: Sequence[bytes], repetitions: int, timing: _Timing) -> list[Var]:
        from pysnmp.hlapi.v3arch.asyncio import ContextData, bulk_cmd

        binds = _object_types(oids)
        return await self._call(
            timing,
            lambda target: bulk_cmd(
                self.engine, self.auth, target, ContextData(), 0, repetitions, *binds, lookupMib=False
            ),
        )


def _object_types(oids: Sequence[bytes]) -> list[Any]:
    from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType

    return [ObjectType(ObjectIdentity(decode_oid(o))) for o in oids]


def _from_pyasn1(name: Any, value: Any) -> Var:
    tag = value.tagSet[-1]
    code = tag.tagClass | tag.tagFormat | tag.tagId
    if code in (INTEGER, *_UNSIGNED):
        n = int(value)
        raw = n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True)
    elif code == OID:
        raw = encode_oid(tuple(value))
    elif code in _EXCEPTIONS or code == NULL:
        raw = b""
    else:
        raw = bytes(value.asOctets())
    return encode_oid(tuple(name)), code, raw


def _auth_error_types() -> tuple[type, ...]:
    from pysnmp.proto import errind

    return (
        errind.WrongDigest, errind.DecryptionError, errind.AuthenticationError,
        errind.AuthenticationFailure, errind.UnknownUserName, errind.UnknownSecurityName,
        errind.UnsupportedSecurityLevel, errind.NoAuthentication, errind.NoEncryption,
        errind.UnsupportedAuthProtocol, errind.UnsupportedPrivProtocol,
    )  # fmt: skip


_AUTH_ERRORS: tuple[type, ...] = ()


# ============================================================================ the collector
class SnmpCollector:
    """Collect one device over SNMPv2c or SNMPv3 (see the module docstring)."""

    name = "snmp"

    def __init__(
        self,
        *,
        retries: int = 1,
        parallel_requests: int = 4,
        max_rows: int = MAX_ROWS,
        vendors: VendorData | None = None,
        v3_backend: Literal["native", "pysnmp"] = "native",
        engine_cache_size: int = 64,
    ) -> None:
        if v3_backend not in ("native", "pysnmp"):
            raise ValueError(f"v3_backend must be 'native' or 'pysnmp', not {v3_backend!r}")
        self.v3_backend = v3_backend
        self._users: dict[bytes, _UsmUser] = {}  # credential fingerprint -> hashed keys
        self.retries = retries
        self.parallel_requests = parallel_requests
        self.max_rows = max_rows
        self._vendors = vendors
        self.engine_cache_size = engine_cache_size
        # event loop -> {credential fingerprint: future of a pysnmp SnmpEngine}
        self._engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[bytes, asyncio.Future]] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def vendors(self) -> VendorData:
        if self._vendors is None:
            self._vendors = vendor_data()
        return self._vendors

    # ------------------------------------------------------------------ public
    async def collect(self, target: Target, credential: SnmpCredential, timeout: float) -> DeviceFacts:  # type: ignore[override]
        if not isinstance(credential, SnmpCredential):
            raise ConfigError(f"the SNMP collector needs an SNMP credential, got {type(credential).__name__}")
        if timeout <= 0:
            raise ConfigError("timeout must be positive")
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + timeout - min(0.1, timeout * 0.02)  # leave time to build the facts
        where = f"{target.address}:{credential.port}"
        session = await self._open(target, credential)
        secrets = _secrets(credential)
        try:
            probe_timing = _Timing(deadline, timeout / (self.retries + 1) * 0.9, self.retries)
            try:
                t0 = loop.time()
                probe = await session.get(PROBE_OIDS, probe_timing)
                rtt = loop.time() - t0
            except _NoAnswer:
                hint = "wrong community, or device down" if credential.version == "v2c" else "device down, or SNMP blocked"
                raise CollectionTimeout(f"no SNMP answer from {where} within {timeout:g} s ({hint})") from None
            except _PortUnreachable:
                raise Unreachable(f"nothing listens for SNMP at {where} (port unreachable)") from None
            except _AuthError as exc:
                raise AuthenticationFailed(
                    f"SNMPv3 authentication failed for user {credential.user!r} at {where} "
                    f"(wrong key or protocol: {exc})"
                ) from None
            except (_TooBig, _Failed, _OverBudget) as exc:
                raise ProtocolError(_redact(f"SNMP error from {where}: {type(exc).__name__.strip('_')} {exc}", secrets)) from None
            if len(probe) != len(PROBE_OIDS):
                raise ProtocolError(f"SNMP error from {where}: {len(probe)} values for {len(PROBE_OIDS)} asked")
            attempt = min(probe_timing.attempt, max(MIN_ATTEMPT, 10 * rtt))
            timing = _Timing(deadline, attempt, self.retries)
            return await _Visit(self, session, target, timing, probe).run()
        except CollectorError:
            raise
        except Exception as exc:  # noqa: BLE001 - a library surprise must not escape with secrets
            raise ProtocolError(_redact(f"SNMP collection from {where} failed: {type(exc).__name__}: {exc}", secrets)) from None
        finally:
            session.close()

    async def aclose(self) -> None:
        """Close the SNMPv3 engines cached for the running event loop."""
        loop = asyncio.get_running_loop()
        for entry in self._engines.pop(loop, {}).values():
            try:
                _close_engine(await entry)
            except Exception:  # noqa: BLE001, S112 - an engine that failed to build has nothing to close
                continue

    # ------------------------------------------------------------------ sessions
    async def _open(self, target: Target, credential: SnmpCredential) -> _Session:
        if credential.version == "v2c":
            if credential.community is None or not credential.community.get_secret_value():
                raise ConfigError(f"SNMP credential {credential.name!r} has no community")
            session = _V2cSession(
                target.address, credential.port, credential.community.get_secret_value().encode(), self.parallel_requests
            )
            await session.open()
            return session
        if credential.version == "v3":
            if self.v3_backend == "pysnmp":
                engine, auth = await self._v3_engine(credential)
                return _PysnmpV3Session(engine, auth, target.address, credential.port)
            v3 = _V3Params.of(credential)
            user = self._users.get(v3.fingerprint)
            if user is None:
                if len(self._users) >= 1024:
                    self._users.clear()
                hash_name, auth_len = AUTH[credential.auth_protocol]
                user = _UsmUser(
                    v3.user.encode(), hash_name, auth_len, PRIV_KEY_BYTES[credential.priv_protocol],
                    password_to_key(v3.auth_key.encode(), hash_name), password_to_key(v3.priv_key.encode(), hash_name),
                )  # fmt: skip
                self._users[v3.fingerprint] = user
            session = _NativeV3Session(target.address, credential.port, user, self.parallel_requests)
            await session.open()
            return session
        raise ConfigError(f"SNMP version {credential.version!r} is not supported (v2c or v3)")

    async def _v3_engine(self, credential: SnmpCredential) -> tuple[Any, Any]:
        global _AUTH_ERRORS
        from pysnmp.hlapi.v3arch.asyncio import (
            SnmpEngine,
            UsmUserData,
            usmAesBlumenthalCfb256Protocol,
            usmAesCfb128Protocol,
            usmHMACSHAAuthProtocol,
            usmHMAC192SHA256AuthProtocol,
        )

        if not _AUTH_ERRORS:
            _AUTH_ERRORS = _auth_error_types()
        v3 = _V3Params.of(credential)
        auth_proto = {"SHA": usmHMACSHAAuthProtocol, "SHA256": usmHMAC192SHA256AuthProtocol}[credential.auth_protocol]
        priv_proto = {"AES": usmAesCfb128Protocol, "AES256": usmAesBlumenthalCfb256Protocol}[credential.priv_protocol]
        user, auth_key, priv_key, fingerprint = v3.user, v3.auth_key, v3.priv_key, v3.fingerprint
        loop = asyncio.get_running_loop()
        engines = self._engines.setdefault(loop, {})
        entry = engines.pop(fingerprint, None)
        if entry is None:
            # ~75 ms of CPU: built in a worker thread so the event loop keeps its timers
            entry = asyncio.ensure_future(asyncio.to_thread(_make_engine, SnmpEngine))
            while len(engines) >= self.engine_cache_size:
                engines.pop(next(iter(engines))).add_done_callback(_close_engine_later)
        engines[fingerprint] = entry  # most recently used last
        engine = await asyncio.shield(entry)
        auth = UsmUserData(user, auth_key, priv_key, authProtocol=auth_proto, privProtocol=priv_proto)
        return engine, auth


@dataclass(frozen=True)
class _V3Params:
    user: str
    auth_key: str
    priv_key: str
    fingerprint: bytes  # identifies the credential's secrets without holding them in a key

    @classmethod
    def of(cls, credential: SnmpCredential) -> _V3Params:
        user = credential.user or ""
        auth_key = credential.auth_key.get_secret_value() if credential.auth_key else ""
        priv_key = credential.priv_key.get_secret_value() if credential.priv_key else ""
        if not user or len(auth_key) < 8 or len(priv_key) < 8:
            raise ConfigError(
                f"SNMP credential {credential.name!r}: SNMPv3 authPriv needs a user and auth/priv keys "
                "of at least 8 characters"
            )
        if credential.auth_protocol not in AUTH or credential.priv_protocol not in PRIV_KEY_BYTES:
            raise ConfigError(
                f"SNMP credential {credential.name!r}: unsupported protocols "
                f"{credential.auth_protocol}/{credential.priv_protocol} (SHA or SHA256, AES or AES256)"
            )
        fingerprint = hashlib.sha256(
            "\0".join((user, auth_key, priv_key, credential.auth_protocol, credential.priv_protocol)).encode()
        ).digest()
        return cls(user, auth_key, priv_key, fingerprint)


_ENGINE_LOCK = threading.Lock()


def _make_engine(factory: Any) -> Any:
    with _ENGINE_LOCK:  # pysnmp's MIB loading is not known to be thread-safe
        return factory()


def _close_engine_later(entry: asyncio.Future) -> None:
    if not entry.cancelled() and entry.exception() is None:
        _close_engine(entry.result())


def _close_engine(engine: Any) -> None:
    try:
        engine.close_dispatcher()
    except Exception:  # noqa: BLE001, S110 - closing is best effort
        pass


def _secrets(credential: SnmpCredential) -> list[str]:
    return [s.get_secret_value() for s in (credential.community, credential.auth_key, credential.priv_key) if s]


def _redact(message: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


# ============================================================================ one visit
class _Visit:
    """Everything after the first answer: concurrent reads, each failing on its own."""

    def __init__(self, collector: SnmpCollector, session: _Session, target: Target, timing: _Timing, probe: list[Var]):
        self.c = collector
        self.session = session
        self.target = target
        self.timing = timing
        self.probe = dict(zip(PROBE_OIDS, probe, strict=True))
        self.warnings: list[str] = []

    # ------------------------------------------------------------------ primitives
    def _warn(self, what: str, exc: BaseException) -> None:
        reason = {
            _NoAnswer: "no answer in time (a value too large for one datagram, or the device is busy)",
            _TooBig: "answer too big",
            _OverBudget: f"stopped after {MAX_BYTES // 1024 // 1024} MB from this device",
            _AuthError: "authentication failed",
            _PortUnreachable: "port unreachable",
        }.get(type(exc)) or f"{type(exc).__name__.strip('_')}: {exc}"
        self.warnings.append(f"{what}: {reason}")

    async def get(self, oids: Sequence[bytes], what: str) -> dict[bytes, Var]:
        """GET with a fallback: when the whole answer does not come, ask each OID alone."""
        try:
            varbinds = await self.session.get(oids, self.timing)
        except (_NoAnswer, _TooBig) as exc:
            if len(oids) == 1:
                self._warn(f"{what} {decode_oid(oids[0])}", exc)
                return {}
            parts = await asyncio.gather(*(self.get([o], what) for o in oids))
            return {k: v for part in parts for k, v in part.items()}
        except (_Failed, _OverBudget, _AuthError, _PortUnreachable, BerError) as exc:
            self._warn(what, exc)
            return {}
        return {oid: var for oid, var in zip(oids, varbinds, strict=False) if var[0] == oid and present(var)}

    async def walk(self, columns: Sequence[bytes], repetitions: int, what: str) -> list[Row]:
        """Walk several columns at once with GETBULK; returns {index: var} per column.

        Stops a column at the end of its subtree, endOfMibView, non-increasing OIDs or
        `max_rows`; on an error the rows read so far are kept and a warning is added.
        """
        rows: list[Row] = [{} for _ in columns]
        last = list(columns)
        last_index: list[tuple[int, ...] | None] = [None] * len(columns)
        active = list(range(len(columns)))
        max_rows = self.c.max_rows
        try:
            while active:
                n = len(active)
                reps = max(1, min(repetitions, MAX_VARBINDS_PER_REQUEST // n))
                try:
                    varbinds = await self.session.bulk([last[i] for i in active], reps, self.timing)
                except _TooBig:
                    if repetitions <= 1:
                        raise
                    repetitions = max(1, reps // 4)
                    continue
                ended: set[int] = set()
                progressed = False
                for k, (oid, tag, value) in enumerate(varbinds):
                    ci = active[k % n]
                    if ci in ended:
                        continue
                    col = columns[ci]
                    cut = len(col)
                    if tag == END_OF_MIB_VIEW or len(oid) <= cut or not oid.startswith(col):
                        ended.add(ci)
                        continue
                    suffix = oid[cut:]
                    index = tuple(suffix) if max(suffix) < 0x80 else _subids(suffix)
                    before = last_index[ci]
                    if before is not None and index <= before:
                        ended.add(ci)
                        self.warnings.append(f"{what}: OIDs not increasing under {decode_oid(col)}; stopped there")
                        continue
                    rows[ci][index] = (oid, tag, value)
                    last[ci], last_index[ci] = oid, index
                    progressed = True
                    if len(rows[ci]) >= max_rows:
                        ended.add(ci)
                        self.warnings.append(f"{what}: stopped at {max_rows} rows under {decode_oid(col)}")
                if not varbinds:
                    break
                active = [ci for ci in active if ci not in ended]
                if not progressed and not ended:
                    self.warnings.append(f"{what}: the device stopped making progress; walk ended")
                    break
                repetitions = min(repetitions * 2, MAX_VARBINDS_PER_REQUEST)
        except (_NoAnswer, _TooBig, _Failed, _OverBudget, _AuthError, _PortUnreachable, BerError) as exc:
            self._warn(what, exc)
        return rows

    # ------------------------------------------------------------------ parts
    async def run(self) -> DeviceFacts:
        probe = self.probe
        if_number = as_int(probe.get(IF_NUMBER))
        base_ports = as_int(probe.get(DOT1D_BASE_NUM_PORTS)) if present(probe.get(DOT1D_BASE_NUM_PORTS)) else None
        has_host = present(probe.get(HR_MEMORY_SIZE))
        if_reps = if_number + 1 if if_number is not None and 0 <= if_number < 10_000 else 16
        tasks = {
            "texts": self.get(TEXT_OIDS, "system"),
            "entity": self.entity(),
            "interfaces": self.walk(IF_COLUMNS, if_reps, "interfaces"),
            "arp": self.walk([ARP_PHYS], 16, "ARP"),
            "lldp": self.lldp(),
        }
        if base_ports is not None:
            tasks["fdb"] = self.fdb(base_ports)
        if has_host:
            tasks["storage"] = self.walk(HR_STORAGE_COLUMNS, 16, "hrStorage")
            tasks["devices"] = self.walk([HR_DEVICE_TYPE], 16, "hrDevice")
            tasks["software"] = self.walk(HR_SW_COLUMNS, 32, "hrSWInstalled")
        results = dict(zip(tasks, await asyncio.gather(*tasks.values()), strict=True))
        return self.facts(results)

    async def entity(self) -> dict[str, Var]:
        row = await self.get(entity_row(1), "ENTITY-MIB")
        values = dict(zip(ENT_COLUMNS, (row.get(o) for o in entity_row(1)), strict=True))
        if as_int(values["class"]) == ENT_CHASSIS:
            return values
        (classes,) = await self.walk([ENT_CLASS], 8, "ENTITY-MIB")
        for index, var in classes.items():
            if as_int(var) == ENT_CHASSIS and len(index) == 1:
                row = await self.get(entity_row(index[0]), "ENTITY-MIB")
                return dict(zip(ENT_COLUMNS, (row.get(o) for o in entity_row(index[0])), strict=True))
        return {}

    async def fdb(self, base_ports: int) -> tuple[Row, Row]:
        reps = base_ports + 1 if 0 <= base_ports < 10_000 else 16
        (ports,), (fdb,) = await asyncio.gather(
            self.walk([BASE_PORT_IFINDEX], reps, "BRIDGE-MIB ports"), self.walk([FDB_PORT], 16, "BRIDGE-MIB FDB")
        )
        if not fdb:
            (qfdb,) = await self.walk([QFDB_PORT], 16, "Q-BRIDGE-MIB FDB")
            fdb = {index[1:]: var for index, var in qfdb.items() if len(index) == 7}  # (fdbId, mac)
        return ports, fdb

    async def lldp(self) -> tuple[list[Row], Row]:
        remote = await self.walk(LLDP_REM_COLUMNS, 8, "LLDP")
        local: Row = {}
        if any(remote):
            (local,) = await self.walk([LLDP_LOC_PORT_ID], 32, "LLDP local ports")
        return remote, local

    # ------------------------------------------------------------------ facts
    def facts(self, r: dict[str, Any]) -> DeviceFacts:
        w = self.warnings
        texts: dict[bytes, Var] = r["texts"]
        entity: dict[str, Var] = r["entity"]
        sys_descr = as_text(texts.get(SYS_DESCR), w, "sysDescr")
        sys_object_id = as_oid(self.probe.get(SYS_OBJECT_ID))
        uptime = as_int(self.probe.get(SYS_UPTIME))
        v = self.c.vendors

        def ent(name: str) -> str | None:
            value = as_text(entity.get(name), w, f"entPhysical {name}")
            return value if value else None

        model = ent("model")
        vendor = v.canonical_vendor(ent("mfg"))
        if vendor is None and not v.is_agent_software(sys_object_id):
            vendor = v.vendor_for_sys_object_id(sys_object_id)
        os_name, descr_version = v.os_from_sys_descr(sys_descr)
        interfaces = self.interfaces(r["interfaces"])
        names = {i.index: i.name for i in interfaces}
        fdb = self.fdb_records(*r["fdb"], names) if "fdb" in r else ()
        host = self.host(r) if "storage" in r else None
        return DeviceFacts(
            address=self.target.address,
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
            arp=self.arp(r["arp"][0]),
            lldp=self.lldp_records(*r["lldp"], interfaces),
            host=host,
            warnings=tuple(dict.fromkeys(w)),
        )

    def interfaces(self, columns: list[Row]) -> tuple[InterfaceRecord, ...]:
        descr, speed, phys, admin, oper, name, high, alias = columns
        indexes = sorted({i for col in (descr, phys, admin, oper, name) for i in col if len(i) == 1})
        w = self.warnings
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
                InterfaceRecord(
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

    @staticmethod
    def fdb_records(ports: Row, fdb: Row, names: dict[int, str]) -> tuple[FdbRecord, ...]:
        port_if = {index[0]: as_int(var) for index, var in ports.items() if len(index) == 1}
        out = []
        for index, var in fdb.items():
            port = as_int(var)
            if len(index) != 6 or not port or max(index) > 255:
                continue  # port 0: the switch's own or an unknown port
            if_index = port_if.get(port)
            out.append(FdbRecord(bytes(index).hex(":"), if_index, names.get(if_index, "") if if_index else ""))
        return tuple(out)

    @staticmethod
    def arp(rows: Row) -> tuple[ArpRecord, ...]:
        out = []
        for index, var in rows.items():
            if len(index) != 5 or max(index[1:]) > 255 or var[1] != OCTETS:
                continue
            mac = mac_text(var[2])
            if mac:
                out.append(ArpRecord(".".join(map(str, index[1:])), mac, index[0]))
        return tuple(out)

    def lldp_records(self, remote: list[Row], local: Row, interfaces: Sequence[InterfaceRecord]) -> tuple[LldpRecord, ...]:
        chassis_type, chassis, port_type, port, sys_name = remote
        w = self.warnings
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
                LldpRecord(
                    local_if_index=if_index,
                    remote_sysname=as_text(sys_name.get(index), w, "lldpRemSysName") or "",
                    remote_port=_lldp_id(port_type.get(index), port.get(index), mac_subtype=3, w=w),
                    remote_chassis=_lldp_id(chassis_type.get(index), chassis.get(index), mac_subtype=4, w=w),
                )
            )
        return tuple(out)

    def host(self, r: dict[str, Any]) -> HostRecord:
        w = self.warnings
        storage_type, descr, units, size = r["storage"]
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
        (device_types,) = r["devices"]
        cores = sum(1 for var in device_types.values() if as_oid(var) == HR_DEVICE_PROCESSOR)
        names, dates = r["software"]
        software = []
        for index, var in names.items():
            d = dates.get(index)
            software.append(
                SoftwareRecord(
                    as_text(var, w, "hrSWInstalledName") or "",
                    date_and_time(d[2]) if d is not None and d[1] == OCTETS else None,
                )
            )
        return HostRecord(
            cores=cores,
            ram_kb=as_int(self.probe.get(HR_MEMORY_SIZE)) or 0,
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

