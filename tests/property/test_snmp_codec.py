"""SNMP codec properties: what is encoded decodes to itself; hostile bytes are a BerError, never
another exception; OID decoding stays linear in the OID's length."""

from __future__ import annotations

import time

from hypothesis import example, given, settings
from hypothesis import strategies as st

from collectors.snmp import ber, usm
from collectors.snmp.ber import BerError
from collectors.snmp.facts import as_int, as_oid, as_text, date_and_time, mac_text
from collectors.snmp.transport import _NativeV3Session, _V2cSession
from collectors.snmp.usm import FLAG_AUTH, FLAG_PRIV, _UsmUser
from tests.property.budget import examples

INT64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
ARC = st.one_of(st.integers(0, 127), st.integers(128, 2**32 - 1), st.integers(2**32, 2**63 - 1))


@st.composite
def oid_arcs(draw) -> list[int]:
    first = draw(st.integers(0, 2))
    second = draw(st.integers(0, 39) if first < 2 else ARC)
    return [first, second, *draw(st.lists(ARC, max_size=8))]


OIDS = oid_arcs().map(ber.encode_oid)
VALUE_TAGS = st.sampled_from([ber.INTEGER, ber.OCTETS, ber.NULL, ber.OID, ber.IPADDRESS, ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS, ber.COUNTER64, ber.NO_SUCH_OBJECT])


def tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + ber.encode_length(len(content)) + content


def signed(value: int) -> bytes:
    return value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)


def unsigned(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8) + 1, "big")  # a leading 0 octet, as agents send


def response(community: bytes, request_id: int, varbinds: list[tuple[bytes, int, bytes]], status: int = 0, index: int = 0) -> bytes:
    """A v2c GetResponse as an agent sends it (the codec itself only builds requests)."""
    vbs = b"".join(tlv(ber.SEQUENCE, tlv(ber.OID, oid) + tlv(tag, value)) for oid, tag, value in varbinds)
    pdu = tlv(ber.RESPONSE, tlv(ber.INTEGER, signed(request_id)) + tlv(ber.INTEGER, signed(status)) + tlv(ber.INTEGER, signed(index)) + tlv(ber.SEQUENCE, vbs))
    return tlv(ber.SEQUENCE, b"\x02\x01\x01" + tlv(ber.OCTETS, community) + pdu)


# ------------------------------------------------------------------------------ round trips
@given(oid_arcs())
@example([1, 3, 6, 1, 2, 1, 1, 1, 0])
@example([2, 2**63 - 81, 2**63 - 1])
@example([0, 0])
def test_oid_round_trip(arcs):
    assert ber.decode_oid(ber.encode_oid(arcs)) == ".".join(map(str, arcs))
    assert ber.encode_oid(".".join(map(str, arcs))) == ber.encode_oid(arcs)


@given(st.integers(0, 70_000))
def test_length_round_trip(n):
    data = b"\x04" + ber.encode_length(n) + b"x" * n
    assert ber.decode_length(data, 1) == (n, len(data) - n)


@given(st.integers(1, 2**32 - 1))
def test_a_length_past_the_end_is_refused(n):
    data = b"\x04" + ber.encode_length(n) + b"x" * (n - 1 if n < 4096 else 10)
    try:
        ber.decode_length(data, 1)
    except BerError:
        return
    raise AssertionError("a length past the end was accepted")


@given(st.sampled_from([ber.GET, ber.GETNEXT, ber.GETBULK]), st.binary(max_size=64), INT64, INT64, INT64, st.lists(OIDS, max_size=4))
@settings(max_examples=examples(0.5))
@example(ber.GET, b"public", -(2**63), 2**64 - 1, 0, [])
def test_request_round_trip(pdu, community, request_id, a, b, oids):
    message = ber.encode_request(pdu, community, request_id, a, b, oids)
    assert ber.decode_message(message) == (community, pdu, request_id, a, b, [(oid, ber.NULL, b"") for oid in oids])


