"""A stored collector batch applied to the hub's inventory, exactly once.

The batch row is read and moved from `queued` to applied, refused or failed in the same
transaction as the data it brings, so a batch applied twice (two workers, a retried job, an
upload repeated while the first is applied) changes the inventory once.

What a collector may say is bounded by its registration, never by the batch:
- a poll or discovery: every target's address must lie in the subnets of the collector's zone
  (one outside refuses the whole batch, with the security event collector_refused); the targets
  get the registration's site and zone, and the recorded device at that address in that zone;
  then the hub's own path: a scan run ("collector-poll", "collector-discover"), the Reconciler,
  the events of discovered devices and failed runs, the evaluation of what it touched;
- an agent report: the agents' own storing (collectors.agents.store), as reported by the agents
  of the collector's site and zone; an address of the machine in another zone's subnets refuses it.
The body is cleared once the batch is applied or refused (the hub's database stays bounded).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import logging
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from collectors.agents import messages
from collectors.agents.store import AgentRefused, store_report
from collectors.agents.wire import AgentMessageError
from collectors.fleet import wire
from collectors.outcome_json import DamagedOutcome, outcome_from_json
from collectors.reconcile import Reconciler
from collectors.runner import Outcome
from compliance import events
from inventory import db
from inventory.changes import changed
from inventory.models import AgentAccount, Collector, CollectorBatch, Device, ScanOutcome, ScanRun, Site, Subnet, Zone, utcnow
from inventory.repository import zone_subnets

log = logging.getLogger("kiemke.collectors.fleet")

RUN_KINDS = {"poll": "collector-poll", "discover": "collector-discover"}
RUN_STATUSES = ("ok", "partial", "failed")


class BatchRefused(Exception):
    """The batch breaks its collector's registration (or is damaged): refused whole, with its reason."""


def raise_refused(engine: Engine, key: str, *, site_id: int | None, data: dict) -> int:
    return events.raise_collector_refused(engine, key, site_id=site_id, data=data)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _networks(session: Session, zone_id: int) -> list:
    return [ipaddress.ip_network(c, strict=False) for c in zone_subnets(session).get(zone_id, [])]


