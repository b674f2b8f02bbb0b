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


def config_snapshots(session: Session, device_id: int) -> list[dict]:
    from inventory.models import ConfigSnapshot

    query = select(ConfigSnapshot.id, ConfigSnapshot.taken_at, ConfigSnapshot.sha256, ConfigSnapshot.scan_run_id).where(ConfigSnapshot.device_id == device_id)
    return [dict(row._mapping) for row in session.execute(query.order_by(ConfigSnapshot.id.desc()))]


def config_diff(session: Session, device_id: int, old_id: int | None = None, new_id: int | None = None) -> str:
    """Unified diff between two snapshots of a device (default: the last two); '' if fewer than two."""
    import difflib

    from inventory.models import ConfigSnapshot

    snapshots = {s.id: s for s in session.execute(select(ConfigSnapshot).where(ConfigSnapshot.device_id == device_id)).scalars()}
    ids = sorted(snapshots)
    if new_id is None:
        new_id = ids[-1] if ids else None
    if old_id is None:
        older = [i for i in ids if new_id is not None and i < new_id]
        old_id = older[-1] if older else None
    if old_id not in snapshots or new_id not in snapshots:
        return ""
    old, new = snapshots[old_id], snapshots[new_id]
    return "".join(
        difflib.unified_diff(
            old.text.splitlines(keepends=True), new.text.splitlines(keepends=True),
            fromfile=f"snapshot #{old.id} {old.taken_at:%Y-%m-%d %H:%M}", tofile=f"snapshot #{new.id} {new.taken_at:%Y-%m-%d %H:%M}",
        )
    )  # fmt: skip
