"""The bytes of an agent's HTTP body: which compression it uses, and its content, within bounds.

Agents label their bodies inconsistently (GLPI Agent: `application/x-compress-zlib`, OCS:
`application/x-compress`, `--no-compression`: `application/json` or `application/xml`), so the
encoding is read from the first bytes, never from the Content-Type header. The answer goes back in
the same encoding: FusionInventory and OCS decode answers by their bytes, GLPI Agent by the
Content-Type of the answer (see `reply_content_type`).
"""

from __future__ import annotations

import gzip
import zlib
from typing import Literal

from collectors.agents.records import Encoding, Protocol

MAX_BODY_BYTES = 8 * 1024 * 1024  # what an agent may POST, compressed or not
MAX_DECODED_BYTES = 32 * 1024 * 1024  # what a compressed body may expand to

# zlib's two header bytes: CMF 0x78 (deflate, 32 KiB window) and a FLG per compression level.
_ZLIB_HEADERS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_CHUNK_BYTES = 1024 * 1024


class AgentMessageError(Exception):
    """A body kiemke refuses. `status` is the HTTP status to answer with:
    400 malformed (bad compression, not JSON/XML, not an agent message), 413 too large,
    415 neither zlib, gzip, JSON nor XML.

    The message never quotes the body: at most a hint of its first bytes as hex.
    `encoding` is the body's compression and `protocol` JSON or XML, when they were recognised,
    so the error answer can go back the same way.
    """

    def __init__(self, status: int, message: str, *, encoding: Encoding | None = None, protocol: Protocol | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.encoding = encoding
        self.protocol = protocol

    def __str__(self) -> str:
        return self.message


def detect_encoding(body: bytes) -> Encoding:
    """The compression of `body`, from its first bytes.

    >>> detect_encoding(zlib.compress(b"{}"))
    'zlib'
    >>> detect_encoding(b'  {"action": "contact"}')
    'plain'
    """
    if body[:2] in _ZLIB_HEADERS:
        return "zlib"
    if body[:2] == _GZIP_MAGIC:
        return "gzip"
    text = body.removeprefix(_UTF8_BOM).lstrip()
    if text[:1] in (b"{", b"<"):
        return "plain"
    raise AgentMessageError(415, f"body is neither zlib, gzip, JSON nor XML (it starts with bytes {_hex_hint(body)})")


def decode_body(body: bytes) -> tuple[bytes, Encoding]:
    """`body` uncompressed, and how it was compressed. Raises AgentMessageError."""
    if not body:
        raise AgentMessageError(400, "empty body")
    if len(body) > MAX_BODY_BYTES:
        raise AgentMessageError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    encoding = detect_encoding(body)
    if encoding == "plain":
        return body, encoding
    # wbits: 15 = zlib header and trailer, 31 = gzip header and trailer (RFC 1950 / 1952).
    inflater = zlib.decompressobj(wbits=15 if encoding == "zlib" else 31)
    chunks: list[bytes] = []
    size = 0
    pending = body
    try:
        # A chunk at a time, each bounded by max_length: a zip bomb stops at the limit and never
        # allocates what it announces.
        while not inflater.eof:
            room = MAX_DECODED_BYTES - size
            chunk = inflater.decompress(pending, min(_CHUNK_BYTES, room + 1))
            pending = inflater.unconsumed_tail
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_DECODED_BYTES:
                raise AgentMessageError(413, f"body decompresses to more than {MAX_DECODED_BYTES} bytes", encoding=encoding)
            if not chunk and not pending:
                break  # all input used and no end of stream: truncated
    except zlib.error:
        raise AgentMessageError(400, f"body looks {encoding}-compressed but does not decompress", encoding=encoding) from None
    if not inflater.eof:
        raise AgentMessageError(400, f"{encoding} stream is truncated", encoding=encoding)
    if inflater.unused_data:
        raise AgentMessageError(400, f"data after the end of the {encoding} stream", encoding=encoding)
    return b"".join(chunks), encoding


def encode_reply(payload: bytes, encoding: Encoding) -> bytes:
    """`payload` compressed the way the request was.

    zlib at the default level 6, because its header `78 9C` is what the agents' byte sniffing
    looks for (GLPI Agent's OCS client matches exactly that).
    """
    if encoding == "zlib":
        return zlib.compress(payload, 6)
    if encoding == "gzip":
        return gzip.compress(payload, mtime=0)
    return payload


def reply_content_type(encoding: Encoding, kind: Literal["json", "xml"]) -> str:
    """The Content-Type of an answer: GLPI Agent picks its decoder by it (zlib, gzip or JSON)."""
    if encoding == "zlib":
        return "application/x-compress-zlib"
    if encoding == "gzip":
        return "application/x-compress-gzip"
    return "application/json" if kind == "json" else "application/xml"


def _hex_hint(body: bytes) -> str:
    """The first bytes as hex: enough to tell a format, nothing of the content."""
    return body[:4].hex(" ") or "(none)"
