"""Admin pages of the notification channels: admin only, the secret write-only (never on a page,
in the audit log or a flash), "Gửi thử" shows its one-line result, delete needs confirming."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlmodel import Session, select

from inventory.models import AuditLog, NotificationChannel
from tests.compliance.receivers import free_port, http_receiver, smtp_server
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db

SIGNING_KEY = "khoa-ky-web-987654321"
OTHER_KEY = "khoa-ky-moi-123456789"


def post(client, path, data):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/admin/notifications")}, follow_redirects=True)


def webhook(url, **extra):
    return {"name": "Hook Sở", "kind": "webhook", "enabled": "y", "min_severity": "high", "url": url, "secret": SIGNING_KEY, **extra}


def channel_named(engine, name) -> NotificationChannel:
    with Session(engine) as session:
        return session.exec(select(NotificationChannel).where(NotificationChannel.name == name)).one()


def audit_entries(engine) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.entity == "notification_channel").order_by(AuditLog.id)))


@pytest.fixture
def admin(login_as):
    return login_as("admin")


@pytest.mark.parametrize("role", ["security_officer", "technician", "planner", "viewer"])
def test_only_admins_manage_channels(login_as, admin, engine, role):
    post(admin, "/admin/notifications", webhook("https://hooks.tinh.gov.vn/x"))
    channel_id = channel_named(engine, "Hook Sở").id
    before = len(audit_entries(engine))
    client = login_as(role)
    token = csrf_token(client, "/admin/token")
    assert client.get("/admin/notifications").status_code == 403
    assert client.get(f"/admin/notifications/{channel_id}").status_code == 403
    for path in ("/admin/notifications", f"/admin/notifications/{channel_id}", f"/admin/notifications/{channel_id}/delete", f"/admin/notifications/{channel_id}/test"):
        response = client.post(path, data={**webhook("https://evil.example/"), "confirm": "y", "csrf_token": token})
        assert response.status_code == 403, path
    assert len(audit_entries(engine)) == before
    assert channel_named(engine, "Hook Sở").settings["url"] == "https://hooks.tinh.gov.vn/x"


def test_the_secret_is_write_only(admin, engine, app):
    body = post(admin, "/admin/notifications", webhook("https://hooks.tinh.gov.vn/x")).get_data(as_text=True)
    assert "Đã lưu kênh thông báo Hook Sở." in body and SIGNING_KEY not in body
    channel = channel_named(engine, "Hook Sở")
    vault = app.extensions["kiemke.vault"]
    assert vault.open(channel.secret_token)["secret"].get_secret_value() == SIGNING_KEY
    edit = admin.get(f"/admin/notifications/{channel.id}").get_data(as_text=True)
    assert SIGNING_KEY not in edit and "để trống để giữ nguyên" in edit and "https://hooks.tinh.gov.vn/x" in edit
    # Saved again with the secret left empty: the stored key stays.
    post(admin, f"/admin/notifications/{channel.id}", webhook("https://hooks.tinh.gov.vn/y", secret="", min_severity="critical"))
    kept = channel_named(engine, "Hook Sở")
    assert (kept.settings["url"], kept.min_severity) == ("https://hooks.tinh.gov.vn/y", "critical")
    assert vault.open(kept.secret_token)["secret"].get_secret_value() == SIGNING_KEY
    post(admin, f"/admin/notifications/{channel.id}", webhook("https://hooks.tinh.gov.vn/y", secret=OTHER_KEY))
    assert vault.open(channel_named(engine, "Hook Sở").secret_token)["secret"].get_secret_value() == OTHER_KEY
    entries = audit_entries(engine)
    assert [e.action for e in entries] == ["create", "update", "update"]
    logged = json.dumps([[e.before, e.after] for e in entries])
    assert SIGNING_KEY not in logged and OTHER_KEY not in logged
    assert [e.after["secret_changed"] for e in entries] == [True, False, True]
    assert SIGNING_KEY not in admin.get("/admin/notifications").get_data(as_text=True)


def test_bad_settings_are_refused_with_a_reason(admin, engine):
    response = post(admin, "/admin/notifications", webhook("file:///etc/passwd"))
    assert response.status_code == 400
    assert "phải bắt đầu bằng http:// hoặc https://" in response.get_data(as_text=True)
    response = post(admin, "/admin/notifications", webhook("https://hooks.tinh.gov.vn/x", secret=""))
    assert response.status_code == 400 and "webhook cần khóa ký" in response.get_data(as_text=True)
    with Session(engine) as session:
        assert session.exec(select(NotificationChannel)).first() is None


def test_send_test_shows_the_result(admin, engine):
    with http_receiver(status=200) as (url, received):
        post(admin, "/admin/notifications", webhook(url))
        channel_id = channel_named(engine, "Hook Sở").id
        body = post(admin, f"/admin/notifications/{channel_id}/test", {}).get_data(as_text=True)
    assert "Đã gửi thử qua kênh Hook Sở." in body
    ((_, headers, payload),) = received
    signed = hmac.new(SIGNING_KEY.encode(), headers["X-Kiemke-Timestamp"].encode() + b"." + payload, hashlib.sha256).hexdigest()
    assert headers["X-Kiemke-Signature"] == f"sha256={signed}" and json.loads(payload)["kind"] == "test"
    post(admin, f"/admin/notifications/{channel_id}", webhook(f"http://127.0.0.1:{free_port()}/", secret=""))
    body = post(admin, f"/admin/notifications/{channel_id}/test", {}).get_data(as_text=True)
    assert "Gửi thử qua kênh Hook Sở thất bại: máy nhận từ chối kết nối" in body and SIGNING_KEY not in body
    assert [e.after for e in audit_entries(engine) if e.action == "test"] == [{"result": "sent"}, {"result": "connection refused"}]


def test_an_smtp_channel_sends_a_test_mail(admin, engine):
    with smtp_server() as (port, mailbox):
        data = {"name": "Thư", "kind": "smtp", "enabled": "y", "min_severity": "high", "host": "127.0.0.1", "port": str(port), "sender": "kiemke@tinh.gov.vn",
                "recipients": "a@tinh.gov.vn; b@tinh.gov.vn", "kinds": ["new_critical_finding", "run_failed"]}  # fmt: skip
        post(admin, "/admin/notifications", data)
        channel = channel_named(engine, "Thư")
        assert channel.kinds == ["new_critical_finding", "run_failed"] and channel.settings["recipients"] == ["a@tinh.gov.vn", "b@tinh.gov.vn"]
        assert "Đã gửi thử qua kênh Thư." in post(admin, f"/admin/notifications/{channel.id}/test", {}).get_data(as_text=True)
    assert sorted(mailbox.envelopes[0].rcpt_tos) == ["a@tinh.gov.vn", "b@tinh.gov.vn"]


def test_delete_needs_confirming(admin, engine):
    post(admin, "/admin/notifications", webhook("https://hooks.tinh.gov.vn/x"))
    channel_id = channel_named(engine, "Hook Sở").id
    assert "hãy đánh dấu ô xác nhận" in post(admin, f"/admin/notifications/{channel_id}/delete", {}).get_data(as_text=True)
    channel_named(engine, "Hook Sở")
    assert "Đã xóa kênh thông báo Hook Sở." in post(admin, f"/admin/notifications/{channel_id}/delete", {"confirm": "y"}).get_data(as_text=True)
    with Session(engine) as session:
        assert session.exec(select(NotificationChannel)).first() is None
    assert [e.action for e in audit_entries(engine)] == ["create", "delete"]
    assert admin.get(f"/admin/notifications/{channel_id}").status_code == 404
