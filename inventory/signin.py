"""Signing in: checking a name and password in constant time, and the audit entries of each try."""

from __future__ import annotations

from functools import lru_cache

from sqlmodel import Session

from inventory import audit
from inventory.models import User, utcnow
from inventory.users import hash_password, one_time_password, user_by_name, verify_password


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked against when the username is unknown, so both cases take the same time.
    return hash_password(one_time_password())


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same time either way)."""
    user = user_by_name(session, username.strip())
    if user is None or not user.active:
        verify_password(User(username="", password_hash=_dummy_hash(), role="viewer"), password)
        return None
    return user if verify_password(user, password) else None


def record_login(session: Session, user: User, address: str) -> None:
    user.last_login = utcnow()
    audit.record(session, user.username, "login", "user", user.id, after={"address": address})


def record_failed_login(session: Session, username: str, address: str) -> None:
    audit.record(session, username[:100] or "?", "login_failed", "user", None, after={"address": address})
