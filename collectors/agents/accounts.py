"""Agent accounts: the HTTP basic-auth user and password the agents of one site report with.

The password is random (32 URL-safe characters), shown once when the account is made; only its
SHA-256 is kept. A slow password hash would buy nothing against a random secret of that length
and would cost every one of the province's daily inventories a quarter of a second.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from inventory import audit
from inventory.choices import ZoneKind, values
from inventory.models import AgentAccount, Site, utcnow
from inventory.repository import site_by_code

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
PASSWORD_BYTES = 24  # 32 characters once encoded


class AccountError(ValueError):
    """A refused account change; the message says why, for people."""


@dataclass(frozen=True)
class IssuedAccount:
    name: str
    password: str  # shown once; never stored, never logged
    site: str
    zone: str | None


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


def add_account(session: Session, name: str, *, site: str, zone: str | None = None, actor: str) -> IssuedAccount:
    """A new enabled account for the agents of `site` (a site code); `zone` is where a machine
    goes whose addresses fit none of the site's subnets."""
    name = (name or "").strip().lower()
    if not NAME.match(name):
        raise AccountError("account name: 1-64 characters, lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
    found = site_by_code(session, site)
    if found is None:
        raise AccountError(f"no site with code {site!r}")
    if zone is not None and zone not in values(ZoneKind):
        raise AccountError(f"zone must be one of {', '.join(values(ZoneKind))}")
    if session.execute(select(AgentAccount.id).where(AgentAccount.name == name)).first() is not None:
        raise AccountError(f"an agent account named {name!r} exists already")
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    account = AgentAccount(name=name, site_id=found.id, zone_kind=zone, password_hash=password_hash(password), created_by=actor[:100])
    session.add(account)
    session.flush()
    audit.record(session, actor, "create", "agent_account", account.id, after={"name": name, "site": found.code, "zone": zone})
    return IssuedAccount(name=name, password=password, site=found.code, zone=zone)


def set_enabled(session: Session, name: str, enabled: bool, *, actor: str) -> bool:
    """Enable or disable an account; False when it already was so. Unknown names raise."""
    account = session.execute(select(AgentAccount).where(AgentAccount.name == name)).scalar_one_or_none()
    if account is None:
        raise AccountError(f"no agent account named {name!r}")
    if account.enabled == enabled:
        return False
    account.enabled = enabled
    audit.record(session, actor, "update", "agent_account", account.id, before={"enabled": not enabled}, after={"enabled": enabled})
    return True


def list_accounts(session: Session) -> list[dict]:
    """Every account with its site code, newest first; never a hash."""
    rows = session.execute(select(AgentAccount, Site.code).join(Site, Site.id == AgentAccount.site_id).order_by(AgentAccount.name))
    return [
        {
            "id": account.id,
            "name": account.name,
            "site": code,
            "zone": account.zone_kind,
            "enabled": account.enabled,
            "created_at": account.created_at,
            "created_by": account.created_by,
            "last_used_at": account.last_used_at,
            "reports": account.reports,
        }  # fmt: skip
        for account, code in rows
    ]


def authenticate(session: Session, name: str | None, password: str | None) -> AgentAccount | None:
    """The enabled account these basic-auth credentials name, or None (unknown name, wrong
    password or disabled: the caller answers 401 alike, so none can be told from another)."""
    if not name or not password or len(name) > 64 or len(password) > 256:
        return None
    account = session.execute(select(AgentAccount).where(AgentAccount.name == name)).scalar_one_or_none()
    expected = account.password_hash if account is not None else password_hash("")
    matches = hmac.compare_digest(password_hash(password), expected)
    if account is None or not matches or not account.enabled:
        return None
    return account


def mark_used(account: AgentAccount) -> None:
    account.last_used_at = utcnow()
    account.reports = (account.reports or 0) + 1
