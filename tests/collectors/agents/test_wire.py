"""Bodies: compression recognised by the first bytes, bounded, answered the same way."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from collectors.agents import wire
from collectors.agents.wire import AgentMessageError, decode_body, encode_reply, reply_content_type

from .conftest import COMPRESSORS

PAYLOAD = b'{"action": "contact", "deviceid": "pc-1"}'


def test_each_encoding_is_recognised_by_its_bytes(compression: str) -> None:
    assert decode_body(COMPRESSORS[compression](PAYLOAD)) == (PAYLOAD, compression)


@pytest.mark.parametrize("level", [1, 3, 6, 9])
def test_every_zlib_level_header_is_recognised(level: int) -> None:
    assert decode_body(zlib.compress(PAYLOAD, level)) == (PAYLOAD, "zlib")


def test_plain_bodies_may_start_with_whitespace_or_a_bom() -> None:
    assert decode_body(b"\r\n  <REQUEST/>")[1] == "plain"
    assert decode_body(b"\xef\xbb\xbf{}")[1] == "plain"


@pytest.mark.parametrize("encoding", ["zlib", "gzip", "plain"])
def test_a_reply_round_trips(encoding: str) -> None:
    assert decode_body(encode_reply(PAYLOAD, encoding)) == (PAYLOAD, encoding)


def test_zlib_reply_starts_with_the_bytes_agents_sniff() -> None:
    # GLPI Agent's legacy client looks for exactly 78 9C; FusionInventory and OCS too.
    assert encode_reply(b"<REPLY/>", "zlib")[:2] == b"\x78\x9c"
    assert encode_reply(b"<REPLY/>", "gzip")[:3] == b"\x1f\x8b\x08"


def test_reply_content_type_tells_glpi_agent_how_to_decode() -> None:
    assert reply_content_type("zlib", "json") == "application/x-compress-zlib"
    assert reply_content_type("gzip", "json") == "application/x-compress-gzip"
    assert reply_content_type("plain", "json") == "application/json"
    assert reply_content_type("plain", "xml") == "application/xml"


def _refused(body: bytes) -> AgentMessageError:
    with pytest.raises(AgentMessageError) as caught:
        decode_body(body)
    return caught.value


def test_empty_body_is_refused() -> None:
    assert _refused(b"").status == 400


def test_truncated_zlib_is_refused() -> None:
    body = zlib.compress(PAYLOAD * 50)
    error = _refused(body[: len(body) // 2])
    assert (error.status, error.encoding) == (400, "zlib")
    assert "truncated" in error.message


def test_truncated_gzip_is_refused() -> None:
    body = gzip.compress(PAYLOAD * 50)
    assert _refused(body[:-6]).status == 400


def test_gzip_header_with_garbage_is_refused() -> None:
    error = _refused(b"\x1f\x8b" + b"\x00\xff garbage that is not deflate " * 3)
    assert error.status == 400
    assert "garbage" not in error.message  # the body is not quoted back


def test_zlib_header_with_garbage_is_refused() -> None:
    assert _refused(b"\x78\x9c" + b"\xff" * 40).status == 400


def test_data_after_the_stream_is_refused() -> None:
    assert _refused(zlib.compress(PAYLOAD) + b"extra").status == 400


def test_plain_text_announced_as_zlib_is_refused_as_unknown() -> None:
    # Labelled application/x-compress-zlib by a client, but neither compressed nor JSON/XML.
    error = _refused(b"x-compress-zlib: this is plain text")
    assert error.status == 415
    assert "plain text" not in error.message


def test_binary_garbage_is_refused_as_unknown() -> None:
    assert _refused(b"\x00\x01\x02\x03\x04").status == 415


def test_oversized_body_is_refused_before_decoding() -> None:
    assert _refused(b"{" + b" " * wire.MAX_BODY_BYTES).status == 413


def test_zip_bomb_is_refused_without_inflating_it() -> None:
    inflater = zlib.compressobj()
    chunk = bytes(1024 * 1024)
    bomb = b"".join(inflater.compress(chunk) for _ in range(100)) + inflater.flush()  # 100 MiB of zeros
    assert len(bomb) < wire.MAX_BODY_BYTES
    tracemalloc.start()
    try:
        error = _refused(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.status == 413
    # The limit's worth of output at most (32 MiB), never the 100 MiB announced.
    assert peak < wire.MAX_DECODED_BYTES + 4 * 1024 * 1024


def test_zip_bomb_never_exceeds_a_lowered_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # With the limit at 1 MiB the decoder must stop at 1 MiB: memory stays at a few MiB.
    monkeypatch.setattr(wire, "MAX_DECODED_BYTES", 1024 * 1024)
    bomb = gzip.compress(bytes(100 * 1024 * 1024))
    tracemalloc.start()
    try:
        error = _refused(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.status == 413
    assert peak < 4 * 1024 * 1024


def test_doctests() -> None:
    import doctest

    from collectors.agents import mapping

    assert doctest.testmod(wire).failed == 0
    assert doctest.testmod(mapping).failed == 0