@given(
    st.binary(max_size=32),
    INT64,
    st.lists(
        st.tuples(OIDS, st.one_of(
            st.tuples(st.just(ber.INTEGER), INT64),
            st.tuples(st.sampled_from([ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS, ber.COUNTER64]), st.integers(0, 2**64 - 1)),
            st.tuples(st.just(ber.OCTETS), st.binary(max_size=100)),
            st.tuples(st.just(ber.OID), OIDS),
            st.tuples(st.just(ber.NULL), st.just(b"")),
        )),
        max_size=5,
    ),
)  # fmt: skip
@settings(max_examples=examples(0.5))
def test_response_values_round_trip(community, request_id, varbinds):
    """Integers (negative, 64-bit counters), octet strings, OIDs and NULL come back as sent."""
    raw = []
    for oid, (tag, value) in varbinds:
        content = signed(value) if tag == ber.INTEGER else unsigned(value) if isinstance(value, int) else value
        raw.append((oid, tag, content))
    got_community, pdu, got_id, status, index, got = ber.decode_message(response(community, request_id, raw))
    assert (got_community, pdu, got_id, status, index) == (community, ber.RESPONSE, request_id, 0, 0)
    assert got == raw
    for (oid, (tag, value)), var in zip(varbinds, got, strict=True):
        assert var[0] == oid
        if tag == ber.OCTETS:
            assert as_text(var) == value.rstrip(b"\x00").decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        elif tag == ber.OID:
            assert as_oid(var) == ber.decode_oid(value)
        elif tag == ber.NULL:
            assert as_int(var) is None
        else:
            assert as_int(var) == value


CLOCK = st.one_of(st.integers(0, usm.MAX_ENGINE_CLOCK), st.integers(usm.MAX_ENGINE_CLOCK + 1, 2**64))


@given(st.integers(0, 2**31 - 1), st.integers(0, 7), st.binary(max_size=32), CLOCK, CLOCK, st.binary(max_size=32), st.sampled_from([12, 24]), st.binary(min_size=8, max_size=8), st.binary(max_size=99))
@example(1, 7, b"e", 2**32, 0, b"u", 12, b"salt0001", b"")  # found by this property: boots past 4 octets
def test_v3_header_round_trip(msg_id, flags, engine_id, boots, engine_time, user, auth_len, salt, scoped):
    message, offset = usm.encode_v3(msg_id, flags, engine_id, boots, engine_time, user, auth_len, salt, tlv(ber.OCTETS, scoped))
    if max(boots, engine_time) > usm.MAX_ENGINE_CLOCK:  # RFC 3414 bounds both
        try:
            usm.decode_v3(message)
        except BerError:
            return
        raise AssertionError("engine boots/time out of range accepted")
    decoded = usm.decode_v3(message)
    assert (decoded.msg_id, decoded.flags, decoded.engine_id, decoded.boots, decoded.engine_time, decoded.user) == (msg_id, flags, engine_id, boots, engine_time, user)
    assert decoded.auth_offset == offset and decoded.auth_params == b"\x00" * auth_len and decoded.priv_params == salt
    assert message[decoded.data_offset :] == tlv(ber.OCTETS, scoped)


# ------------------------------------------------------------------------------ hostile bytes
def only_ber_errors(decode, data: bytes) -> None:
    try:
        decode(data)
    except BerError:
        pass


DECODERS = [
    ber.decode_message,
    lambda d: ber.decode_pdu(d, 0),
    ber.decode_oid,
    lambda d: ber.decode_length(d, 0),
    usm.decode_v3,
    usm.decode_scoped_pdu,
]


