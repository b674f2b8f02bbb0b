"""Notification channels: checked settings, a sealed write-only secret, every change audit-logged.

The secret (the SMTP password or the webhook's signing key) is sealed with the credential key
and never read back here: an edit that leaves it empty keeps the stored one. The audit log
records that it changed, never its value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlmodel import Session

from inventory import audit
from inventory.choices import ChannelKind, EventKind, Severity, values
from inventory.crypto import Vault
from inventory.models import EventDelivery, NotificationChannel, utcnow

_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")
_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]+$")
MAX_RECIPIENTS = 50


class ChannelError(ValueError):
    pass


@dataclass
class ChannelInput:
    """What the admin form or a caller asks for; `secret` empty keeps the stored one."""

    name: str
    kind: str
    enabled: bool = True
    min_severity: str = Severity.HIGH.value
    kinds: list[str] = field(default_factory=list)
    host: str = ""
    port: int | None = None
    sender: str = ""
    recipients: str = ""  # comma, semicolon or line separated
    starttls: bool = False
    username: str = ""
    url: str = ""
    secret: str = ""
    clear_secret: bool = False

    def __repr__(self) -> str:  # never the secret
        return f"ChannelInput({self.name!r}, {self.kind!r})"


def parse_recipients(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\s]+", text or "") if part.strip()]


def checked_settings(given: ChannelInput) -> dict[str, Any]:
    """The settings JSON of a channel, or ChannelError naming what is wrong."""
    if given.kind == ChannelKind.SMTP.value:
        host = given.host.strip()
        if not host or not _HOST.match(host):
            raise ChannelError("an SMTP channel needs a server host name or address")
        sender = given.sender.strip()
        if not _ADDRESS.match(sender):
            raise ChannelError(f"sender {sender!r} is not an e-mail address")
        recipients = parse_recipients(given.recipients)
        if not recipients:
            raise ChannelError("an SMTP channel needs at least one recipient")
        if len(recipients) > MAX_RECIPIENTS:
            raise ChannelError(f"at most {MAX_RECIPIENTS} recipients")
        bad = [r for r in recipients if not _ADDRESS.match(r)]
        if bad:
            raise ChannelError(f"not an e-mail address: {', '.join(bad)}")
        port = given.port or (587 if given.starttls else 25)
        if not 1 <= port <= 65535:
            raise ChannelError("the SMTP port must be between 1 and 65535")
        return {"host": host, "port": port, "sender": sender, "recipients": recipients, "starttls": bool(given.starttls), "username": given.username.strip()}
    if given.kind == ChannelKind.WEBHOOK.value:
        url = given.url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChannelError("the webhook URL must start with http:// or https:// and name a host")
        if parts.username or parts.password:
            raise ChannelError("the webhook URL must not hold a user name or password; the signing key authenticates it")
        if any(ch.isspace() for ch in url):
            raise ChannelError("the webhook URL must not contain spaces")
        return {"url": url}
    raise ChannelError(f"unknown channel kind {given.kind!r}; choose one of: {', '.join(values(ChannelKind))}")


def _checked(given: ChannelInput) -> None:
    if not given.name.strip():
        raise ChannelError("a channel needs a name")
    if given.min_severity not in values(Severity):
        raise ChannelError(f"unknown severity {given.min_severity!r}")
    unknown = [k for k in given.kinds if k not in values(EventKind)]
    if unknown:
        raise ChannelError(f"unknown event kinds: {', '.join(unknown)}")


def save_channel(session: Session, vault: Vault, given: ChannelInput, *, actor: str, channel_id: int | None = None) -> NotificationChannel:
    """Create (channel_id None) or update a channel."""
    _checked(given)
    settings = checked_settings(given)
    name = given.name.strip()
    channel = None
    if channel_id is not None:
        channel = session.get(NotificationChannel, channel_id)
        if channel is None:
            raise ChannelError(f"no notification channel #{channel_id}")
    twin = session.exec(select(NotificationChannel).where(NotificationChannel.name == name)).scalars().first()
    if twin is not None and twin is not channel:
        raise ChannelError(f"a channel named {name!r} already exists")
    before = audit.snapshot(channel)
    had_secret = bool(channel and channel.secret_token)
    if channel is None:
        channel = NotificationChannel(name=name, kind=given.kind)
        session.add(channel)
    channel.name, channel.kind, channel.enabled = name, given.kind, bool(given.enabled)
    channel.settings, channel.min_severity, channel.kinds = settings, given.min_severity, sorted(set(given.kinds))
    channel.updated_at = utcnow()
    if given.secret:
        channel.secret_token = vault.seal({"secret": given.secret})
    elif given.clear_secret:
        channel.secret_token = None
    if channel.kind == ChannelKind.WEBHOOK.value and not channel.secret_token:
        raise ChannelError("a webhook needs a signing key (it signs every delivery)")
    if channel.kind == ChannelKind.SMTP.value and channel.secret_token and not settings["starttls"]:
        raise ChannelError("an SMTP password needs STARTTLS (it is never sent in clear text)")
    session.flush()
    after = audit.snapshot(channel) | {"secret": "set" if channel.secret_token else "none", "secret_changed": bool(given.secret) or (had_secret and not channel.secret_token)}
    audit.record(session, actor, "update" if before else "create", "notification_channel", channel.id, before=before, after=after)
    return channel


def delete_channel(session: Session, channel_id: int, *, actor: str) -> str:
    """Delete a channel and its deliveries (sent or not); returns its name."""
    channel = session.get(NotificationChannel, channel_id)
    if channel is None:
        raise ChannelError(f"no notification channel #{channel_id}")
    audit.record(session, actor, "delete", "notification_channel", channel.id, before=audit.snapshot(channel))
    session.execute(delete(EventDelivery).where(EventDelivery.channel_id == channel.id))
    session.delete(channel)
    session.flush()
    return channel.name


def list_channels(session: Session) -> list[NotificationChannel]:
    return list(session.exec(select(NotificationChannel).order_by(NotificationChannel.name)).scalars())


def delivery_counts(session: Session) -> dict[int, dict[str, int]]:
    """Deliveries by channel and status, for the admin list."""
    out: dict[int, dict[str, int]] = {}
    rows = session.execute(select(EventDelivery.channel_id, EventDelivery.status, func.count()).group_by(EventDelivery.channel_id, EventDelivery.status))
    for channel_id, status, n in rows:
        out.setdefault(channel_id, {})[status] = n
    return out


def last_errors(session: Session) -> dict[int, str]:
    """Each channel's latest failure reason (one line, no secret), for the admin list."""
    latest = select(EventDelivery.channel_id, func.max(EventDelivery.id).label("id")).where(EventDelivery.last_error.is_not(None)).group_by(EventDelivery.channel_id).subquery()
    rows = session.execute(select(EventDelivery.channel_id, EventDelivery.last_error).join(latest, latest.c.id == EventDelivery.id))
    return {channel_id: error for channel_id, error in rows}
