"""The events feed: what compliance.events raised, newest first, filterable by kind, severity,
site and date range, and the overview's short "latest events" block (templates/events/_latest.html
calls `latest_events()`). Every signed-in role may read it. Events are read fresh (not cached):
they are not tracked by the data revision."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request

from compliance.events import EventFilter, list_events
from inventory.choices import EventKind, Severity, values
from web import queries
from web.access import EVERYONE, role_required
from web.database import cached, get_session
from web.paging import Page

bp = Blueprint("events", __name__, url_prefix="/events")

LATEST = 8  # events in the overview's block


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
