"""The audit log: who changed what, with the values before and after."""

from __future__ import annotations

import getpass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, SQLModel

from inventory.models import AuditLog

# Columns whose values never go into the audit log.
_HIDDEN = {"password_hash", "secret_token", "api_token_hash"}


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers  # noqa: BLE001
        return "cli"


def snapshot(row: SQLModel | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out: dict[str, Any] = {}
    for name, value in row.model_dump().items():
        if name in _HIDDEN:
            continue
        out[name] = value.isoformat() if isinstance(value, (date, datetime)) else value
    return out


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLog:
    entry = AuditLog(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
    )
    session.add(entry)
    return entry
