"""Users and roles: creation, password hashing and verification."""

from __future__ import annotations

import secrets

from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from inventory import audit
from inventory.choices import Role
from inventory.models import User

MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    pass


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def add_user(
    session: Session,
    username: str,
    role: str,
    password: str | None = None,
    *,
    full_name: str = "",
    actor: str,
) -> tuple[User, str]:
    """Create a user; returns it with its password (generated, one-time, when none is given)."""
    username = username.strip()
    if not username:
        raise UserError("username must not be empty")
    if role not in {r.value for r in Role}:
        raise UserError(f"unknown role {role!r}; choose one of: {', '.join(r.value for r in Role)}")
    if session.exec(select(User).where(User.username == username)).first():
        raise UserError(f"user {username!r} already exists")
    generated = password is None
    password = password if password is not None else one_time_password()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        password_hash=hash_password(password),
        must_change_password=generated,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "create", "user", user.id, after=audit.snapshot(user))
    return user, password
