"""API tokens: one per user, shown once when issued; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session

from inventory import audit
from inventory.models import User

TOKEN_PREFIX = "kk_"  # noqa: S105 (a token prefix, not a secret)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User, *, actor: str) -> str:
    """A new token for `user` (replacing any earlier one); the caller shows it once."""
    token = new_token()
    replaced = user.api_token_hash is not None
    user.api_token_hash = token_hash(token)
    audit.record(session, actor, "api_token_issue", "user", user.id, after={"replaced": replaced})
    return token


def revoke_token(session: Session, user: User, *, actor: str) -> bool:
    """Remove `user`'s token; False when there was none."""
    if user.api_token_hash is None:
        return False
    user.api_token_hash = None
    audit.record(session, actor, "api_token_revoke", "user", user.id)
    return True
