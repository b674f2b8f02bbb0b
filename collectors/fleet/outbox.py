"""A collector's outbox: every result it stores also waits here, numbered, until the hub
acknowledges it (collector side; the hub's half is collectors/fleet/receive.py).

An entry is written in the same transaction as the collector's own data, and its number is taken
there too (an UPDATE of `collector_identity.next_seq`, which holds the write lock until the
commit): a transaction that rolls back hands out no number, so the numbers the hub sees have no
gap it would wait for forever.

The outbox is bounded (KIEMKE_OUTBOX_MAX_MB of compressed bodies, 512 by default). At the cap the
OLDEST results are kept and new ones are not queued: each one is counted in `dropped` (with the
time of the first, `dropped_since`) and logged, and both travel in every status to the hub. Old
results are kept rather than new ones because the hub cannot ask again for a gap in the past,
while the next poll repeats the present.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import zlib
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from collectors.outcome_json import outcome_to_json
from collectors.runner import Outcome
from inventory.models import CollectorIdentity, OutboxEntry, ScanRun, utcnow
from inventory.settings import get_settings

log = logging.getLogger("kiemke.collector")

IDENTITY_ID = 1
RUN_KINDS = {"poll": "poll", "discover": "discover"}  # scan run kind -> batch kind (others stay local)


def identity(session: Session, *, for_update: bool = False) -> CollectorIdentity | None:
    """This database's collector identity, or None when it is not a collector's."""
    query = select(CollectorIdentity).where(CollectorIdentity.id == IDENTITY_ID)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def cap_bytes() -> int:
    return get_settings().outbox_max_mb * 1024 * 1024


def _encode(body: dict) -> bytes:
    # Dates (software install dates in facts) as ISO text, like the scan bundles.
    return zlib.compress(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=lambda v: v.isoformat()).encode(), 6)


def pending_bytes(session: Session) -> int:
    return int(session.execute(select(func.coalesce(func.sum(OutboxEntry.size_bytes), 0))).scalar_one())


def append(session: Session, kind: str, body: dict[str, Any], *, limit_bytes: int | None = None) -> int | None:
    """Queue one result in the caller's transaction; its number, or None when this database is
    not a collector's or the outbox is at its cap (then counted in `dropped`)."""
    if session.get(CollectorIdentity, IDENTITY_ID) is None:
        return None
    data = _encode(body)
    limit = cap_bytes() if limit_bytes is None else limit_bytes
    if pending_bytes(session) + len(data) > limit:
        session.execute(update(CollectorIdentity).where(CollectorIdentity.id == IDENTITY_ID).values(dropped=CollectorIdentity.dropped + 1))
        session.execute(update(CollectorIdentity).where(CollectorIdentity.id == IDENTITY_ID, CollectorIdentity.dropped_since.is_(None)).values(dropped_since=utcnow()))
        log.warning("collector outbox full (%d MiB): a %s result was not queued; the oldest results are kept until the hub acknowledges them", limit // (1024 * 1024), kind)
        return None
    # The UPDATE takes the write lock (SQLite) or the row lock (PostgreSQL) until the commit: two
    # writers cannot take the same number, and a rollback gives the number back.
    session.execute(update(CollectorIdentity).where(CollectorIdentity.id == IDENTITY_ID).values(next_seq=CollectorIdentity.next_seq + 1))
    seq = session.execute(select(CollectorIdentity.next_seq).where(CollectorIdentity.id == IDENTITY_ID)).scalar_one() - 1
    session.add(OutboxEntry(seq=seq, kind=kind, body=data, size_bytes=len(data)))
    session.flush()
    return seq


def run_body(scan_run: ScanRun, outcomes: list[Outcome]) -> dict:
    params = {k: v for k, v in (scan_run.params or {}).items() if k != "owner"}  # the owner is this machine's pid
    run = {"kind": scan_run.kind, "params": params, "started_at": scan_run.started_at, "finished_at": scan_run.finished_at, "status": scan_run.status}
    return {"run": run, "outcomes": [outcome_to_json(o) for o in outcomes]}


def record_run(session: Session, scan_run: ScanRun, outcomes: list[Outcome]) -> int | None:
    """The hook of collectors.service._finish_run: a poll's or discovery's outcomes into the
    outbox, in the run's own transaction. Nothing on a database that is not a collector's."""
    kind = RUN_KINDS.get(scan_run.kind)
    me = session.get(CollectorIdentity, IDENTITY_ID) if kind else None
    if me is None:
        return None
    return append(session, kind, run_body(scan_run, _inside_assignment(me, outcomes)))


def _inside_assignment(me: CollectorIdentity, outcomes: list[Outcome]) -> list[Outcome]:
    """Only outcomes of addresses inside the assigned subnets go to the hub: it refuses a whole
    batch for one target outside them (a device recorded with an address outside its zone's
    subnets, a machine an agent placed elsewhere), which would hold back every other result."""
    subnets = (me.assignment or {}).get("subnets")
    if not isinstance(subnets, list):
        return outcomes  # no assignment taken (set up by hand): nothing to check against
    networks = [ipaddress.ip_network(c, strict=False) for c in subnets]
    kept = [o for o in outcomes if _inside(o.target.address, networks)]
    if len(kept) != len(outcomes):
        left = sorted({o.target.address for o in outcomes} - {o.target.address for o in kept})
        log.warning("%d results outside the assigned subnets are kept here, not sent to the hub: %s", len(left), ", ".join(left[:5]) + (" ..." if len(left) > 5 else ""))
    return kept


def _inside(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def pending(session: Session, max_bytes: int, *, max_inflated: int | None = None) -> list[dict]:
    """Entries not yet acknowledged, in number order, as batches of the wire envelope: as many
    as fit in `max_bytes` of compressed bodies and, if given, `max_inflated` bytes of JSON (the
    hub inflates a frame up to a bound of its own); always at least one, so a big one still goes."""
    # Numbers and sizes first: a full outbox is hundreds of MiB, and only what fits is read.
    upto, total = None, 0
    for seq, size in session.execute(select(OutboxEntry.seq, OutboxEntry.size_bytes).order_by(OutboxEntry.seq)):
        if upto is not None and total + size > max_bytes:
            break
        upto, total = seq, total + size
    if upto is None:
        return []
    batches: list[dict] = []
    inflated = 0
    for entry in session.execute(select(OutboxEntry).where(OutboxEntry.seq <= upto).order_by(OutboxEntry.seq)).scalars():
        text = zlib.decompress(entry.body)
        inflated += len(text)
        if batches and max_inflated is not None and inflated > max_inflated:
            break
        batches.append({"seq": entry.seq, "kind": entry.kind, "created_at": entry.created_at.isoformat(), "body": json.loads(text)})
    return batches


def acknowledge(session: Session, upto: int) -> int:
    """The hub has every entry up to `upto`: they leave the outbox. Returns how many left."""
    me = identity(session, for_update=True)
    if me is None:
        raise ValueError("this database is not a collector's (run `kiemke collector init`)")
    issued = me.next_seq - 1
    if upto > issued:
        # The hub counts further than this collector ever did (its database was made anew under
        # a registered name): only what exists here can be acknowledged.
        log.warning("the hub acknowledges up to %d, but this collector has numbered only up to %d", upto, issued)
        upto = issued
    if upto <= me.acked_seq:
        return 0
    removed = session.execute(delete(OutboxEntry).where(OutboxEntry.seq <= upto)).rowcount
    me.acked_seq = upto
    return removed or 0


def status(session: Session) -> dict:
    """What the collector tells the hub about its outbox with every contact."""
    me = identity(session)
    count, oldest, size = session.execute(select(func.count(), func.min(OutboxEntry.created_at), func.coalesce(func.sum(OutboxEntry.size_bytes), 0))).one()
    return {
        "acked_seq": me.acked_seq if me else 0,
        "pending": int(count),
        "oldest_unacked_at": _iso(oldest),
        "dropped": me.dropped if me else 0,
        "dropped_since": _iso(me.dropped_since) if me else None,
        "pending_bytes": int(size),
        "assignment_version": me.assignment_version if me else 0,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
