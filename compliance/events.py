"""Events: what the security office should hear about, raised where it happens and kept as rows
of `event` (the overview's feed reads them; the notification channels deliver them).

The kinds (inventory.choices.EventKind) and where each is raised:
- new_critical_finding  an evaluation opened or reopened a critical finding (one event per
                        opening: a finding reopened later is a new event);
- unrecorded_device     a discovery or an offline scan import created a `discovered` device;
- device_silent         silence_and_waiver_job: a polled device has not answered for longer than
                        SILENCE_INTERVALS of its site's poll interval (at least MIN_SILENCE);
                        one event per silence period (the key holds its last answer);
- waiver_expiring       silence_and_waiver_job: a waiver ends within WAIVER_NOTICE_DAYS;
- run_failed            a scan run or an evaluation ended failed;
- collector_silent      silence_and_waiver_job: an active collector (collectors/fleet) has not been
                        heard from for longer than KIEMKE_COLLECTOR_SILENT_MINUTES; one event per
                        silence (the key holds its last contact);
- collector_refused     a collector's frame or batch was refused (unknown or revoked collector,
                        a bad signature, a result outside its site-zone): a security event.

Every event has a unique key, so raising the same event twice is a no-op. Raising an event never
breaks or slows what it reports: each source function runs after the caller's commit, in a
transaction of its own, and an error there is logged, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from compliance.notify import queue_deliveries
from inventory import db
from inventory.choices import LOCAL_TIMEZONE, DeviceSource, EventKind, FindingStatus, Severity
from inventory.models import Collector, Device, Event, Finding, ScanOutcome, ScanRun, Site, utcnow
from inventory.repository import in_inventory

log = logging.getLogger("kiemke.events")

SILENCE_INTERVALS = 2  # a device is silent after missing this many poll intervals ...
MIN_SILENCE = timedelta(hours=1)  # ... and never sooner than this (a 5-minute interval is not an alarm)
WAIVER_NOTICE_DAYS = 14
LOCAL_ZONE = ZoneInfo(LOCAL_TIMEZONE)  # the feed's date filters are local days
KEY_BATCH = 500  # finding keys per query
DIGEST_ABOVE = 25  # more new critical findings than this in one evaluation: one digest event
MANY_KEYS = 5_000  # above this many, one query over the rules reads fewer rows than batches of keys
ERROR_LIMIT = 500  # characters of a run's error kept in its event


def raise_event(
    session: Session,
    kind: str,
    severity: str,
    key: str,
    *,
    site_id: int | None = None,
    device_id: int | None = None,
    finding_id: int | None = None,
    scan_run_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Event | None:
    """Insert the event unless one with `key` exists; the new event, or None when it existed.
    Runs in the caller's transaction."""
    values = {
        "kind": EventKind(kind).value, "severity": Severity(severity).value, "key": key[:255], "created_at": utcnow(),
        "site_id": site_id, "device_id": device_id, "finding_id": finding_id, "scan_run_id": scan_run_id, "data": data or {},
    }  # fmt: skip
    table = Event.__table__
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
        new_id = session.execute(insert.values(values).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id)).scalar_one_or_none()
    else:  # check, then insert (the unique key still refuses a concurrent twin)
        if session.execute(select(table.c.id).where(table.c.key == values["key"])).first() is not None:
            return None
        new_id = session.execute(table.insert().values(values).returning(table.c.id)).scalar_one()
    if new_id is None:
        return None
    event = session.get(Event, new_id)
    session.info.setdefault(_RAISED, []).append(event)  # queued to the channels with the transaction (_guarded)
    return event


_RAISED = "kiemke.events.raised"


def _guarded(engine: Engine, what: str, work: Callable[[Session], int]) -> int:
    """Run `work(session)` in a transaction of its own; how many events it raised (0 on error,
    which is logged: the thing reported on has already happened and must not fail for it)."""
    try:
        with db.session_scope(engine) as session:
            raised = work(session)
            # Deliveries are queued in the events' own transaction: no event is raised without them.
            queue_deliveries(session, session.info.pop(_RAISED, []))
            return raised
    except Exception:
        log.exception("events not raised: %s", what)
        return 0


def _as_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC))


def _stamp(moment: datetime | None) -> str:
    moment = _as_utc(moment)
    return "never" if moment is None else moment.isoformat()


# -- new critical findings ---------------------------------------------------------------------


