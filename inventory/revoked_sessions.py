"""Web sessions ended by a logout, kept in the database until their cookie would expire anyway.

A signed session cookie stays valid on its own until it expires; a copy taken before logout
carries the same session id. Listing the id here makes every process refuse it, also after a
restart. Only a SHA-256 of the id is stored: the table never holds a live credential.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, select
from sqlmodel import Session

from inventory.models import RevokedSession, utcnow


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def revoke(session: Session, sid: str, lifetime: timedelta) -> None:
    """List `sid` as ended (not committed: the caller commits); forget the ones expired."""
    now = utcnow()
    session.execute(delete(RevokedSession).where(RevokedSession.expires_at <= now))
    digest = _digest(sid)
    if session.get(RevokedSession, digest) is None:
        session.add(RevokedSession(sid_sha256=digest, expires_at=now + lifetime))


def is_revoked(session: Session, sid: str) -> bool:
    found = session.execute(select(RevokedSession.expires_at).where(RevokedSession.sid_sha256 == _digest(sid))).scalar_one_or_none()
    return found is not None and found > utcnow()
