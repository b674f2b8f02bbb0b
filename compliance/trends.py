"""Trends: one snapshot per site and day (compliance states, open findings by severity, coverage),
kept in `site_snapshot`, and the daily series the overview, the site page and the quarterly report
draw from it.

A snapshot is taken by the scheduler once a day after the daily evaluation (`daily_snapshot_job`)
and may be taken again the same day: the later one replaces that day's row. Three aggregate
queries whatever the number of sites (states, open findings, coverage), then one insert.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from compliance.coverage import coverage, site_totals
from compliance.policy import SEVERITIES
from compliance.state import STATES, state_shares
from inventory import db
from inventory.choices import FindingStatus
from inventory.models import Finding, Site, SiteSnapshot, utcnow

log = logging.getLogger(__name__)

TREND_DAYS = 90
MIN_HISTORY_DAYS = 2  # one day is a point, not a trend
COVERAGE_FIELDS = ("polled_on_time", "answering", "config_collected")
FIELDS = ("devices", *STATES, *SEVERITIES, *COVERAGE_FIELDS)


def take_snapshots(session: Session, day: date, now: datetime | None = None) -> int:
    """Write one snapshot per site for `day` (replacing any taken earlier that day) from the
    current states, open findings and coverage (as of `now`); returns the number of sites."""
    now = now or utcnow()
    site_ids = list(session.execute(select(Site.id)).scalars())
    shares = state_shares(session, site_ids)
    open_findings: dict[int, dict[str, int]] = {}
    query = (
        select(Finding.site_id, Finding.severity, func.count())
        .where(Finding.status == FindingStatus.OPEN.value, Finding.site_id.is_not(None))
        .group_by(Finding.site_id, Finding.severity)
    )  # fmt: skip
    for site_id, severity, count in session.execute(query):
        open_findings.setdefault(site_id, {})[severity] = count
    covered = site_totals(coverage(session, site_ids, now=now))
    rows = []
    for site_id in site_ids:
        states = shares.get(site_id, {})
        severities = open_findings.get(site_id, {})
        cover = covered.get(site_id, {})
        rows.append({
            "site_id": site_id, "day": day, "taken_at": now,
            "devices": sum(states.get(state, 0) for state in STATES),
            **{state: states.get(state, 0) for state in STATES},
            **{severity: severities.get(severity, 0) for severity in SEVERITIES},
            **{name: cover.get(name, 0) for name in COVERAGE_FIELDS},
        })  # fmt: skip
    session.execute(delete(SiteSnapshot).where(SiteSnapshot.day == day))
    if rows:
        session.execute(insert(SiteSnapshot.__table__), rows)
    return len(rows)


def daily_snapshot_job(engine: Engine, today: date | None = None) -> int | None:
    """The scheduler's daily snapshot (after the daily evaluation). A database outage skips this
    run (logged); the next day's snapshot is taken as usual, the missed day stays a gap."""
    today = today or date.today()
    try:
        with db.session_scope(engine) as session:
            taken = take_snapshots(session, today)
    except (OperationalError, InterfaceError) as exc:
        reason = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
        log.error("daily snapshot: database unavailable, skipped until the next run: %s", reason[0])
        return None
    log.info("daily snapshot %s: %s sites", today.isoformat(), taken)
    return taken


def series(session: Session, site_ids: Collection[int] | None = None, days: int = TREND_DAYS, until: date | None = None) -> list[dict[str, Any]]:
    """The days with a snapshot among the `days` days up to `until` (today), oldest first: one
    point per day ({"day", *FIELDS}), the sites' figures added up (site_ids None: the province)."""
    until = until or date.today()
    since = until - timedelta(days=days - 1)
    columns = [func.sum(getattr(SiteSnapshot, name)) for name in FIELDS]
    query = select(SiteSnapshot.day, *columns).where(SiteSnapshot.day >= since, SiteSnapshot.day <= until).group_by(SiteSnapshot.day).order_by(SiteSnapshot.day)
    if site_ids is not None:
        query = query.where(SiteSnapshot.site_id.in_(list(site_ids)))
    return [{"day": day, **{name: int(value or 0) for name, value in zip(FIELDS, values, strict=True)}} for day, *values in session.execute(query)]


def enough_history(points: list[dict[str, Any]]) -> bool:
    """Whether a series is a trend yet: at least MIN_HISTORY_DAYS days with a snapshot."""
    return len(points) >= MIN_HISTORY_DAYS


def trend_frame(session: Session, start: date, end: date):
    """The snapshots of [start, end] per site and day, for the quarterly report
    (compliance.report.TREND_COLUMNS: day, site_code, site_name, FIELDS)."""
    import pandas as pd

    query = (
        select(SiteSnapshot.day, Site.code, Site.name, *(getattr(SiteSnapshot, name) for name in FIELDS))
        .join(Site, Site.id == SiteSnapshot.site_id)
        .where(SiteSnapshot.day >= start, SiteSnapshot.day <= end)
        .order_by(SiteSnapshot.day, Site.code)
    )  # fmt: skip
    return pd.DataFrame([tuple(row) for row in session.execute(query)], columns=["day", "site_code", "site_name", *FIELDS])
