"""Sign-in and password changes for the web UI (inventory.users owns hashing and creation)."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from flask_login import UserMixin
from sqlalchemy import select
from sqlmodel import Session

from inventory import audit
from inventory.models import User, utcnow
from inventory.users import MIN_PASSWORD_LENGTH, UserError, hash_password, one_time_password, verify_password


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked against when the username is unknown, so both cases take the same time.
    return hash_password(one_time_password())


def session_stamp(secret_key: str, password_hash: str) -> str:
    """Changes when the password does: sessions opened before a change stop working."""
    return hmac.new(secret_key.encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:16]


class WebUser(UserMixin):
    """The signed-in user as the views see it: plain values, no database row."""

    def __init__(self, user: User, stamp: str):
        self.user_id = user.id
        self.username = user.username
        self.full_name = user.full_name
        self.role = user.role
        self.must_change_password = user.must_change_password
        self.stamp = stamp

    def get_id(self) -> str:
        return f"{self.user_id}:{self.stamp}"


def user_by_name(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


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


def change_password(session: Session, user: User, current: str, new: str) -> None:
    if not verify_password(user, current):
        raise UserError("current password is wrong")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if new == current:
        raise UserError("the new password must differ from the current one")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    audit.record(session, user.username, "password_change", "user", user.id)


def issue_one_time_password(session: Session, user: User, *, actor: str) -> str:
    """A fresh one-time password (to be changed at first login); audit-logged, never stored plain."""
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    audit.record(session, actor, "password_reset", "user", user.id)
    return password
