"""SNMPv3 messages and the user-based security model: keys, message codec, AES-CFB.

RFC 3412 message, RFC 3414 USM (HMAC-SHA-96), RFC 7860 (HMAC-SHA-256-192), RFC 3826 AES-128
CFB; AES-256 keys are extended the Blumenthal way (draft-blumenthal-aes-usm-04, what net-snmp's
"AES-256" and pysnmp's usmAesBlumenthalCfb256Protocol do; Cisco's "Reeder" variant differs
only when the auth hash is shorter than 32 bytes, i.e. for SHA + AES256).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from collectors.snmp.ber import (
    INTEGER,
    OCTETS,
    SEQUENCE,
    BerError,
    Var,
    _expect_int,
    _header,
    _int,
    _tlv,
    decode_pdu,
    encode_length,
)

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
    head = bytes((SEQUENCE,)) + encode_length(len(body))
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


MAX_ENGINE_CLOCK = 2_147_483_647  # RFC 3414: snmpEngineBoots and snmpEngineTime are INTEGER (0..2147483647)


def _engine_clock(content: bytes) -> int:
    """msgAuthoritativeEngineBoots/Time. A larger value is refused here: it goes into the 4-octet
    fields of the AES IV, and an unauthenticated discovery report could otherwise plant it."""
    value = int.from_bytes(content, "big")
    if value > MAX_ENGINE_CLOCK:
        raise BerError("engine boots or time out of range")
    return value


def decode_v3(data: bytes) -> V3Message:
    try:
        _, _, p = _header(data, 0, SEQUENCE)
        p = _expect_int(data, p, b"\x03", "not SNMPv3")
        _, n, p = _header(data, p, SEQUENCE)  # HeaderData
        _, n, p = _header(data, p, INTEGER)
        msg_id = int.from_bytes(data[p : p + n], "big", signed=True)
        p += n
        _, n, p = _header(data, p, INTEGER)
        p += n
        _, n, p = _header(data, p, OCTETS)
        flags = data[p] if n else 0
        p += n
        p = _expect_int(data, p, b"\x03", "not the user-based security model")
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
        boots, engine_time = _engine_clock(boots), _engine_clock(engine_time)
        return V3Message(msg_id, flags, engine_id, boots, engine_time, user, offsets[4], auth_params, priv_params, p)
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
