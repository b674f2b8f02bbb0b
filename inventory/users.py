"""Users and roles: creation, role and activation changes, passwords (hashing, verification,
changes, one-time passwords). Every change is audit-logged here, whoever asks for it (web, CLI)."""

from __future__ import annotations

import secrets

from sqlalchemy import func
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from inventory import audit, tokens
from inventory.choices import Role
from inventory.models import User

MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    pass


class WrongPasswordError(UserError):
    """The current password given to prove who one is does not match."""


class OwnAccountError(UserError):
    """An admin may not change their own role or deactivate their own account."""


class LastAdminError(UserError):
    """The last active admin cannot be deactivated."""


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def user_by_name(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).one_or_none()


def _check_role(role: str) -> None:
    if role not in {r.value for r in Role}:
        raise UserError(f"unknown role {role!r}; choose one of: {', '.join(r.value for r in Role)}")


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
    _check_role(role)
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


def change_role(session: Session, user: User, role: str, *, actor: str, actor_id: int | None) -> bool:
    """Give `user` another role; False when it already has it. Nobody changes their own role."""
    _check_role(role)
    if user.id == actor_id and role != user.role:
        raise OwnAccountError("you cannot change your own role")
    if role == user.role:
        return False
    before = audit.snapshot(user)
    user.role = role
    session.flush()
    audit.record(session, actor, "update", "user", user.id, before=before, after=audit.snapshot(user))
    return True


def active_admins(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
    return session.exec(query).one()


def set_active(session: Session, user: User, active: bool, *, actor: str, actor_id: int | None) -> bool:
    """(De)activate `user`; False when nothing changes. Never oneself, never the last active admin."""
    if user.id == actor_id and not active:
        raise OwnAccountError("you cannot deactivate your own account")
    if not active and user.role == Role.ADMIN.value and user.active and active_admins(session) <= 1:
        raise LastAdminError("at least one active admin must remain")
    if user.active == active:
        return False
    before = audit.snapshot(user)
    user.active = active
    session.flush()
    audit.record(session, actor, "activate" if active else "deactivate", "user", user.id, before=before, after=audit.snapshot(user))
    return True


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """A user changes their own password (the current one proves it is them)."""
    if not verify_password(user, current):
        raise WrongPasswordError("current password is wrong")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if new == current:
        raise UserError("the new password must differ from the current one")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    audit.record(session, user.username, "password_change", "user", user.id)


def issue_one_time_password(session: Session, user: User, *, actor: str) -> str:
    """A fresh one-time password (to be changed at first login); audit-logged, never stored plain.

    A reset means the account may be in other hands: its API token is revoked too (a new one is
    issued after the user has set their own password), and its web sessions end (new hash)."""
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    audit.record(session, actor, "password_reset", "user", user.id)
    tokens.revoke_token(session, user, actor=actor)
    return password
