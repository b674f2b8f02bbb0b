"""Delivery of events to the notification channels: e-mail (SMTP) and signed webhooks.

Raising an event only queues an `EventDelivery` per matching channel (`queue_deliveries`, inside
the raiser's transaction); sending happens later, outside any evaluation, in `deliver_due` (the
scheduler runs `delivery_job` every minute). A delivery is claimed before it is sent, so a crash
mid-send means one retry, never a lost event; a failure is logged in one line without secrets and
retried after a growing delay until MAX_ATTEMPTS, then marked 'failed'. Every network step is
bounded by `timeout`, so a hanging server costs at most that long per delivery.

Webhook signature: `X-Kiemke-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the
channel's sealed key, where `<timestamp>` is the `X-Kiemke-Timestamp` header (Unix seconds); a
receiver recomputes it and rejects old timestamps to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from inventory import db
from inventory.choices import LOCAL_TIMEZONE, SEVERITY_LABELS_VI, ChannelKind, DeliveryStatus, EventKind, Severity
from inventory.crypto import CredentialKeyError, Vault
from inventory.models import Device, Event, EventDelivery, NotificationChannel, Site

log = logging.getLogger("kiemke.notify")

# Delay before retry n (after failed attempt n); the attempt after the last delay is the last one.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=60))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
BATCH = 200  # deliveries per run; the rest wait a minute
RESPONSE_BYTES = 4096  # a webhook's answer is read this far, then ignored
LOCAL_ZONE = ZoneInfo(LOCAL_TIMEZONE)
SEVERITY_ORDER = [s.value for s in Severity]  # most severe first

KIND_LABELS_VI = {  # as web.labels.EVENT_KIND_LABELS shows them
    EventKind.NEW_CRITICAL_FINDING.value: "Phát hiện nghiêm trọng mới",
    EventKind.UNRECORDED_DEVICE.value: "Thiết bị chưa ghi nhận",
    EventKind.DEVICE_SILENT.value: "Thiết bị không phản hồi quá hạn",
    EventKind.WAIVER_EXPIRING.value: "Miễn trừ sắp hết hạn",
    EventKind.RUN_FAILED.value: "Quét hoặc kiểm tra thất bại",
    EventKind.COLLECTOR_SILENT.value: "Bộ thu thập im lặng quá hạn",
    EventKind.COLLECTOR_REFUSED.value: "Dữ liệu của bộ thu thập bị từ chối",
}
TEST_KIND = "test"
TEST_LABEL_VI = "Thử gửi thông báo"


class DeliveryError(Exception):
    """One delivery attempt failed; the message is one line and holds no secret."""


# ------------------------------------------------------------------------------ queueing


def severity_at_least(severity: str, minimum: str) -> bool:
    if severity not in SEVERITY_ORDER or minimum not in SEVERITY_ORDER:
        return False
    return SEVERITY_ORDER.index(severity) <= SEVERITY_ORDER.index(minimum)


def channel_accepts(channel: NotificationChannel, event: Event) -> bool:
    return channel.enabled and severity_at_least(event.severity, channel.min_severity) and (not channel.kinds or event.kind in channel.kinds)


def queue_deliveries(session: Session, events: list[Event]) -> int:
    """One pending delivery per event and enabled channel that wants it; call it in the
    transaction that raises the events. Returns how many were queued."""
    if not events:
        return 0
    channels = list(session.exec(select(NotificationChannel).where(NotificationChannel.enabled.is_(True))).scalars())
    if not channels:
        return 0
    session.flush()  # the events' ids
    ids = [e.id for e in events]
    queued = {tuple(row) for row in session.execute(select(EventDelivery.event_id, EventDelivery.channel_id).where(EventDelivery.event_id.in_(ids)))}
    now = datetime.now(UTC)
    count = 0
    for event in events:
        for channel in channels:
            if (event.id, channel.id) not in queued and channel_accepts(channel, event):
                # Due from the moment the event was raised: the next delivery run sends it.
                session.add(EventDelivery(event_id=event.id, channel_id=channel.id, next_attempt_at=event.created_at or now))
                queued.add((event.id, channel.id))
                count += 1
    session.flush()
    return count


# ------------------------------------------------------------------------------ the message


@dataclass(frozen=True)
class Notice:
    """What is sent about one event, in plain data (no session needed while sending)."""

    event_id: int | None
    kind: str
    severity: str
    key: str
    created_at: datetime
    site: dict[str, Any] | None
    device: dict[str, Any] | None
    finding_id: int | None
    scan_run_id: int | None
    data: dict[str, Any]

    @property
    def kind_label(self) -> str:
        return TEST_LABEL_VI if self.kind == TEST_KIND else KIND_LABELS_VI.get(self.kind, self.kind)

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.event_id, "kind": self.kind, "kind_label": self.kind_label, "severity": self.severity, "key": self.key,
            "created_at": _aware(self.created_at).isoformat(), "site": self.site, "device": self.device,
            "finding_id": self.finding_id, "scan_run_id": self.scan_run_id, "data": self.data,
        }  # fmt: skip

    def subject(self) -> str:
        where = f" — {self.site['code']}" if self.site else ""
        return f"[kiemke] {SEVERITY_LABELS_VI.get(self.severity, self.severity)}: {self.kind_label}{where}"

    def text(self) -> str:
        local = _aware(self.created_at).astimezone(LOCAL_ZONE)
        lines = [
            f"Sự kiện: {self.kind_label}",
            f"Mức độ: {SEVERITY_LABELS_VI.get(self.severity, self.severity)}",
            f"Đơn vị: {self.site['code']} — {self.site['name']}" if self.site else "Đơn vị: (không gắn với đơn vị)",
        ]
        if self.device:
            lines.append(f"Thiết bị: {self.device['hostname'] or '(chưa đặt tên)'} ({self.device['mgmt_ip'] or 'không có IP quản lý'}, #{self.device['id']})")
        lines.append(f"Thời gian: {local:%d/%m/%Y %H:%M} (giờ Việt Nam)")
        if self.finding_id:
            lines.append(f"Phát hiện: #{self.finding_id}")
        if self.scan_run_id:
            lines.append(f"Lượt quét: #{self.scan_run_id}")
        for name, value in sorted(self.data.items()):
            lines.append(f"{name}: {value}")
        lines += ["", "Thư này do kiemke gửi tự động; xem chi tiết trong trang Tổng quan."]
        return "\n".join(lines) + "\n"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _notice(event: Event, site: Site | None, device: Device | None) -> Notice:
    return Notice(
        event_id=event.id, kind=event.kind, severity=event.severity, key=event.key, created_at=event.created_at,
        site={"code": site.code, "name": site.name} if site else None,
        device={"id": device.id, "hostname": device.hostname, "mgmt_ip": device.mgmt_ip} if device else None,
        finding_id=event.finding_id, scan_run_id=event.scan_run_id, data=dict(event.data or {}),
    )  # fmt: skip


def sample_notice(now: datetime | None = None) -> Notice:
    """The made-up event of the admin page's "Gửi thử" button: never stored."""
    moment = now or datetime.now(UTC)
    return Notice(None, TEST_KIND, Severity.LOW.value, f"test:{moment.timestamp():.0f}", moment, None, None, None, None, {"ghi chú": "Đây là thư thử."})


