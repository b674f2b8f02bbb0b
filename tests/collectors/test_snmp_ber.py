"""The BER codec (collectors.snmp.ber) without the lab: lengths, OIDs, v2c messages checked
against pysnmp, garbage refused, and the wire datagrams of golden visits (tests/collectors/golden/snmp)."""

from __future__ import annotations

import time

import pytest

from collectors.snmp.ber import (
    _EXCEPTIONS,
    GET,
    GETBULK,
    NULL,
    RESPONSE,
    BerError,
    _tlv,
    decode_length,
    decode_message,
    decode_oid,
    encode_length,
    encode_oid,
    encode_request,
)
from tests.collectors import snmp_golden


# ------------------------------------------------------------------------------ lengths
@pytest.mark.parametrize(
    "n, octets",
    [(0, "00"), (5, "05"), (127, "7f"), (128, "8180"), (255, "81ff"), (256, "820100"), (65535, "82ffff"), (65536, "83010000")],
)
def test_length_short_and_long_form(n: int, octets: str) -> None:
    encoded = bytes.fromhex(octets)
    assert encode_length(n) == encoded
    data = b"\x04" + encoded + b"x" * n  # an OCTET STRING of n bytes
    assert decode_length(data, 1) == (n, 1 + len(encoded))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x04", "length missing"),  # the message ends before the length
        (b"\x04\x05abc", "runs past the end"),  # short form, 2 bytes missing
        (b"\x04\x82\x01\x00" + b"x" * 255, "runs past the end"),  # long form, 1 byte missing
        (b"\x04\x82\x01", "runs past the end"),  # long form cut inside the length itself
        (b"\x04\x80", "bad length"),  # indefinite length: not in SNMP
        (b"\x04\x85\x00\x00\x00\x00\x01x", "bad length"),  # more than 4 length octets
    ],
)
def test_length_refuses_truncated_and_malformed_input(data: bytes, message: str) -> None:
    with pytest.raises(BerError, match=message):
        decode_length(data, 1)


def test_oid_codec_round_trips() -> None:
    for oid in ("1.3.6.1.2.1.1.1.0", "1.3.6.1.4.1.2011.2.23.541", "1.0.8802.1.1.2.1.4.1.1.9.0.24.1", "2.999.3", "1.3.6.1.4.1.4294967295"):
        assert decode_oid(encode_oid(oid)) == oid
    assert encode_oid("1.3.6.1") == b"+\x06\x01"


def _best_time(run, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def test_64kb_oid_decodes_exactly_in_linear_time() -> None:
    """A 64 KB OID of 32-bit arcs decodes to its arcs, in time linear in its length."""

    def oid(kb: int) -> tuple[str, bytes]:
        dotted = ".".join(map(str, [1, 3, *(4294967295 - i for i in range(kb * 1024 // 5))]))
        return dotted, encode_oid(dotted)

    dotted, content = oid(64)
    assert len(content) >= 65535
    assert decode_oid(content) == dotted
    small = oid(16)[1]
    t16, t64 = _best_time(lambda: decode_oid(small)), _best_time(lambda: decode_oid(content))
    assert t64 < 0.1
    assert t64 < 12 * t16  # 4x the bytes: ~4x the time, not 16x


@pytest.mark.parametrize("kb", [16, 64])
def test_oversized_sub_identifier_refused_at_once(kb: int) -> None:
    """One sub-identifier spanning the whole OID used to cost a quadratic 0.6 s for 64 KB (each
    7-bit shift copied the growing int) and then a ValueError from its decimal text."""
    content = b"+" + b"\xff" * (kb * 1024) + b"\x7f"
    start = time.perf_counter()
    with pytest.raises(BerError, match="sub-identifier too long"):
        decode_oid(content)
    assert time.perf_counter() - start < 0.01
    assert decode_oid(b"+" + b"\x8f\xff\xff\xff\x7f") == "1.3.4294967295"  # 32-bit arcs still decode
    assert decode_oid(b"+" + b"\xff" * 9 + b"\x7f") == f"1.3.{2**70 - 1}"  # the longest accepted


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


@pytest.mark.parametrize(
    "garbage, message",
    [
        (b"", "truncated message"),
        (b"\x30", "length missing"),
        (b"\x30\x05\x02\x01\x01\x04", "runs past the end"),
        (b"\x30\x84\xff\xff\xff\xff", "runs past the end"),
        (b"\x02\x01\x01", "expected tag 0x30, got 0x02"),
        (b"\x30\x03\x02\x01\x00", "not SNMPv2c"),
        (b"\x30\x03\x02\x01\x01", "truncated message"),  # ends where the community's tag should be
        (b"\x30\x06\x02\x01\x01\x04\x01c", "truncated message"),  # no PDU after the community
    ],
)
def test_codec_refuses_garbage(garbage: bytes, message: str) -> None:
    with pytest.raises(BerError, match=message):
        decode_message(garbage)


# ------------------------------------------------------------------------------ golden wire
@pytest.mark.parametrize("path", sorted(snmp_golden.GOLDEN.glob("*/v2c.wire")), ids=lambda p: p.parent.name)
def test_golden_v2c_visit_reencodes_and_decodes(path) -> None:
    """Every request of a recorded visit re-encodes to the same bytes; every answer decodes to
    var-binds of the recorded walk, the same ones pyasn1 (pysnmp's decoder) reads."""
    from pyasn1.codec.ber import decoder, encoder
    from pysnmp.proto import api

    v2c = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    walk = set(snmp_golden.read_walk(path.parent / "walk.txt"))
    exchanges = snmp_golden.read_wire(path)
    assert exchanges
    for request, answer in exchanges:
        community, pdu, request_id, a, b, asked = decode_message(request)
        assert pdu in (GET, GETBULK) and {tag for _, tag, _ in asked} == {NULL}
        assert encode_request(pdu, community, request_id, a, b, [oid for oid, _, _ in asked]) == request
        answer_community, answer_pdu, answer_id, status, _index, varbinds = decode_message(answer)
        assert (answer_community, answer_pdu, answer_id, status) == (community, RESPONSE, request_id, 0)
        assert varbinds and all(var in walk or var[1] in _EXCEPTIONS for var in varbinds)
        theirs, rest = decoder.decode(answer, asn1Spec=v2c.Message())
        assert rest == b""
        their_varbinds = v2c.apiPDU.get_varbinds(v2c.apiMessage.get_pdu(theirs))
        assert [(str(name), encoder.encode(value)) for name, value in their_varbinds] == [(decode_oid(oid), _tlv(tag, value)) for oid, tag, value in varbinds]