def _inside(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def _run_time(text, fallback: datetime) -> datetime:
    try:
        return min(_as_utc(wire.parse_time(text, "run time")), utcnow())  # a collector's clock ahead of the hub's is not believed
    except wire.WireError:
        return fallback


def _apply_run(session: Session, batch: CollectorBatch, collector: Collector, site: Site, zone: Zone) -> tuple[ScanRun, list[Outcome]]:
    body = batch.body or {}
    items = body.get("outcomes")
    if not isinstance(items, list):
        raise BatchRefused("damaged batch: no outcomes")
    try:
        outcomes = [outcome_from_json(item) for item in items]
    except DamagedOutcome as exc:
        raise BatchRefused(f"damaged batch: {exc}") from None
    networks = _networks(session, zone.id)
    outside = [o.target.address for o in outcomes if not _inside(o.target.address, networks)]
    if outside:
        shown = ", ".join(outside[:5]) + (" ..." if len(outside) > 5 else "")
        raise BatchRefused(f"{len(outside)} target(s) outside the subnets of {site.code} {zone.kind}: {shown}")
    # Site and zone from the registration; the device recorded at that address in that zone.
    recorded = dict(session.execute(select(Device.mgmt_ip, Device.id).where(Device.zone_id == zone.id, Device.mgmt_ip.is_not(None))).all())
    outcomes = [replace(o, target=replace(o.target, site_code=site.code, zone=zone.kind, device_id=recorded.get(o.target.address))) for o in outcomes]
    run_info = body.get("run") if isinstance(body.get("run"), dict) else {}
    collected_at = _run_time(run_info.get("finished_at"), _as_utc(batch.created_at))
    scan_run = ScanRun(
        kind=RUN_KINDS[batch.kind], site_id=site.id, started_at=_run_time(run_info.get("started_at"), collected_at), triggered_by=f"collector:{collector.name}"[:100],
        params={"collector": collector.name, "seq": batch.seq, "collected_at": collected_at.isoformat(), "zone": zone.kind,
                "params": run_info.get("params") if isinstance(run_info.get("params"), dict) else {}},
    )  # fmt: skip
    session.add(scan_run)
    session.flush()
    summary = Reconciler(session, scan_run, now=collected_at).apply(outcomes)
    # A device matched by its serial or MACs may be recorded elsewhere: a collector writes only its own zone's devices.
    stray = session.execute(
        select(Device.id).join(ScanOutcome, ScanOutcome.device_id == Device.id).where(ScanOutcome.scan_run_id == scan_run.id, or_(Device.zone_id.is_(None), Device.zone_id != zone.id))
    ).scalars().first()  # fmt: skip
    if stray is not None:
        raise BatchRefused(f"a result names device #{stray}, recorded outside {site.code} {zone.kind}")
    scan_run.finished_at = utcnow()
    computed = "ok" if summary.failed == 0 else "partial" if summary.ok else "failed"
    scan_run.status = run_info.get("status") if batch.kind == "discover" and run_info.get("status") in RUN_STATUSES else computed
    scan_run.summary = summary.as_dict() | {"devices": len(outcomes), "collector": collector.name}
    return scan_run, outcomes


def _apply_agent(session: Session, batch: CollectorBatch, collector: Collector, site: Site, zone: Zone) -> int:
    body = batch.body or {}
    try:
        raw = base64.b64decode(str(body.get("message", "")).encode(), validate=True)
    except (binascii.Error, ValueError):
        raise BatchRefused("damaged batch: the agent's message is not base64") from None
    agent_id = body.get("agent_id") if isinstance(body.get("agent_id"), str) else None
    try:
        message, _encoding = messages.read_message(raw, agent_id_header=agent_id)
    except AgentMessageError as exc:
        raise BatchRefused(f"damaged agent report: {exc}") from None
    if not isinstance(message, messages.Inventory):
        raise BatchRefused("not an agent inventory")
    report = message.report
    own = _networks(session, zone.id)
    others = [ipaddress.ip_network(c, strict=False) for z, c in session.execute(select(Subnet.zone_id, Subnet.cidr)) if z != zone.id]
    foreign = [a for a in report.addresses if _inside(a, others) and not _inside(a, own)]
    if foreign:
        raise BatchRefused(f"the machine's addresses {', '.join(foreign[:5])} are outside the subnets of {site.code} {zone.kind}")
    # The collector's agents report as one account of its site and zone (kept in no table: it
    # exists only here; the machine's rows record no account).
    account = AgentAccount(name=f"collector {collector.name}"[:64], site_id=site.id, zone_kind=zone.kind, password_hash="")
    try:
        stored = store_report(session, report, account, content_sha256=hashlib.sha256(raw).hexdigest(), online=True)
    except AgentRefused as exc:
        raise BatchRefused(f"agent report refused: {exc}") from None
    device = session.get(Device, stored.device_id)
    if device.zone_id != zone.id:
        raise BatchRefused(f"the machine is device #{device.id}, recorded outside {site.code} {zone.kind}")
    return stored.device_id if (stored.created or stored.changed) else 0


def _mark(engine: Engine, batch_id: int, status: str, error: str) -> None:
    with db.session_scope(engine) as session:
        batch = session.get(CollectorBatch, batch_id)
        if batch is not None and batch.status == "queued":
            batch.status, batch.error, batch.applied_at = status, error[:2000], utcnow()
            if status == "refused":
                batch.body = None


def apply_received(engine: Engine, batch_id: int) -> str:
    """Apply one stored batch; what became of it: "applied", "refused", "failed", or "done" when it
    was not queued (applied before: nothing changes)."""
    touched_devices: set[int] = set()
    scan_run_id = None
    try:
        with db.session_scope(engine) as session:
            query = select(CollectorBatch).where(CollectorBatch.id == batch_id)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update()  # a second worker on the same batch waits, then finds it applied
            batch = session.execute(query).scalar_one_or_none()
            if batch is None or batch.status != "queued":
                return "done"
            collector = session.get(Collector, batch.collector_id)
            site = session.get(Site, collector.site_id)
            zone = session.execute(select(Zone).where(Zone.site_id == site.id, Zone.kind == collector.zone_kind)).scalar_one_or_none()
            name, site_id, seq, kind = collector.name, site.id, batch.seq, batch.kind
            if zone is None:
                raise BatchRefused(f"site {site.code} has no {collector.zone_kind} zone")
            if batch.kind in RUN_KINDS:
                scan_run, _ = _apply_run(session, batch, collector, site, zone)
                scan_run_id, run_status, created = scan_run.id, scan_run.status, bool(scan_run.summary.get("created"))
                batch.scan_run_id = scan_run.id
            else:
                device_id = _apply_agent(session, batch, collector, site, zone)
                touched_devices = {device_id} if device_id else set()
            batch.status, batch.applied_at, batch.body = "applied", utcnow(), None
    except BatchRefused as exc:
        reason = str(exc)
        _mark(engine, batch_id, "refused", reason)
        log.warning("collector %s batch #%d refused: %s", name, seq, reason)
        raise_refused(engine, f"collector_refused:batch:{batch_id}", site_id=site_id, data={"collector": name, "seq": seq, "kind": kind, "reason": reason})
        return "refused"
    except (OperationalError, InterfaceError):
        raise  # transient: the batch stays queued (a worker's job is retried; in process, the next upload applies it)
    except Exception as exc:  # a bug or a value the checks let through: the batch is kept for an admin, the rest goes on)
        log.exception("collector batch %d not applied", batch_id)
        _mark(engine, batch_id, "failed", f"{type(exc).__name__}")
        return "failed"
    # After the commit, as after the hub's own runs: events, then the evaluation of what changed.
    if scan_run_id is not None:
        if created:
            events.raise_discovered_devices(engine, scan_run_id)
        if run_status == "failed":
            events.raise_run_failed(engine, scan_run_id)
        from collectors.service import RunResult, _evaluate_touched

        _evaluate_touched(engine, RunResult(scan_run_id, run_status, {}), trigger=RUN_KINDS[kind], actor=f"collector:{name}")
    elif touched_devices:
        changed(engine, device_ids=touched_devices, trigger="collector-agent", actor=f"collector:{name}")
    return "applied"