# ------------------------------------------------------------------------------ sending


@dataclass(frozen=True)
class Target:
    """A channel opened for sending: its settings and its secret (kept out of repr)."""

    name: str
    kind: str
    settings: dict[str, Any]
    secret: str | None

    def __repr__(self) -> str:
        return f"Target({self.name!r}, {self.kind!r})"


def open_channel(channel: NotificationChannel, vault: Vault) -> Target:
    secret = None
    if channel.secret_token:
        try:
            opened = vault.open(channel.secret_token)
        except CredentialKeyError as exc:
            raise DeliveryError(str(exc)) from None
        value = opened.get("secret")
        secret = value.get_secret_value() if value is not None else None
    return Target(channel.name, channel.kind, dict(channel.settings or {}), secret)


def send(target: Target, notice: Notice, *, timeout: float = 10, now: datetime | None = None) -> None:
    """One attempt; raises DeliveryError with a one-line reason free of the secret."""
    try:
        if target.kind == ChannelKind.SMTP.value:
            _send_mail(target, notice, timeout)
        elif target.kind == ChannelKind.WEBHOOK.value:
            _post_webhook(target, notice, timeout, now or datetime.now(UTC))
        else:
            raise DeliveryError(f"unknown channel kind {target.kind!r}")
    except DeliveryError as exc:
        raise DeliveryError(_scrub(str(exc), target.secret)) from None
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        raise DeliveryError(_scrub(_reason(exc), target.secret)) from None
    except (KeyError, TypeError) as exc:  # settings stored by hand, not through compliance.channels
        raise DeliveryError(f"channel settings incomplete or malformed ({type(exc).__name__}: {exc})") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) or (isinstance(exc, smtplib.SMTPServerDisconnected) and "timed out" in str(exc)):
        return "no answer within the timeout"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the SMTP server closed the connection"
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return _reason(exc.reason) if isinstance(exc.reason, BaseException) else f"cannot reach the server: {exc.reason}"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"SMTP {exc.smtp_code} {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"SMTP refused the recipients: {', '.join(exc.recipients)}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _scrub(reason: str, secret: str | None) -> str:
    line = " ".join(reason.split())[:300] or "unknown error"
    return line.replace(secret, "***") if secret else line


