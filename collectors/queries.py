"""Queries over scan runs and their outcomes, shared by the CLI and the web UI."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from inventory.models import ScanOutcome, ScanRun, Site


def recent_scan_runs(session: Session, *, limit: int = 20, site: str | None = None) -> list[dict]:
    query = select(ScanRun, Site.code).outerjoin(Site, Site.id == ScanRun.site_id).order_by(ScanRun.id.desc()).limit(limit)
    if site:
        query = query.where(Site.code == site)
    rows = []
    for run, code in session.execute(query):
        seconds = round((run.finished_at - run.started_at).total_seconds(), 1) if run.finished_at else None
        rows.append(
            {
                "id": run.id, "kind": run.kind, "site": code, "started_at": run.started_at.isoformat(),
                "finished_at": run.finished_at.isoformat() if run.finished_at else None, "seconds": seconds,
                "status": run.status, "triggered_by": run.triggered_by, "params": run.params, "summary": run.summary,
                "error": run.error,
            }
        )  # fmt: skip
    return rows


def scan_outcomes(session: Session, scan_run_id: int) -> list[dict]:
    query = select(ScanOutcome).where(ScanOutcome.scan_run_id == scan_run_id).order_by(ScanOutcome.id)
    return [o.model_dump() for o in session.execute(query).scalars()]
