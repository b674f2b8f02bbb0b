"""The signed-in user as the web sees it, and the stamp that ties a session to a password.

Signing in, password changes and one-time passwords (with their audit entries) live in
inventory.signin and inventory.users; they are re-exported here for the callers that import
them from this module.
"""

from __future__ import annotations

import hashlib
import hmac

from flask_login import UserMixin

from inventory.models import User
from inventory.signin import authenticate, record_failed_login, record_login
from inventory.users import change_password, issue_one_time_password, user_by_name

__all__ = [
    "WebUser", "authenticate", "change_password", "issue_one_time_password", "record_failed_login", "record_login",
    "session_stamp", "user_by_name",
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