def _send_mail(target: Target, notice: Notice, timeout: float) -> None:
    s = target.settings
    message = EmailMessage()
    message["Subject"] = notice.subject()
    message["From"] = s["sender"]
    message["To"] = ", ".join(s["recipients"])
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="kiemke")
    message.set_content(notice.text(), charset="utf-8")
    username = s.get("username") or None
    if target.secret and not s.get("starttls"):
        # Fail closed: a password never crosses the network in clear text.
        raise DeliveryError("refusing to send the SMTP password without STARTTLS")
    with smtplib.SMTP(s["host"], int(s.get("port") or 25), timeout=timeout) as smtp:
        smtp.ehlo()
        if s.get("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if target.secret:
            smtp.login(username or s["sender"], target.secret)
        refused = smtp.send_message(message, from_addr=s["sender"], to_addrs=list(s["recipients"]))
    if refused:
        raise DeliveryError(f"SMTP refused the recipients: {', '.join(sorted(refused))}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ARG002
        raise DeliveryError(f"HTTP {code}: redirect not followed")


# No proxies (loopback and the province's own receivers are reached directly), no redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def signature(key: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _post_webhook(target: Target, notice: Notice, timeout: float, now: datetime) -> None:
    url = target.settings["url"]
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError("webhook URL must be http or https")
    if not target.secret:
        raise DeliveryError("webhook has no signing key")
    body = json.dumps(notice.payload(), ensure_ascii=False, sort_keys=True).encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "kiemke-notify",
        "X-Kiemke-Event": notice.kind, "X-Kiemke-Timestamp": timestamp, "X-Kiemke-Signature": signature(target.secret, timestamp, body),
    }  # fmt: skip
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (scheme checked above)
    with _OPENER.open(request, timeout=timeout) as response:
        response.read(RESPONSE_BYTES)
        if not 200 <= response.status < 300:
            raise DeliveryError(f"HTTP {response.status}")


def send_test(vault: Vault, channel: NotificationChannel, *, timeout: float = 10) -> tuple[bool, str]:
    """The admin page's "Gửi thử": one attempt now, its one-line result (nothing stored)."""
    try:
        send(open_channel(channel, vault), sample_notice(), timeout=timeout)
    except DeliveryError as exc:
        log.warning("test delivery to channel %r failed: %s", channel.name, exc)
        return False, str(exc)
    return True, "sent"


# ------------------------------------------------------------------------------ the delivery run


def _claim(engine: Engine, delivery_id: int, attempts: int, now: datetime) -> bool:
    """Take one due delivery: count the attempt and set its next retry before sending, so that two
    runs never send it twice and a crash mid-send ends in a retry."""
    delay = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS) - 1)]
    with db.session_scope(engine) as session:
        result = session.execute(
            update(EventDelivery)
            .where(EventDelivery.id == delivery_id, EventDelivery.attempts == attempts, EventDelivery.status == DeliveryStatus.PENDING.value)
            .values(attempts=attempts + 1, next_attempt_at=now + delay)
        )
        return result.rowcount == 1


