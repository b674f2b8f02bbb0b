"""The hub's register of collectors: who may send results, for which site and zone, and how each
is doing (coverage).

A collector is registered from the one line `kiemke collector init` prints (its name and public
keys); its site and zone are the hub's decision, never the collector's. Revoking keeps the row
(its batches and runs point to it) and refuses everything it sends from then on. Every change is
audit-logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlmodel import Session

from collectors.fleet.identity import IdentityError, fingerprint, parse_public_line
from inventory import audit
from inventory.choices import ZoneKind, values
from inventory.models import Collector, Site, Zone, utcnow

ACTIVE = "active"
REVOKED = "revoked"


class RegistryError(ValueError):
    """A refused registration or revocation; the message says why, for people."""


def _as_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC))


def register(session: Session, public_line: str, site_code: str, zone_kind: str, actor: str) -> Collector:
    """A new active collector for one site-zone (not committed: the caller commits)."""
    try:
        identity = parse_public_line(public_line)
    except IdentityError as exc:
        raise RegistryError(str(exc)) from None
    site = session.execute(select(Site).where(Site.code == (site_code or "").strip())).scalar_one_or_none()
    if site is None:
        raise RegistryError(f"no site with code {site_code!r}")
    if zone_kind not in values(ZoneKind):
        raise RegistryError(f"zone must be one of {', '.join(values(ZoneKind))}")
    if session.execute(select(Zone.id).where(Zone.site_id == site.id, Zone.kind == zone_kind)).first() is None:
        raise RegistryError(f"site {site.code} has no {zone_kind} zone")
    taken = session.execute(
        select(Collector.name).where(or_(Collector.name == identity.name, Collector.signing_key == identity.signing_key, Collector.box_key == identity.box_key))
    ).first()  # fmt: skip
    if taken is not None:
        # A name or key registered once stays taken, also when revoked: a revoked key never returns.
        raise RegistryError(f"collector {identity.name!r} or its keys are registered already (as {taken[0]!r})")
    collector = Collector(name=identity.name, site_id=site.id, zone_kind=zone_kind, signing_key=identity.signing_key, box_key=identity.box_key,
                          registered_by=actor[:100])  # fmt: skip
    session.add(collector)
    session.flush()
    audit.record(session, actor, "create", "collector", collector.id,
                 after={"name": collector.name, "site": site.code, "zone": zone_kind, "signing_key": fingerprint(identity.signing_key)})  # fmt: skip
    return collector


def revoke(session: Session, name: str, actor: str) -> bool:
    """Refuse everything the collector sends from now on; False when it was revoked already."""
    collector = session.execute(select(Collector).where(Collector.name == name)).scalar_one_or_none()
    if collector is None:
        raise RegistryError(f"no collector named {name!r}")
    if collector.status == REVOKED:
        return False
    collector.status = REVOKED
    audit.record(session, actor, "update", "collector", collector.id, before={"status": ACTIVE}, after={"status": REVOKED, "name": collector.name})
    return True


def by_name(session: Session, name: str) -> Collector:
    collector = session.execute(select(Collector).where(Collector.name == name)).scalar_one_or_none()
    if collector is None:
        raise RegistryError(f"no collector named {name!r}")
    return collector


@dataclass(frozen=True)
class CollectorStatus:
    """One collector as coverage shows it."""

    id: int
    name: str
    site_id: int
    site: str
    site_name: str
    zone: str
    status: str
    registered_at: datetime
    last_contact_at: datetime | None
    last_contact_via: str | None
    oldest_unacked_age: timedelta | None  # now - the oldest unacknowledged result, as it last said
    acked_seq: int
    pending: int | None
    dropped: int
    assignment_version: int
    silent: bool
    fingerprint: str

    def as_dict(self) -> dict:
        return {
            "name": self.name, "site": self.site, "zone": self.zone, "status": self.status,
            "last_contact_at": self.last_contact_at.isoformat() if self.last_contact_at else None, "last_contact_via": self.last_contact_via,
            "oldest_unacked_seconds": int(self.oldest_unacked_age.total_seconds()) if self.oldest_unacked_age is not None else None,
            "acked_seq": self.acked_seq, "pending": self.pending, "dropped": self.dropped, "assignment_version": self.assignment_version,
            "silent": self.silent, "fingerprint": self.fingerprint,
        }  # fmt: skip


def is_silent(collector: Collector, now: datetime, silent_minutes: int) -> bool:
    """An active collector not heard from (since its registration, if never) for longer than the setting."""
    if collector.status != ACTIVE:
        return False
    heard = _as_utc(collector.last_contact_at or collector.registered_at)
    return heard < now - timedelta(minutes=silent_minutes)


def collector_status(session: Session, now: datetime | None = None, *, silent_minutes: int | None = None, site_ids=None) -> list[CollectorStatus]:
    """Every collector (of these sites, or all), read fresh: by site code, then name."""
    if silent_minutes is None:
        from inventory.settings import Settings

        silent_minutes = Settings().collector_silent_minutes
    now = _as_utc(now or utcnow())
    query = select(Collector, Site.code, Site.name).join(Site, Site.id == Collector.site_id).order_by(Site.code, Collector.name)
    if site_ids is not None:
        query = query.where(Collector.site_id.in_(list(site_ids)))
    rows = []
    for collector, code, site_name in session.execute(query):
        oldest = _as_utc(collector.oldest_unacked_at)
        rows.append(
            CollectorStatus(
                id=collector.id, name=collector.name, site_id=collector.site_id, site=code, site_name=site_name, zone=collector.zone_kind,
                status=collector.status, registered_at=_as_utc(collector.registered_at), last_contact_at=_as_utc(collector.last_contact_at),
                last_contact_via=collector.last_contact_via, oldest_unacked_age=max(now - oldest, timedelta(0)) if oldest is not None else None,
                acked_seq=collector.acked_seq, pending=collector.reported_pending, dropped=collector.reported_dropped,
                assignment_version=collector.assignment_version, silent=is_silent(collector, now, silent_minutes),
                fingerprint=fingerprint(collector.signing_key),
            )
        )  # fmt: skip
    return rows
