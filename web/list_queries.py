"""The scan history and the audit log as sortable, paged lists (and whole, for their exports):
one query per list, its sort keys named once, ties broken by id so an order is stable."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlmodel import Session

from inventory.models import AuditLog, ScanRun, Site
from inventory.repository import count_rows, one_page
from web.queries import AuditFilter

EXPORT_BATCH = 2000  # rows fetched at a time when a whole list is exported


@dataclass(frozen=True)
class Sorting:
    key: str
    descending: bool

    @classmethod
    def from_args(cls, args, keys: dict[str, Any], default: str, *, default_descending: bool) -> Sorting:
        """`sort` (a known key, else `default`) and `desc` ("1"/"0"; absent: `default_descending`
        for the default key, ascending for another)."""
        key = args.get("sort") if args.get("sort") in keys else default
        raw = args.get("desc")
        descending = raw == "1" if raw in ("0", "1") else (default_descending and key == default)
        return cls(key, descending)


def _ordered(query: Select, column: Any, tie: Any, descending: bool) -> Select:
    return query.order_by(column.desc() if descending else column.asc(), tie.desc() if descending else tie.asc())


# ------------------------------------------------------------------------------ scan history

SCAN_SORTS = {
    "id": ScanRun.id,
    "kind": ScanRun.kind,
    "site": Site.code,
    "started": ScanRun.started_at,
    "status": ScanRun.status,
    "by": ScanRun.triggered_by,
}


def _scan_row(run: ScanRun, code: str | None) -> dict[str, Any]:
    seconds = round((run.finished_at - run.started_at).total_seconds(), 1) if run.finished_at else None
    return {
        "id": run.id, "kind": run.kind, "site": code, "started_at": run.started_at, "finished_at": run.finished_at, "seconds": seconds,
        "status": run.status, "triggered_by": run.triggered_by, "summary": run.summary or {}, "error": run.error,
    }  # fmt: skip


def _scan_query(sorting: Sorting) -> Select:
    query = select(ScanRun, Site.code).outerjoin(Site, Site.id == ScanRun.site_id)
    return _ordered(query, SCAN_SORTS[sorting.key], ScanRun.id, sorting.descending)


def scan_runs_page(session: Session, sorting: Sorting, *, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    query = _scan_query(sorting)
    total = count_rows(session, query)
    return [_scan_row(run, code) for run, code in session.execute(one_page(query, page, per_page))], total


def all_scan_runs(session: Session, sorting: Sorting) -> Iterator[dict[str, Any]]:
    for run, code in session.execute(_scan_query(sorting).execution_options(yield_per=EXPORT_BATCH)):
        yield _scan_row(run, code)


# ------------------------------------------------------------------------------ audit log

AUDIT_SORTS = {
    "at": AuditLog.id,  # entries are numbered as they are written: the id orders them by time, along its index
    "actor": AuditLog.actor,
    "action": AuditLog.action,
    "entity": AuditLog.entity,
}


def _audit_query(flt: AuditFilter, sorting: Sorting) -> Select:
    query = select(AuditLog)
    if flt.actor:
        query = query.where(AuditLog.actor == flt.actor)
    if flt.action:
        query = query.where(AuditLog.action == flt.action)
    if flt.entity:
        query = query.where(AuditLog.entity == flt.entity)
    return _ordered(query, AUDIT_SORTS[sorting.key], AuditLog.id, sorting.descending)


def audit_page(session: Session, flt: AuditFilter, sorting: Sorting, *, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    query = _audit_query(flt, sorting)
    total = count_rows(session, query)
    return [entry.model_dump() for entry in session.execute(one_page(query, page, per_page)).scalars()], total


def all_audit_entries(session: Session, flt: AuditFilter, sorting: Sorting) -> Iterator[dict[str, Any]]:
    for entry in session.execute(_audit_query(flt, sorting).execution_options(yield_per=EXPORT_BATCH)).scalars():
        yield entry.model_dump()
