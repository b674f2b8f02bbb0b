"""SNMPv3 / USM (collectors.snmp.usm) without the lab: keys against RFC 3414 and pysnmp, a
signed and encrypted message accepted and a tampered one dropped, and the v3 datagrams of
golden visits (tests/collectors/golden/snmp) verified, decrypted and re-encoded."""

from __future__ import annotations

import hmac
import random

import pytest

from collectors.lab.snmp_agents import engine_id
from collectors.snmp.ber import _EXCEPTIONS, BerError, _tlv, decode_message, decode_oid, encode_oid
from collectors.snmp.transport import _NativeV3Session
from collectors.snmp.usm import (
    AUTH,
    FLAG_AUTH,
    FLAG_PRIV,
    FLAG_REPORTABLE,
    PRIV_KEY_BYTES,
    _aes_cfb,
    _UsmUser,
    decode_scoped_pdu,
    decode_v3,
    encode_v3,
    localize_key,
    password_to_key,
    priv_key_for,
)
from tests.collectors import snmp_golden
from tests.collectors.snmp_lab import DEVICES, v3


def test_usm_keys_match_rfc3414_and_pysnmp() -> None:
    from pyasn1.type.univ import OctetString

    # rfc3414 first: entering pysnmp through eso.priv.aes256 trips its circular import
    from pysnmp.proto.secmod.rfc3414.localkey import hash_passphrase  # isort: skip
    from pysnmp.proto.secmod.eso.priv.aes256 import AesBlumenthal256
    from pysnmp.proto.secmod.rfc3414.auth.hmacsha import HmacSha
    from pysnmp.proto.secmod.rfc7860.auth.hmacsha2 import HmacSha2

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
    mac = hmac.new(auth_key, message, "sha256").digest()[:24]
    signed = message[:offset] + mac + message[offset + 24 :]
    msg_id, (kind, status, varbinds) = session.accept(signed)
    assert (msg_id, kind, status) == (4242, "response", 0)
    assert [(decode_oid(o), t, v) for o, t, v in varbinds] == [("1.3.6.1.2.1.1.5.0", 0x04, b"sw")]
    tampered = bytearray(signed)
    tampered[-1] ^= 1
    assert session.accept(bytes(tampered)) is None
    assert session.accept(message) is None  # zero MAC


@pytest.mark.parametrize(
    "flags, msg_data",
    [
        (FLAG_AUTH | FLAG_PRIV, b""),  # no encrypted PDU at all: was an IndexError
        (FLAG_AUTH, b""),
        (FLAG_AUTH | FLAG_PRIV, b"\x04\x00"),  # an empty encrypted PDU
        (FLAG_AUTH, b"\x30\x00"),  # an empty scoped PDU
        (FLAG_AUTH, b"\x30\x02\x04\x00"),  # a scoped PDU cut after its context engine ID
    ],
)
def test_empty_authenticated_message_is_a_ber_error(flags: int, msg_data: bytes) -> None:
    """A correctly signed message whose msgData is empty or cut short is a BerError (which the
    UDP protocol drops), not an IndexError escaping into the event loop."""
    user = _UsmUser(b"u", "sha256", 24, PRIV_KEY_BYTES["AES256"], password_to_key(b"authkey-1", "sha256"), password_to_key(b"privkey-1", "sha256"))
    session = _NativeV3Session("127.0.0.1", 1, user, 1)
    session.engine_id = b"\x80\x00\x1f\x88\x05agent"
    auth_key, _ = user.keys(session.engine_id)
    message, offset = encode_v3(7, flags, session.engine_id, 1, 1, b"u", 24, b"12345678", msg_data)
    signed = message[:offset] + hmac.new(auth_key, message, "sha256").digest()[:24] + message[offset + 24 :]
    with pytest.raises(BerError):
        session.accept(signed)
    with pytest.raises(BerError, match="truncated"):
        decode_scoped_pdu(b"")


def test_malformed_messages_raise_only_ber_error() -> None:
    """Every truncation and random damage of the golden datagrams decodes or raises BerError."""
    datagrams = [d for path in sorted(snmp_golden.GOLDEN.glob("*/*.wire")) for pair in snmp_golden.read_wire(path) for d in pair]
    assert datagrams
    rnd = random.Random(11)
    cases = [d[:i] for d in datagrams[:8] for i in range(len(d))]
    for _ in range(3000):
        damaged = bytearray(rnd.choice(datagrams))
        for _ in range(rnd.randint(1, 4)):
            damaged[rnd.randrange(len(damaged))] = rnd.randrange(256)
        cases.append(bytes(damaged[: rnd.randint(1, len(damaged))]))
    cases += [rnd.randbytes(rnd.randint(0, 64)) for _ in range(1000)]
    for data in cases:
        for decode in (decode_message, decode_v3, decode_scoped_pdu):
            try:
                decode(data)
            except BerError:
                pass


# ------------------------------------------------------------------------------ golden wire
@pytest.mark.parametrize("path", sorted(snmp_golden.GOLDEN.glob("*/v3.wire")), ids=lambda p: p.parent.name)
def test_golden_v3_visit_verifies_decrypts_and_reencodes(path) -> None:
    """A recorded native-v3 visit: engine discovery answered by a report; every request
    re-encodes and re-signs to the same bytes; every answer is verified and decrypted with the
    device's keys to var-binds of the recorded walk, and dropped once a bit is flipped."""
    d = {device.key: device for device in DEVICES}[path.parent.name]
    credential = v3(d)
    hash_name, auth_len = AUTH[credential.auth_protocol]
    user = _UsmUser(
        d.snmp.v3_user.encode(), hash_name, auth_len, PRIV_KEY_BYTES[credential.priv_protocol],
        password_to_key(d.snmp.v3_auth_key.encode(), hash_name), password_to_key(d.snmp.v3_priv_key.encode(), hash_name),
    )  # fmt: skip
    session = _NativeV3Session(d.address, d.snmp.port, user, 1)
    walk = set(snmp_golden.read_walk(path.parent / "walk.txt"))
    (discovery, report), *exchanges = snmp_golden.read_wire(path)
    assert exchanges

    asked = decode_v3(discovery)
    assert (asked.flags, asked.engine_id, asked.user) == (FLAG_REPORTABLE, b"", b"")
    msg_id, (kind, reason, reported) = session.accept(report)
    assert (msg_id, kind, reason, reported.engine_id) == (asked.msg_id, "report", "unknownEngineID", engine_id(d))
    session.engine_id = reported.engine_id
    auth_key, _ = user.keys(session.engine_id)

    for request, _answer in [(discovery, report), *exchanges]:
        m = decode_v3(request)
        message, offset = encode_v3(
            m.msg_id, m.flags, m.engine_id, m.boots, m.engine_time, m.user, len(m.auth_params), m.priv_params,
            request[m.data_offset :],
        )  # fmt: skip
        if m.flags & FLAG_AUTH:
            message = message[:offset] + hmac.new(auth_key, message, hash_name).digest()[:auth_len] + message[offset + auth_len :]
        assert message == request
    for request, answer in exchanges:
        msg_id, (kind, status, varbinds) = session.accept(answer)
        assert (msg_id, kind, status) == (decode_v3(request).msg_id, "response", 0)
        assert varbinds and all(var in walk or var[1] in _EXCEPTIONS for var in varbinds)
        tampered = bytearray(answer)
        tampered[len(tampered) // 2] ^= 1
        assert session.accept(bytes(tampered)) is None
