"""The signed-in user as the web sees it, and the stamp that ties a session to a password.

Signing in, password changes and one-time passwords (with their audit entries) live in
inventory.signin and inventory.users; they are re-exported here for the callers that import
them from this module.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable

from flask_login import UserMixin

from inventory.models import User
from inventory.signin import authenticate, record_failed_login, record_login
from inventory.users import change_password, issue_one_time_password, user_by_name

__all__ = [
    "WebUser", "authenticate", "change_password", "issue_one_time_password", "record_failed_login", "record_login",
    "RevokedSessions", "session_stamp", "user_by_name",
]  # fmt: skip


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


class RevokedSessions:
    """Session ids ended by a logout, remembered until a cookie carrying them would expire anyway.

    A signed session cookie stays valid on its own until it expires; a copy taken before logout
    carries the same session id, which load_user refuses once it is listed here. In memory, per
    process (waitress runs one process with threads), like the login throttle.
    """

    def __init__(self, lifetime_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.lifetime = lifetime_seconds
        self.clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke(self, sid: str) -> None:
        with self._lock:
            now = self.clock()
            for stale in [k for k, until in self._until.items() if until <= now]:
                del self._until[stale]
            self._until[sid] = now + self.lifetime

    def is_revoked(self, sid: str) -> bool:
        with self._lock:
            until = self._until.get(sid)
            return until is not None and until > self.clock()