def critical_keys_not_open(session: Session, keys: Iterable[tuple[str, str]], today: date) -> set[tuple[str, str]]:
    """Of the (rule id, subject key) pairs of this evaluation's critical violations, those whose
    finding is not open now (none yet, resolved, or waived with an expired waiver): read before
    the findings are synced, these are the ones the sync opens or reopens."""
    wanted = set(keys)
    if not wanted:
        return set()
    held_columns = select(Finding.rule_id, Finding.subject_key, Finding.status, Finding.waiver_expires)
    rules = {r for r, _ in wanted}
    if len(wanted) > MANY_KEYS:  # a whole fleet's: one pass over those rules' open and waived findings
        queries = [held_columns.where(Finding.rule_id.in_(rules), Finding.status.in_((FindingStatus.OPEN.value, FindingStatus.WAIVED.value)))]
    else:
        ordered = sorted(wanted)
        queries = [
            held_columns.where(Finding.rule_id.in_({r for r, _ in batch}), Finding.subject_key.in_({k for _, k in batch}))
            for batch in (ordered[start : start + KEY_BATCH] for start in range(0, len(ordered), KEY_BATCH))
        ]
    held = set()
    for query in queries:
        for rule_id, subject_key, status, expires in session.execute(query):
            waived = status == FindingStatus.WAIVED.value and expires is not None and expires >= today
            if status == FindingStatus.OPEN.value or waived:
                held.add((rule_id, subject_key))
    return wanted - held


def critical_findings_opening(session: Session, violations: Iterable, today: date) -> set[tuple[str, str]]:
    """critical_keys_not_open for an evaluation's violations, inside its transaction; an error is
    logged and reads as "none" (on PostgreSQL in a savepoint, so the evaluation goes on)."""
    keys = {(v.rule_id, v.subject_key) for v in violations if v.severity == Severity.CRITICAL.value}
    if not keys:
        return set()
    try:
        if session.get_bind().dialect.name == "postgresql":
            with session.begin_nested():
                return critical_keys_not_open(session, keys, today)
        return critical_keys_not_open(session, keys, today)  # a failed SELECT leaves SQLite's transaction usable
    except Exception:
        log.exception("events not raised: critical findings not read")
        return set()


def raise_new_critical_findings(engine: Engine, keys: Collection[tuple[str, str]], opened_at: datetime) -> int:
    """One event per critical finding the evaluation opened or reopened at `opened_at` (its
    last_seen): keyed by finding and that moment, so a later reopening is a new event."""
    if not keys:
        return 0

    if len(keys) > DIGEST_ABOVE:
        return _guarded(engine, "new critical findings (digest)", lambda session: _raise_digest(session, keys, opened_at))

    def run(session: Session) -> int:
        raised = 0
        ordered = sorted(keys)
        for start in range(0, len(ordered), KEY_BATCH):
            batch = ordered[start : start + KEY_BATCH]
            query = (
                select(Finding.id, Finding.rule_id, Finding.subject_key, Finding.site_id, Finding.device_id, Finding.status, Device.hostname)
                .outerjoin(Device, Device.id == Finding.device_id)
                .where(Finding.rule_id.in_({r for r, _ in batch}), Finding.subject_key.in_({k for _, k in batch}))
            )
            for finding_id, rule_id, subject_key, site_id, device_id, status, hostname in session.execute(query):
                if (rule_id, subject_key) not in keys or status != FindingStatus.OPEN.value:
                    continue
                event = raise_event(
                    session, EventKind.NEW_CRITICAL_FINDING, Severity.CRITICAL, f"new_critical_finding:finding:{finding_id}:{_stamp(opened_at)}",
                    site_id=site_id, device_id=device_id, finding_id=finding_id,
                    data={"rule_id": rule_id, "subject_key": subject_key, "hostname": hostname},
                )  # fmt: skip
                raised += event is not None
        return raised

    return _guarded(engine, "new critical findings", run)


def _raise_digest(session: Session, keys: Collection[tuple[str, str]], opened_at: datetime) -> int:
    """One event for a run that opened many critical findings at once (a fleet's first evaluation,
    a new rule): the feed and the channels get one line with the counts per rule, not thousands."""
    by_rule: dict[str, int] = {}
    for rule_id, _ in keys:
        by_rule[rule_id] = by_rule.get(rule_id, 0) + 1
    rules = dict(sorted(by_rule.items(), key=lambda item: (-item[1], item[0])))
    event = raise_event(session, EventKind.NEW_CRITICAL_FINDING, Severity.CRITICAL, f"new_critical_finding:digest:{_stamp(opened_at)}", data={"count": len(keys), "rules": rules})
    return int(event is not None)


# -- unrecorded devices ------------------------------------------------------------------------


