"""Each site's polling interval (minutes; 0 turns scheduled polling off), changed with audit."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session, select

from inventory import audit
from inventory.models import Site

MAX_POLL_MINUTES = 7 * 24 * 60


class ScheduleError(ValueError):
    def __init__(self, sites: list[str]):
        super().__init__(f"poll intervals must be 0 to {MAX_POLL_MINUTES} minutes (sites: {', '.join(sites)})")
        self.sites = sites


def parse_interval(text: str) -> int | None:
    """Minutes from a form or command line; None when it is no valid interval."""
    try:
        minutes = int(text.strip())
    except ValueError:
        return None
    return minutes if 0 <= minutes <= MAX_POLL_MINUTES else None


def set_poll_intervals(session: Session, minutes_by_site: Mapping[str, int], *, actor: str) -> int:
    """Set the intervals of the sites named (by code); all or nothing. Returns how many changed."""
    bad = [code for code, minutes in minutes_by_site.items() if not 0 <= minutes <= MAX_POLL_MINUTES]
    if bad:
        raise ScheduleError(bad)
    sites = session.exec(select(Site).where(Site.code.in_(list(minutes_by_site))).order_by(Site.code)).all()
    changed = 0
    for site in sites:
        minutes = minutes_by_site[site.code]
        if minutes == site.poll_interval_minutes:
            continue
        before = audit.snapshot(site)
        site.poll_interval_minutes = minutes
        session.flush()
        audit.record(session, actor, "update", "site", site.id, before=before, after=audit.snapshot(site))
        changed += 1
    return changed
