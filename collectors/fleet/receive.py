"""Results from a collector, received by the hub: over HTTPS (`POST /api/collector/batches`) or
in an air-gap file (`kiemke import-collector`, the import page's upload) — the same frame.

In this order, so that a foreign or altered frame costs nothing but the check:
1. the frame's signer is looked up: an unknown or revoked collector is refused;
2. the signature is verified against its registered key before anything is inflated or parsed;
3. each batch not stored yet ((collector, seq) is unique) is stored `queued`, with the
   collector's contact and the highest number up to which every batch is stored (`acked_seq`),
   in one transaction;
4. each stored batch is applied (collectors.fleet.apply): in this process after the commit, or,
   on PostgreSQL with workers, as the job `apply_collector_batch` enqueued in that transaction.
A refused frame writes nothing but the security event collector_refused and a log line (the
collector's name and the reason; never the frame's content).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from collectors.fleet import wire
from collectors.fleet.apply import apply_received, raise_refused
from collectors.fleet.assign_give import HUB_SIGNER
from collectors.fleet.identity import IdentityError, check_name, hub_key, hub_public, hub_sign, verify
from collectors.fleet.registry import ACTIVE
from inventory import audit, db
from inventory.models import Collector, CollectorBatch, utcnow
from inventory.settings import Settings

log = logging.getLogger("kiemke.collectors.fleet")

VIAS = ("https", "file")
STORE_ATTEMPTS = 3  # two uploads of the same batches at once: the loser of the unique key stores again


class Refused(Exception):
    """A whole frame refused. `status`: the HTTP answer (401 not signed by a registered key, 403
    signed but not allowed, 400 malformed). The message is one line for the sender."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Receipt:
    collector: str
    acked_seq: int
    stored: int = 0
    duplicates: int = 0
    applied: int = 0
    queued: int = 0  # stored, to be applied by a worker
    refused: list[dict] = field(default_factory=list)  # {"seq", "reason"}
    via: str = "https"

    def as_dict(self) -> dict:
        return {"acked_seq": self.acked_seq, "stored": self.stored, "duplicates": self.duplicates, "refused": self.refused}

    def line(self) -> str:
        text = (f"collector {self.collector}: {self.stored} batches stored ({self.applied} applied, {self.queued} queued for workers), "
                f"{self.duplicates} already received; acknowledged up to #{self.acked_seq}")  # fmt: skip
        if self.refused:
            shown = "; ".join(f"#{r['seq']}: {r['reason']}" for r in self.refused[:5])
            text += f"\n{len(self.refused)} refused: {shown}" + (" ..." if len(self.refused) > 5 else "")
        return text


def _refuse(engine: Engine, reason: str, *, via: str, signer: str, frame: bytes, collector: Collector | None = None, status: int = 403) -> Refused:
    """Log and raise the security event of a refused frame; the exception to raise."""
    shown = signer if _is_name(signer) else "?"
    log.warning("collector frame refused (%s, signer %s): %s", via, shown, reason)
    key = f"collector_refused:frame:{hashlib.sha256(frame).hexdigest()[:40]}"
    raise_refused(engine, key, site_id=collector.site_id if collector else None,
                  data={"collector": shown, "via": via, "reason": reason, "bytes": len(frame)})  # fmt: skip
    return Refused(reason, status)


def _is_name(text: str) -> bool:
    try:
        check_name(text)
    except IdentityError:
        return False
    return True


def authenticate(engine: Engine, data: bytes, magic: str, *, via: str, what: str) -> tuple[wire.Frame, Collector]:
    """The frame and its active collector, the signature verified; Refused (with its event) otherwise."""
    try:
        frame = wire.read_frame(data, magic, what=what)
    except wire.WireError as exc:
        raise _refuse(engine, str(exc), via=via, signer="?", frame=data[:4096], status=400) from None
    collector = None
    if _is_name(frame.signer):
        with db.session_scope(engine) as session:
            collector = session.execute(select(Collector).where(Collector.name == frame.signer)).scalar_one_or_none()
            if collector is not None:
                session.expunge(collector)
    if collector is None:
        raise _refuse(engine, "not signed by a registered collector", via=via, signer=frame.signer, frame=data, status=401)
    if collector.status != ACTIVE:
        raise _refuse(engine, f"collector {collector.name} is revoked", via=via, signer=frame.signer, frame=data, collector=collector, status=403)
    if not verify(collector.signing_key, frame.payload, frame.signature):
        raise _refuse(engine, f"the signature is not collector {collector.name}'s (altered or forged)", via=via, signer=frame.signer, frame=data,
                      collector=collector, status=401)  # fmt: skip
    return frame, collector


def _status_time(status: dict) -> datetime | None:
    try:
        return wire.parse_time(status.get("oldest_unacked_at"), "oldest_unacked_at") if status.get("oldest_unacked_at") else None
    except wire.WireError:
        return None


def _count(status: dict, key: str) -> int | None:
    value = status.get(key)
    return value if type(value) is int and value >= 0 else None


def contact(collector: Collector, status: dict, via: str) -> None:
    """What the collector said about its outbox, kept for coverage."""
    collector.last_contact_at = utcnow()
    collector.last_contact_via = via
    collector.reported_pending = _count(status, "pending")
    collector.oldest_unacked_at = _status_time(status)
    collector.reported_dropped = _count(status, "dropped") or 0


def contiguous(session: Session, collector: Collector) -> int:
    """The highest number up to which every batch of the collector is stored."""
    acked = collector.acked_seq
    later = session.execute(select(CollectorBatch.seq).where(CollectorBatch.collector_id == collector.id, CollectorBatch.seq > acked).order_by(CollectorBatch.seq))
    for seq in later.scalars():
        if seq != acked + 1:
            break
        acked = seq
    return acked


