"""A device's history: its audit entries (who changed which recorded value, before and after)
and its observations (what a collector or an import saw, and what it saw before), newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from inventory.models import AuditLog, Observation, Site, Zone


@dataclass(frozen=True)
class HistoryChange:
    key: str  # a Device column (audit) or an observation key
    before: Any
    after: Any


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    kind: str  # "audit" or "observation"
    who: str  # the actor, or the observation's source (snmp, ssh, agent, import, ...)
    action: str  # the audit action (update, create, import, ...) or "observed"
    changes: tuple[HistoryChange, ...]


_BOOKKEEPING = {"id", "created_at", "updated_at"}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _audit_entries(session: Session, device_id: int, limit: int) -> list[HistoryEntry]:
    query = select(AuditLog).where(AuditLog.entity == "device", AuditLog.entity_id == str(device_id)).order_by(AuditLog.id.desc()).limit(limit)
    out = []
    for entry in session.execute(query).scalars():
        before, after = entry.before or {}, entry.after or {}
        # Some writers log whole rows (adoption): only what differs is a change; a new record
        # shows what it was given. Bookkeeping columns say nothing a reader needs.
        keys = [k for k in dict.fromkeys([*before, *after]) if k not in _BOOKKEEPING and before.get(k) != after.get(k)]
        if not before:
            keys = [k for k in keys if after[k] not in (None, "")]
        changes = tuple(HistoryChange(k, before.get(k), after.get(k)) for k in keys)
        out.append(HistoryEntry(_aware(entry.at), "audit", entry.actor, entry.action, changes))
    return out


def _observations(session: Session, device_id: int, limit: int) -> list[HistoryEntry]:
    # Each observation with the value the same key had before it (None: the first one seen).
    previous = func.lag(Observation.value).over(partition_by=Observation.key, order_by=Observation.id)
    ranked = select(Observation.id, Observation.observed_at, Observation.source, Observation.key, Observation.value, previous.label("before")).where(Observation.device_id == device_id).subquery()
    query = select(ranked).order_by(ranked.c.id.desc()).limit(limit)
    return [HistoryEntry(_aware(row.observed_at), "observation", row.source, "observed", (HistoryChange(row.key, row.before, row.value),)) for row in session.execute(query)]


def device_history(session: Session, device_id: int, *, limit: int = 200) -> list[HistoryEntry]:
    """The newest `limit` entries of both kinds, merged, newest first."""
    entries = _audit_entries(session, device_id, limit) + _observations(session, device_id, limit)
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def place_names(session: Session) -> tuple[dict[int, str], dict[int, tuple[int, str]]]:
    """What history values of site_id and zone_id name: site id -> code, zone id -> (site id, kind)."""
    sites = dict(session.execute(select(Site.id, Site.code)).all())
    zones = {zone_id: (site_id, kind) for zone_id, site_id, kind in session.execute(select(Zone.id, Zone.site_id, Zone.kind))}
    return sites, zones
