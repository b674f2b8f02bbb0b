"""Delivery of events: a real SMTP server and a real HTTP receiver on loopback receive them;
failures are retried with a growing delay, logged without secrets, and given up after the last."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlmodel import Session, select

from compliance import notify
from compliance.channels import ChannelError, ChannelInput, save_channel
from inventory.crypto import Vault
from inventory.models import AuditLog, Device, Event, EventDelivery
from tests.compliance.receivers import free_port, hanging_server, http_receiver, smtp_server
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

SIGNING_KEY = "khoa-ky-bi-mat-0123456789"
SMTP_PASSWORD = "mat-khau-smtp-XYZ"
T0 = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def vault() -> Vault:
    return Vault(SecretStr(Fernet.generate_key().decode()))


@pytest.fixture
def place(session):
    province = make_province(session, sites=1)
    device = Device(device_class="access_switch", site_id=province["S1"]["site"], zone_id=province["S1"]["party_wan"], hostname="sw-xã-1", mgmt_ip="10.1.1.2")
    session.add(device)
    session.commit()
    return province["S1"]["site"], device.id


def add_channel(session, vault, **kwargs):
    channel = save_channel(session, vault, ChannelInput(**kwargs), actor="test")
    session.commit()
    return channel


def raise_event(session, place, kind="new_critical_finding", severity="critical", key="k1", **data):
    site_id, device_id = place
    event = Event(kind=kind, severity=severity, key=key, site_id=site_id, device_id=device_id, created_at=T0, data=data)
    session.add(event)
    queued = notify.queue_deliveries(session, [event])
    session.commit()
    return event, queued


def deliveries(engine) -> list[EventDelivery]:
    with Session(engine) as s:
        return list(s.exec(select(EventDelivery).order_by(EventDelivery.id)))


def test_email_arrives_in_vietnamese_utf8(engine, session, vault, place):
    with smtp_server() as (port, mailbox):
        add_channel(session, vault, name="Thư Sở", kind="smtp", host="127.0.0.1", port=port, sender="kiemke@tinh.gov.vn", recipients="a@tinh.gov.vn, b@tinh.gov.vn", min_severity="high")
        _, queued = raise_event(session, place, rule="net.telnet_off")
        assert queued == 1
        summary = notify.deliver_due(engine, vault, T0 + timedelta(seconds=1), timeout=5)
    assert summary["sent"] == 1
    (envelope,) = mailbox.envelopes
    assert sorted(envelope.rcpt_tos) == ["a@tinh.gov.vn", "b@tinh.gov.vn"]
    message = message_from_bytes(envelope.original_content, policy=policy.default)
    assert message["Subject"] == "[kiemke] Nghiêm trọng: Phát hiện nghiêm trọng mới — S1"
    body = message.get_content()
    assert "Đơn vị: S1 — Xã Thử 1" in body and "Thiết bị: sw-xã-1 (10.1.1.2" in body
    assert "Thời gian: 02/12/2026 10:00 (giờ Việt Nam)" in body and "rule: net.telnet_off" in body
    (delivery,) = deliveries(engine)
    assert delivery.status == "sent" and delivery.attempts == 1 and delivery.sent_at is not None


def test_webhook_is_signed_with_the_sealed_key(engine, session, vault, place):
    with http_receiver(status=200) as (url, received):
        add_channel(session, vault, name="hook", kind="webhook", url=url, secret=SIGNING_KEY, min_severity="low")
        event, _ = raise_event(session, place)
        assert notify.deliver_due(engine, vault, T0, timeout=5)["sent"] == 1
    ((path, headers, body),) = received
    timestamp = headers["X-Kiemke-Timestamp"]
    expected = hmac.new(SIGNING_KEY.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Kiemke-Signature"] == f"sha256={expected}"
    assert timestamp == str(int(T0.timestamp()))
    payload = json.loads(body)
    assert payload["id"] == event.id and payload["kind"] == "new_critical_finding" and payload["site"]["code"] == "S1"
    assert payload["device"]["hostname"] == "sw-xã-1"
    assert SIGNING_KEY.encode() not in body


def test_refused_delivery_is_retried_with_growing_delays_then_failed(engine, session, vault, place, caplog):
    dead = free_port()
    add_channel(session, vault, name="dead hook", kind="webhook", url=f"http://127.0.0.1:{dead}/hook", secret=SIGNING_KEY, min_severity="low")
    raise_event(session, place)
    caplog.set_level(logging.WARNING, logger="kiemke.notify")
    now = T0
    for attempt, delay in enumerate([1, 5, 15, 60], start=1):
        assert notify.deliver_due(engine, vault, now, timeout=2)["retry"] == 1
        (delivery,) = deliveries(engine)
        assert (delivery.status, delivery.attempts) == ("pending", attempt)
        assert delivery.last_error == "connection refused"
        assert notify.deliver_due(engine, vault, now + timedelta(minutes=delay) - timedelta(seconds=1)) == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
        now += timedelta(minutes=delay)
    assert notify.deliver_due(engine, vault, now, timeout=2)["failed"] == 1
    (delivery,) = deliveries(engine)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 5, None)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 5 and all("\n" not in line for line in lines)
    assert "attempt 1/5 failed (retry in 1 min): connection refused" in lines[0] and "given up" in lines[-1]
    assert SIGNING_KEY not in caplog.text


@pytest.mark.parametrize("kind", ["smtp", "webhook"])
def test_a_hanging_server_is_bounded_by_the_timeout(engine, session, vault, place, kind):
    with hanging_server() as port:
        if kind == "smtp":
            add_channel(session, vault, name="slow", kind="smtp", host="127.0.0.1", port=port, sender="k@x.vn", recipients="a@x.vn", min_severity="low")
        else:
            add_channel(session, vault, name="slow", kind="webhook", url=f"http://127.0.0.1:{port}/", secret=SIGNING_KEY, min_severity="low")
        raise_event(session, place)
        started = time.monotonic()
        summary = notify.deliver_due(engine, vault, T0, timeout=0.5)
        elapsed = time.monotonic() - started
    assert summary["retry"] == 1 and elapsed < 3
    (delivery,) = deliveries(engine)
    assert delivery.last_error == "no answer within the timeout"


def test_redirects_are_not_followed(engine, session, vault, place):
    with http_receiver(status=302, headers={"Location": "/elsewhere"}) as (url, received):
        add_channel(session, vault, name="hook", kind="webhook", url=url, secret=SIGNING_KEY, min_severity="low")
        raise_event(session, place)
        assert notify.deliver_due(engine, vault, T0, timeout=2)["retry"] == 1
    assert [path for path, _, _ in received] == ["/hook"]
    assert deliveries(engine)[0].last_error == "HTTP 302: redirect not followed"


def test_http_error_is_a_failed_attempt(engine, session, vault, place):
    with http_receiver(status=500) as (url, _):
        add_channel(session, vault, name="hook", kind="webhook", url=url, secret=SIGNING_KEY, min_severity="low")
        raise_event(session, place)
        assert notify.deliver_due(engine, vault, T0, timeout=2)["retry"] == 1
    assert deliveries(engine)[0].last_error.startswith("HTTP 500")


def test_channels_filter_by_severity_and_kind(engine, session, vault, place):
    add_channel(session, vault, name="critical only", kind="webhook", url="http://127.0.0.1:9/", secret=SIGNING_KEY, min_severity="critical")
    add_channel(session, vault, name="new devices", kind="webhook", url="http://127.0.0.1:9/", secret=SIGNING_KEY, min_severity="low", kinds=["unrecorded_device"])
    add_channel(session, vault, name="off", kind="webhook", url="http://127.0.0.1:9/", secret=SIGNING_KEY, min_severity="low", enabled=False)
    assert raise_event(session, place, "new_critical_finding", "critical", "a")[1] == 1
    assert raise_event(session, place, "unrecorded_device", "medium", "b")[1] == 1
    assert raise_event(session, place, "unrecorded_device", "critical", "c")[1] == 2
    assert raise_event(session, place, "device_silent", "high", "d")[1] == 0
    event = session.exec(select(Event).where(Event.key == "a")).one()
    assert notify.queue_deliveries(session, [event]) == 0  # queued once only


def test_a_channel_disabled_after_queueing_does_not_send(engine, session, vault, place):
    with http_receiver() as (url, received):
        channel = add_channel(session, vault, name="hook", kind="webhook", url=url, secret=SIGNING_KEY, min_severity="low")
        raise_event(session, place)
        save_channel(session, vault, ChannelInput(name="hook", kind="webhook", url=url, min_severity="low", enabled=False), actor="test", channel_id=channel.id)
        session.commit()
        assert notify.deliver_due(engine, vault, T0)["failed"] == 1
    assert received == []


def test_the_smtp_password_needs_starttls_and_stays_out_of_the_audit_log(engine, session, vault):
    with pytest.raises(ChannelError, match="STARTTLS"):
        save_channel(session, vault, ChannelInput(name="m", kind="smtp", host="mail.tinh.gov.vn", sender="k@x.vn", recipients="a@x.vn", secret=SMTP_PASSWORD), actor="t")
    session.rollback()
    channel = save_channel(
        session, vault, ChannelInput(name="m", kind="smtp", host="mail.tinh.gov.vn", sender="k@x.vn", recipients="a@x.vn", starttls=True, username="kiemke", secret=SMTP_PASSWORD), actor="t"
    )
    session.commit()
    assert vault.open(channel.secret_token)["secret"].get_secret_value() == SMTP_PASSWORD
    assert channel.settings["port"] == 587
    entries = list(session.exec(select(AuditLog).where(AuditLog.entity == "notification_channel")))
    assert entries and SMTP_PASSWORD not in json.dumps([e.after for e in entries]) and entries[0].after["secret"] == "set"


def test_a_webhook_needs_an_http_url_and_a_signing_key(session, vault):
    for url in ("file:///etc/passwd", "ftp://x/", "http://user:pw@host/", "http:///nohost"):
        with pytest.raises(ChannelError):
            save_channel(session, vault, ChannelInput(name="h", kind="webhook", url=url, secret=SIGNING_KEY), actor="t")
    with pytest.raises(ChannelError, match="signing key"):
        save_channel(session, vault, ChannelInput(name="h", kind="webhook", url="https://hooks.tinh.gov.vn/x"), actor="t")


def test_the_test_send_reports_one_line(session, vault):
    with smtp_server() as (port, mailbox):
        channel = add_channel(session, vault, name="Thư", kind="smtp", host="127.0.0.1", port=port, sender="k@x.vn", recipients="a@x.vn")
        assert notify.send_test(vault, channel, timeout=5) == (True, "sent")
    assert "Thử gửi thông báo" in message_from_bytes(mailbox.envelopes[0].original_content, policy=policy.default)["Subject"]
    dead = add_channel(session, vault, name="dead", kind="webhook", url=f"http://127.0.0.1:{free_port()}/", secret=SIGNING_KEY)
    assert notify.send_test(vault, dead, timeout=2) == (False, "connection refused")


def test_delivery_job_survives_a_missing_database(tmp_path, vault, caplog):
    from inventory import db

    broken = db.engine_for(f"sqlite:///{tmp_path}/none/x.db")
    assert notify.delivery_job(broken, vault) is None
    assert "delivery skipped" in caplog.text


def test_a_broken_channel_does_not_stop_the_others(engine, session, vault, place, caplog):
    with http_receiver() as (url, received):
        add_channel(session, vault, name="good", kind="webhook", url=url, secret=SIGNING_KEY, min_severity="low")
        broken = add_channel(session, vault, name="broken", kind="smtp", host="127.0.0.1", sender="k@x.vn", recipients="a@x.vn", min_severity="low")
        broken.settings = {"host": "127.0.0.1"}  # hand-edited: no sender, no recipients
        session.commit()
        raise_event(session, place)
        summary = notify.deliver_due(engine, vault, T0, timeout=2)
    assert (summary["sent"], summary["retry"]) == (1, 1) and len(received) == 1
    assert "channel settings incomplete or malformed (KeyError: 'sender')" in caplog.text