def raise_discovered_devices(engine: Engine, scan_run_id: int) -> int:
    """One event per device the run created (a `discovered` device: on no one's record)."""

    def run(session: Session) -> int:
        query = (
            select(Device.id, Device.site_id, Device.hostname, Device.mgmt_ip, Device.device_class, Site.code, ScanRun.kind)
            .join(ScanOutcome, ScanOutcome.device_id == Device.id)
            .join(ScanRun, ScanRun.id == ScanOutcome.scan_run_id)
            .outerjoin(Site, Site.id == Device.site_id)
            .where(ScanOutcome.scan_run_id == scan_run_id, ScanOutcome.created_device.is_(True), Device.source == DeviceSource.DISCOVERED.value)
        )
        raised = 0
        for device_id, site_id, hostname, address, device_class, site_code, run_kind in session.execute(query):
            event = raise_event(
                session, EventKind.UNRECORDED_DEVICE, Severity.HIGH, f"unrecorded_device:device:{device_id}",
                site_id=site_id, device_id=device_id, scan_run_id=scan_run_id,
                data={"hostname": hostname, "address": address, "device_class": device_class, "site": site_code, "run_kind": run_kind},
            )  # fmt: skip
            raised += event is not None
        return raised

    return _guarded(engine, f"devices discovered by scan run #{scan_run_id}", run)


# -- failed runs -------------------------------------------------------------------------------


def raise_run_failed(engine: Engine, scan_run_id: int) -> int:
    """The event of a scan run or an evaluation that ended failed (or in error)."""

    def run(session: Session) -> int:
        scan_run = session.get(ScanRun, scan_run_id)
        if scan_run is None or scan_run.status not in ("failed", "error"):
            return 0
        error = " ".join((scan_run.error or "").split())[:ERROR_LIMIT]
        event = raise_event(
            session, EventKind.RUN_FAILED, Severity.HIGH, f"run_failed:scan_run:{scan_run_id}",
            site_id=scan_run.site_id, scan_run_id=scan_run_id,
            data={"run_kind": scan_run.kind, "status": scan_run.status, "error": error, "triggered_by": scan_run.triggered_by},
        )  # fmt: skip
        return int(event is not None)

    return _guarded(engine, f"failed run #{scan_run_id}", run)


# -- silent devices and expiring waivers (a scheduled job) ---------------------------------------


def silence_after(poll_interval_minutes: int) -> timedelta:
    """How long a device of a site with this poll interval may go without answering."""
    return max(timedelta(minutes=SILENCE_INTERVALS * max(int(poll_interval_minutes), 1)), MIN_SILENCE)


def _raise_silent_devices(session: Session, now: datetime) -> int:
    raised = 0
    for minutes in sorted(set(session.execute(select(Site.poll_interval_minutes)).scalars())):
        threshold = silence_after(minutes)
        cutoff = now - threshold
        query = (
            select(Device.id, Device.site_id, Device.hostname, Device.mgmt_ip, Device.last_seen, Device.last_polled, Site.code)
            .join(Site, Site.id == Device.site_id)
            .where(
                in_inventory(), Site.poll_interval_minutes == minutes, Device.last_polled.is_not(None),
                or_(Device.last_seen.is_(None), Device.last_seen < cutoff),
            )
        )  # fmt: skip
        for device_id, site_id, hostname, address, last_seen, last_polled, site_code in session.execute(query):
            seen = _as_utc(last_seen)
            event = raise_event(
                session, EventKind.DEVICE_SILENT, Severity.MEDIUM, f"device_silent:device:{device_id}:{_stamp(seen)}",
                site_id=site_id, device_id=device_id,
                data={
                    "hostname": hostname, "address": address, "site": site_code, "last_seen": seen.isoformat() if seen else None,
                    "last_polled": _stamp(last_polled), "silent_hours": None if seen is None else round((now - seen).total_seconds() / 3600, 1),
                    "limit_hours": round(threshold.total_seconds() / 3600, 1),
                },
            )  # fmt: skip
            raised += event is not None
    return raised


def _raise_expiring_waivers(session: Session, today: date) -> int:
    query = (
        select(Finding.id, Finding.site_id, Finding.device_id, Finding.rule_id, Finding.severity, Finding.waiver_expires, Finding.waived_by, Device.hostname)
        .outerjoin(Device, Device.id == Finding.device_id)
        .where(Finding.status == FindingStatus.WAIVED.value, Finding.waiver_expires >= today, Finding.waiver_expires <= today + timedelta(days=WAIVER_NOTICE_DAYS))
    )
    raised = 0
    for finding_id, site_id, device_id, rule_id, severity, expires, waived_by, hostname in session.execute(query):
        event = raise_event(
            session, EventKind.WAIVER_EXPIRING, severity, f"waiver_expiring:finding:{finding_id}:{expires.isoformat()}",
            site_id=site_id, device_id=device_id, finding_id=finding_id,
            data={"rule_id": rule_id, "expires": expires.isoformat(), "days_left": (expires - today).days, "waived_by": waived_by, "hostname": hostname},
        )  # fmt: skip
        raised += event is not None
    return raised


