"""What travels between a collector and the hub, and how it is signed.

Three signed documents share one frame (an HTTP body or a file; text header, then the payload):

    <MAGIC>\\n<signer>\\n<Ed25519 signature of the payload, base64>\\n<payload>

- batches (`BATCHES`): a collector's results, gzip-compressed JSON, signed by the collector.
  The same bytes go up over HTTPS (`POST /api/collector/batches`) or across an air gap in a file
  (`kiemke collector export`). The envelope:
      {"format": "kiemke-collector-batches/1", "collector": NAME, "sent_at": ISO,
       "status": {"acked_seq": N, "pending": N, "oldest_unacked_at": ISO|null, "dropped": N},
       "batches": [{"seq": N, "kind": "poll"|"discover"|"agent", "created_at": ISO, "body": {...}}]}
  A poll or discovery body: {"run": {"kind", "params", "started_at", "finished_at", "status"},
  "outcomes": [collectors.outcome_json]}; an agent body: {"agent_id", "received_at", "message":
  the agent's message, base64 (as it arrived, decompressed)}.
- an assignment (`ASSIGNMENT`), JSON signed by the hub: which site, zone, subnets and devices,
  the devices' credentials sealed to the collector, policy and rule-pack versions;
- an acknowledgement (`ACK`), JSON signed by the hub: the highest batch number received without a
  gap, and which batches were refused and why.

The signature is checked before anything is decompressed or parsed, and decompression is bounded,
so an unsigned or foreign file costs nothing but the check.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

BATCHES = "KIEMKE-COLLECTOR-BATCHES/1"
ASSIGNMENT = "KIEMKE-COLLECTOR-ASSIGNMENT/1"
ACK = "KIEMKE-COLLECTOR-ACK/1"
BATCHES_FORMAT = "kiemke-collector-batches/1"
ASSIGNMENT_FORMAT = "kiemke-collector-assignment/1"
ACK_FORMAT = "kiemke-collector-ack/1"
KINDS = ("poll", "discover", "agent")

MAX_FRAME_BYTES = 256 * 1024 * 1024  # one upload or air-gap file, compressed
MAX_INFLATED_BYTES = 1024 * 1024 * 1024  # what a batches payload may inflate to
MAX_HEADER_LINE = 200


class WireError(ValueError):
    """A frame or document that is not what it claims: one line for the user, no secret in it."""


@dataclass(frozen=True)
class Frame:
    magic: str
    signer: str
    signature: str
    payload: bytes

    def to_bytes(self) -> bytes:
        return f"{self.magic}\n{self.signer}\n{self.signature}\n".encode() + self.payload


def read_frame(data: bytes, magic: str, *, what: str) -> Frame:
    """The frame's parts; its signature is the caller's to check (against the right key)."""
    if len(data) > MAX_FRAME_BYTES:
        raise WireError(f"{what}: larger than {MAX_FRAME_BYTES // (1024 * 1024)} MiB")
    parts = data.split(b"\n", 3)
    if len(parts) != 4 or any(len(p) > MAX_HEADER_LINE for p in parts[:3]):
        raise WireError(f"{what}: not a kiemke collector file ({magic} expected)")
    try:
        head, signer, signature = (p.decode("ascii") for p in parts[:3])
    except UnicodeDecodeError:
        raise WireError(f"{what}: not a kiemke collector file ({magic} expected)") from None
    if head != magic:
        raise WireError(f"{what}: not a kiemke collector file of this kind ({magic} expected, {head[:40]!r} found)")
    return Frame(head, signer, signature, parts[3])


def _json_bytes(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_iso).encode()


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


# -- batches ----------------------------------------------------------------------------------


def pack_batches(collector: str, batches: list[dict], status: dict, sent_at: datetime) -> bytes:
    """The payload of a batches frame (gzip of the envelope); sign it, then frame it."""
    envelope = {"format": BATCHES_FORMAT, "collector": collector, "sent_at": sent_at, "status": status, "batches": batches}
    return gzip.compress(_json_bytes(envelope), compresslevel=6, mtime=0)


def inflate(payload: bytes, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """gzip payload inflated a chunk at a time: a bomb stops at `limit`."""
    inflater = zlib.decompressobj(wbits=31)
    out = bytearray()
    try:
        chunk = inflater.decompress(payload, 1024 * 1024)
        while True:
            out += chunk
            if len(out) > limit:
                raise WireError(f"the batches inflate to more than {limit // (1024 * 1024)} MiB")
            if not inflater.unconsumed_tail:
                break
            chunk = inflater.decompress(inflater.unconsumed_tail, 1024 * 1024)
    except zlib.error:
        raise WireError("the batches are not valid gzip data") from None
    if not inflater.eof:
        raise WireError("the batches are cut short")
    return bytes(out)


def unpack_batches(payload: bytes, collector: str) -> dict:
    """The envelope of a signed (already verified) batches payload, its shape checked."""
    try:
        envelope = json.loads(inflate(payload))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise WireError("the batches are not JSON") from None
    if not isinstance(envelope, dict) or envelope.get("format") != BATCHES_FORMAT:
        raise WireError(f"the batches are not of format {BATCHES_FORMAT}")
    if envelope.get("collector") != collector:
        raise WireError("the batches name another collector than the one that signed them")
    batches = envelope.get("batches")
    if not isinstance(batches, list):
        raise WireError("the batches are missing")
    for batch in batches:
        if not isinstance(batch, dict) or type(batch.get("seq")) is not int or batch["seq"] < 1:
            raise WireError("a batch without a positive number")
        if batch.get("kind") not in KINDS or not isinstance(batch.get("body"), dict) or not isinstance(batch.get("created_at"), str):
            raise WireError(f"batch {batch['seq']}: kind, body or time missing")
        parse_time(batch["created_at"], f"batch {batch['seq']}")
    if not isinstance(envelope.get("status"), dict):
        envelope["status"] = {}
    return envelope


def parse_time(text: Any, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise WireError(f"{what}: not an ISO time") from None
    if moment.tzinfo is None:
        raise WireError(f"{what}: a time without its zone")
    return moment


# -- assignment and acknowledgement (JSON signed by the hub) ----------------------------------------


def pack_json(document: dict) -> bytes:
    return _json_bytes(document)


def unpack_json(payload: bytes, expected_format: str, what: str) -> dict:
    if len(payload) > 64 * 1024 * 1024:
        raise WireError(f"{what}: too large")
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise WireError(f"{what}: not JSON") from None
    if not isinstance(document, dict) or document.get("format") != expected_format:
        raise WireError(f"{what}: not of format {expected_format}")
    return document