def _finish(engine: Engine, delivery_id: int, *, status: str, error: str | None, now: datetime) -> None:
    values: dict[str, Any] = {"status": status, "last_error": error}
    if status == DeliveryStatus.SENT.value:
        values |= {"sent_at": now, "next_attempt_at": None}
    elif status == DeliveryStatus.FAILED.value:
        values["next_attempt_at"] = None
    with db.session_scope(engine) as session:
        session.execute(update(EventDelivery).where(EventDelivery.id == delivery_id).values(**values))


def _due(engine: Engine, now: datetime) -> list[tuple[int, int, Notice, NotificationChannel]]:
    with db.session_scope(engine) as session:
        rows = session.execute(
            select(EventDelivery.id, EventDelivery.attempts, Event, Site, Device, NotificationChannel)
            .join(Event, Event.id == EventDelivery.event_id)
            .join(NotificationChannel, NotificationChannel.id == EventDelivery.channel_id)
            .outerjoin(Site, Site.id == Event.site_id)
            .outerjoin(Device, Device.id == Event.device_id)
            .where(EventDelivery.status == DeliveryStatus.PENDING.value, EventDelivery.next_attempt_at <= now)
            .order_by(EventDelivery.next_attempt_at, EventDelivery.id)
            .limit(BATCH)
        ).all()
        return [(d_id, attempts, _notice(event, site, device), channel) for d_id, attempts, event, site, device, channel in rows]


def deliver_due(engine: Engine, vault: Vault, now: datetime | None = None, *, timeout: float = 10) -> dict[str, int]:
    """Send every pending delivery that is due; returns counts: sent, retry (will be retried),
    failed (gave up), skipped (taken by another run)."""
    now = now or datetime.now(UTC)
    summary = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    for delivery_id, attempts, notice, channel in _due(engine, now):
        if not _claim(engine, delivery_id, attempts, now):
            summary["skipped"] += 1
            continue
        attempt = attempts + 1
        try:
            if not channel.enabled:
                raise DeliveryError("channel disabled")
            send(open_channel(channel, vault), notice, timeout=timeout, now=now)
        except DeliveryError as exc:
            final = attempt >= MAX_ATTEMPTS or str(exc) == "channel disabled"
            _finish(engine, delivery_id, status=DeliveryStatus.FAILED.value if final else DeliveryStatus.PENDING.value, error=str(exc), now=now)
            summary["failed" if final else "retry"] += 1
            when = "given up" if final else f"retry in {RETRY_DELAYS[attempt - 1].seconds // 60} min"
            log.warning("event %s to channel %r: attempt %d/%d failed (%s): %s", notice.event_id, channel.name, attempt, MAX_ATTEMPTS, when, exc)
            continue
        _finish(engine, delivery_id, status=DeliveryStatus.SENT.value, error=None, now=now)
        summary["sent"] += 1
    return summary


def delivery_job(engine: Engine, vault: Vault) -> dict[str, int] | None:
    """The scheduler's every-minute job. A database outage skips this run (one log line)."""
    try:
        summary = deliver_due(engine, vault)
    except (OperationalError, InterfaceError) as exc:
        reason = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
        log.error("notifications: database unavailable, delivery skipped until the next run: %s", reason[0])
        return None
    if summary["sent"] or summary["retry"] or summary["failed"]:
        log.info("notifications: %(sent)d sent, %(retry)d to retry, %(failed)d given up", summary)
    return summary