def _defer(session: Session, settings: Settings, collector_id: int, batch_ids: list[int]) -> bool:
    """On PostgreSQL with workers: the batches' apply jobs enqueued in this transaction, and True
    (workers apply every batch, also one a retried job still holds). False: this process applies.
    One lock per collector: its batches are applied one at a time, in the order they were stored
    (an older result never lands after a newer one); other collectors' go on beside them."""
    if settings.jobs != "workers" or session.get_bind().dialect.name != "postgresql":
        return False
    try:
        from collectors.work.queue import INGEST_QUEUE, JobToDefer, defer_many_in_transaction
    except ImportError:
        return False
    defer_many_in_transaction(session, [JobToDefer("apply_collector_batch", {"batch_id": b}, queue=INGEST_QUEUE, lock=f"collector:{collector_id}") for b in batch_ids])
    return True


def _store(engine: Engine, settings: Settings, collector_id: int, envelope: dict, via: str, actor: str) -> tuple[Receipt, list[int], bool]:
    with db.session_scope(engine) as session:
        query = select(Collector).where(Collector.id == collector_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()  # one upload of a collector at a time
        collector = session.execute(query).scalar_one()
        receipt = Receipt(collector.name, collector.acked_seq, via=via)
        seqs = sorted({b["seq"] for b in envelope["batches"]})
        held = set(session.execute(select(CollectorBatch.seq).where(CollectorBatch.collector_id == collector.id, CollectorBatch.seq.in_(seqs))).scalars()) if seqs else set()
        new_ids = []
        seen: set[int] = set()
        for batch in envelope["batches"]:
            seq = batch["seq"]
            if seq in held or seq in seen or seq <= collector.acked_seq:
                receipt.duplicates += 1
                continue
            seen.add(seq)
            size = len(wire.pack_json(batch["body"]))
            row = CollectorBatch(collector_id=collector.id, seq=seq, kind=batch["kind"], created_at=wire.parse_time(batch["created_at"], f"batch {seq}"),
                                 received_via=via, body=batch["body"], body_bytes=size)  # fmt: skip
            session.add(row)
            session.flush()
            new_ids.append(row.id)
            receipt.stored += 1
        contact(collector, envelope.get("status") or {}, via)
        collector.acked_seq = contiguous(session, collector)
        receipt.acked_seq = collector.acked_seq
        # Batches left queued by an earlier apply that did not finish (in process) are applied too.
        waiting = list(session.execute(select(CollectorBatch.id).where(CollectorBatch.collector_id == collector.id, CollectorBatch.status == "queued").order_by(CollectorBatch.seq)).scalars())
        deferred = _defer(session, settings, collector.id, new_ids)
        if via == "file":  # a person carried it in: the audit log says who, and what it held
            audit.record(session, actor[:100], "import", "collector_batches", collector.id,
                         after={"collector": collector.name, "stored": receipt.stored, "duplicates": receipt.duplicates, "acked_seq": receipt.acked_seq})  # fmt: skip
    return receipt, ([] if deferred else waiting), deferred


def receive(engine: Engine, settings: Settings, frame_bytes: bytes, *, via: str, actor: str) -> Receipt:
    """Store and apply a collector's batches frame; a Receipt, or Refused for the whole frame."""
    if via not in VIAS:
        raise ValueError(f"via must be one of {VIAS}")
    frame, collector = authenticate(engine, frame_bytes, wire.BATCHES, via=via, what="collector batches")
    try:
        envelope = wire.unpack_batches(frame.payload, collector.name)
    except wire.WireError as exc:
        raise _refuse(engine, str(exc), via=via, signer=frame.signer, frame=frame_bytes, collector=collector, status=400) from None
    for attempt in range(STORE_ATTEMPTS):
        try:
            receipt, to_apply, deferred = _store(engine, settings, collector.id, envelope, via, actor)
            break
        except IntegrityError:
            if attempt == STORE_ATTEMPTS - 1:
                raise
    log.info("collector %s (%s, by %s): %d batches stored, %d duplicates, acknowledged up to #%d", collector.name, via, actor, receipt.stored,
             receipt.duplicates, receipt.acked_seq)  # fmt: skip
    for batch_id in to_apply:
        done = apply_received(engine, batch_id)
        receipt.applied += done == "applied"
    if deferred:
        receipt.queued = receipt.stored
    frame_seqs = sorted({b["seq"] for b in envelope["batches"]})
    if frame_seqs:
        with db.session_scope(engine) as session:
            rows = session.execute(
                select(CollectorBatch.seq, CollectorBatch.error).where(CollectorBatch.collector_id == collector.id, CollectorBatch.seq.in_(frame_seqs),
                                                                      CollectorBatch.status == "refused").order_by(CollectorBatch.seq)
            )  # fmt: skip
            receipt.refused = [{"seq": seq, "reason": error or "refused"} for seq, error in rows]
    return receipt


def write_ack(settings: Settings, receipt: Receipt, collector: str | Collector) -> bytes:
    """The acknowledgement frame for the collector, signed by the hub: it deletes every result up to
    acked_seq from its outbox (the refused ones too: they will never be taken)."""
    name = collector.name if isinstance(collector, Collector) else collector
    key = hub_key(settings)
    document = {"format": wire.ACK_FORMAT, "collector": name, "acked_seq": receipt.acked_seq, "refused": receipt.refused, "issued_at": utcnow(),
                "hub_key": hub_public(key)}  # fmt: skip
    payload = wire.pack_json(document)
    return wire.Frame(wire.ACK, HUB_SIGNER, hub_sign(key, payload), payload).to_bytes()