@given(st.binary(max_size=600))
@example(b"")
@example(b"\x30")
@example(b"\x30\x84\xff\xff\xff\xff")
@example(b"\x30\x80")
def test_arbitrary_bytes_are_a_value_or_a_ber_error(data):
    for decode in DECODERS:
        only_ber_errors(decode, data)


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    """A valid message with a few bytes flipped, cut, inserted or deleted."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["set", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x84, 0x85, 0xFF, draw(st.integers(0, 255))]))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif data:
            del data[at : at + draw(st.integers(1, 4))]
    return bytes(data)


VALID_V2C = response(
    b"public",
    1234,
    [
        (ber.encode_oid("1.3.6.1.2.1.1.5.0"), ber.OCTETS, b"sw1"),
        (ber.encode_oid("1.3.6.1.2.1.2.2.1.10.1"), ber.COUNTER64, unsigned(2**63)),
        (ber.encode_oid("1.3.6.1.2.1.1.2.0"), ber.OID, ber.encode_oid("1.3.6.1.4.1.9.1.1")),
    ],
)
VALID_V3, _ = usm.encode_v3(7, FLAG_AUTH | FLAG_PRIV, b"\x80\x00\x1f\x88engine", 3, 1000, b"kiemke", 12, b"salt0001", tlv(ber.OCTETS, b"\x00" * 40))
VALID_SCOPED = tlv(ber.SEQUENCE, tlv(ber.OCTETS, b"engine") + tlv(ber.OCTETS, b"") + VALID_V2C[VALID_V2C.index(bytes((ber.RESPONSE,))) :])


@given(st.one_of(mutated(VALID_V2C), mutated(VALID_V3), mutated(VALID_SCOPED)))
def test_mutated_messages_are_a_value_or_a_ber_error(data):
    for decode in DECODERS:
        only_ber_errors(decode, data)


def _user() -> _UsmUser:
    return _UsmUser(b"kiemke", "sha1", 12, 16, b"a" * 20, b"p" * 20)


@given(st.one_of(st.binary(max_size=400), mutated(VALID_V2C), mutated(VALID_V3)))
def test_sessions_drop_garbage_datagrams_with_a_ber_error_or_none(data):
    """What the UDP protocol hands each datagram to: it ignores BerError/ValueError and None, so
    anything else would escape into the event loop."""
    v2c = _V2cSession("127.0.0.1", 161, b"public", 1)
    v3 = _NativeV3Session("127.0.0.1", 161, _user(), 1)
    v3.engine_id = b"\x80\x00\x1f\x88engine"
    for accept in (v2c.accept, v3.accept):
        try:
            accept(data)
        except ValueError:  # BerError is one
            pass


ENGINE_ID = b"\x80\x00\x1f\x88engine"


@given(
    st.sampled_from([FLAG_AUTH, FLAG_AUTH | FLAG_PRIV, FLAG_PRIV, 0]),
    CLOCK,
    CLOCK,
    st.binary(min_size=0, max_size=9),
    st.one_of(st.binary(max_size=200).map(lambda b: tlv(ber.OCTETS, b)), mutated(VALID_SCOPED), st.just(VALID_SCOPED)),
)
@example(FLAG_AUTH | FLAG_PRIV, 2**32, 0, b"salt0001", tlv(ber.OCTETS, b"\x00" * 40))  # found: OverflowError building the AES IV
@example(FLAG_AUTH, 0, 0, b"", VALID_SCOPED)
@settings(max_examples=examples(0.5))
def test_authenticated_v3_datagrams_are_a_value_none_or_a_ber_error(flags, boots, engine_time, salt, msg_data):
    """Past the HMAC check (the agent holds the keys, or the datagram is a discovery report):
    decryption and decoding still end in a value, None or a BerError."""
    session = _NativeV3Session("127.0.0.1", 161, _user(), 1)
    session.engine_id = ENGINE_ID
    message, offset = usm.encode_v3(9, flags, ENGINE_ID, boots, engine_time, b"kiemke", 12, salt, msg_data)
    auth_key, _ = session.user.keys(ENGINE_ID)
    message = message[:offset] + session._mac(auth_key, message) + message[offset + 12 :]
    try:
        accepted = session.accept(message)
    except BerError:
        return
    assert accepted is None or accepted[0] == 9


@given(st.binary(max_size=64), VALUE_TAGS)
def test_value_helpers_take_any_bytes(value, tag):
    var = (b"+\x06\x01", tag, value)
    as_int(var)
    as_text(var)
    as_oid(var)
    mac_text(value)
    date_and_time(value)


# ------------------------------------------------------------------------------ cost
def test_a_64_kb_oid_decodes_in_linear_time():
    """Sanity bound, not a benchmark: a quadratic decoder takes seconds here."""
    many_arcs = b"\x81\x01" * 32768  # 32,768 two-octet sub-identifiers
    one_long_arc = b"\xff" * 65535 + b"\x01"
    small_arcs = b"\x2b" + b"\x7f" * 65535
    started = time.perf_counter()
    assert ber.decode_oid(many_arcs).count(".") == 32768
    assert len(ber.decode_oid(small_arcs)) > 65535
    try:
        ber.decode_oid(one_long_arc)
    except BerError:
        pass
    else:
        raise AssertionError("a 64 KB sub-identifier was accepted")
    assert time.perf_counter() - started < 0.5
