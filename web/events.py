"""The events feed: what compliance.events raised, newest first, filterable by kind, severity,
site and date range, and the overview's short "latest events" block (templates/events/_latest.html
calls `latest_events()`). Every signed-in role may read it. Events are read fresh (not cached):
they are not tracked by the data revision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from inventory.choices import EventKind, Severity, values
from inventory.models import Device, Event, Site
from web import queries
from web.access import EVERYONE, role_required
from web.database import cached, get_session
from web.filters import LOCAL
from web.paging import Page

bp = Blueprint("events", __name__, url_prefix="/events")

LATEST = 8  # events in the overview's block


@dataclass(frozen=True)
class EventFilter:
    kind: str | None = None
    severity: str | None = None
    site: str | None = None
    since: date | None = None  # local dates, both included
    until: date | None = None


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None  # a malformed date filters nothing, like an unknown kind


def _filter(args) -> EventFilter:
    return EventFilter(
        kind=args.get("kind") if args.get("kind") in values(EventKind) else None,
        severity=args.get("severity") if args.get("severity") in values(Severity) else None,
        site=args.get("site") or None,
        since=_day(args.get("since")),
        until=_day(args.get("until")),
    )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL)


def _conditions(flt: EventFilter) -> list:
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
    conditions = _conditions(flt)
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


@bp.route("/")
@role_required(*EVERYONE)
def index():
    db = get_session()
    flt = _filter(request.args)
    page = Page.from_args(request.args)
    rows, total = list_events(db, flt, page=page.number, per_page=page.per_page)
    return render_template(
        "events/list.html",
        rows=rows,
        page=page.with_total(total),
        flt=flt,
        kinds=values(EventKind),
        severities=values(Severity),
        sites=cached("site_codes", lambda: queries.site_codes(db)),
    )


@bp.app_context_processor
def _latest_events_helper() -> dict:
    """`latest_events()` for templates: the newest LATEST events, read when called."""

    def latest_events(limit: int = LATEST) -> list[dict]:
        return list_events(get_session(), EventFilter(), per_page=limit)[0]

    return {"latest_events": latest_events}