def _raise_silent_collectors(session: Session, now: datetime, silent_minutes: int) -> int:
    """One event per silence of an active collector: keyed by its last contact (or, never heard
    from, its registration), so it is raised again only after it spoke and fell silent anew."""
    cutoff = now - timedelta(minutes=silent_minutes)
    raised = 0
    query = select(Collector, Site.code).join(Site, Site.id == Collector.site_id).where(Collector.status == "active")
    for collector, site_code in session.execute(query):
        heard = _as_utc(collector.last_contact_at or collector.registered_at)
        if heard >= cutoff:
            continue
        event = raise_event(
            session, EventKind.COLLECTOR_SILENT, Severity.MEDIUM, f"collector_silent:collector:{collector.id}:{_stamp(heard)}", site_id=collector.site_id,
            data={
                "collector": collector.name, "site": site_code, "zone": collector.zone_kind, "last_contact": _stamp(collector.last_contact_at),
                "silent_minutes": int((now - heard).total_seconds() // 60), "limit_minutes": silent_minutes, "pending": collector.reported_pending,
            },
        )  # fmt: skip
        raised += event is not None
    return raised


def raise_collector_refused(engine: Engine, key: str, *, site_id: int | None, data: dict[str, Any]) -> int:
    """The security event of a collector's frame or batch refused (collectors/fleet/receive.py, apply.py)."""
    return _guarded(engine, "refused collector data", lambda session: int(raise_event(session, EventKind.COLLECTOR_REFUSED, Severity.HIGH, key, site_id=site_id, data=data) is not None))


def silence_and_waiver_job(engine: Engine, now: datetime | None = None, *, collector_silent_minutes: int | None = None) -> dict[str, int]:
    """The scheduled job: events for devices silent past their interval, for waivers expiring
    within WAIVER_NOTICE_DAYS and (on a hub with collectors) for silent collectors. Each part in a
    transaction of its own; how many events each raised."""
    now = _as_utc(now) or utcnow()
    raised = {
        "device_silent": _guarded(engine, "silent devices", lambda session: _raise_silent_devices(session, now)),
        "waiver_expiring": _guarded(engine, "expiring waivers", lambda session: _raise_expiring_waivers(session, now.date())),
    }
    with db.session_scope(engine) as session:
        has_collectors = session.execute(select(Collector.id).limit(1)).first() is not None
    if has_collectors:
        if collector_silent_minutes is None:
            from inventory.settings import Settings

            collector_silent_minutes = Settings().collector_silent_minutes
        raised["collector_silent"] = _guarded(engine, "silent collectors", lambda session: _raise_silent_collectors(session, now, collector_silent_minutes))
    return raised


# -- the feed (web/events.py) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    kind: str | None = None
    severity: str | None = None
    site: str | None = None
    since: date | None = None  # local dates, both included
    until: date | None = None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_ZONE)


def _feed_conditions(flt: EventFilter) -> list:
    conditions = []
    if flt.kind:
        conditions.append(Event.kind == flt.kind)
    if flt.severity:
        conditions.append(Event.severity == flt.severity)
    if flt.site:
        conditions.append(Event.site_id == select(Site.id).where(Site.code == flt.site).scalar_subquery())
    if flt.since:
        conditions.append(Event.created_at >= _local_midnight(flt.since))
    if flt.until:
        conditions.append(Event.created_at < _local_midnight(flt.until + timedelta(days=1)))
    return conditions


def list_events(session, flt: EventFilter, *, page: int = 1, per_page: int = 50) -> tuple[list[dict], int]:
    """One page of events (newest first) with their site code and device hostname, and the total."""
    conditions = _feed_conditions(flt)
    total = session.execute(select(func.count()).select_from(Event).where(*conditions)).scalar_one()
    query = (
        select(Event, Site.code, Device.hostname)
        .outerjoin(Site, Site.id == Event.site_id)
        .outerjoin(Device, Device.id == Event.device_id)
        .where(*conditions)
        .order_by(Event.created_at.desc(), Event.id.desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    )
    rows = [{**event.model_dump(), "site_code": code, "hostname": hostname} for event, code, hostname in session.execute(query)]
    return rows, total
