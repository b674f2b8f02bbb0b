"""Sign-in, sign-out, throttling, CSRF, cookies, one-time passwords."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from inventory.models import AuditLog, User
from inventory.users import add_user
from tests.web.conftest import PASSWORD, csrf_token, login

pytestmark = pytest.mark.db


def test_login_and_logout(client, seed):
    assert client.get("/").status_code == 302
    response = login(client, seed.users["viewer"])
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "Người dùng viewer" in page.get_data(as_text=True)
    token = csrf_token(client, "/")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/").status_code == 302


def test_anonymous_is_sent_to_login_with_next(client, seed):
    response = client.get("/devices/?site=S1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    response = login(client, seed.users["viewer"], query_string={"next": "/devices/?site=S1"})
    assert response.headers["Location"] == "/devices/?site=S1"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(client, seed, target):
    response = login(client, seed.users["viewer"], query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_wrong_password_is_refused_and_audited(client, seed, engine):
    response = login(client, seed.users["viewer"], "wrong-password-1")
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    with Session(engine) as session:
        actions = session.exec(select(AuditLog.action).where(AuditLog.actor == seed.users["viewer"])).all()
    assert "login_failed" in actions


def test_unknown_user_and_inactive_user_are_refused(client, seed, engine):
    assert login(client, "nobody", PASSWORD).status_code == 401
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == seed.users["viewer"])).one()
        user.active = False
        session.add(user)
        session.commit()
    assert login(client, seed.users["viewer"]).status_code == 401


def test_throttling_after_five_failures_per_user_and_address(app, seed):
    client = app.test_client()
    username = seed.users["security_officer"]
    for _ in range(5):
        assert login(client, username, "wrong-password-1").status_code == 401
    # Sixth attempt, even with the right password: refused with a clear message.
    response = login(client, username)
    assert response.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in response.get_data(as_text=True)
    assert "15 phút" in response.get_data(as_text=True)
    # Another user from the same address, and the same user from another address, are not blocked.
    assert login(app.test_client(), seed.users["viewer"]).status_code == 302
    other = app.test_client()
    assert login(other, username, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 302
    # After the window the user may try again.
    throttle = app.extensions["kiemke.throttle"]
    real_clock = throttle.clock
    throttle.clock = lambda: real_clock() + 15 * 60 + 1
    assert login(app.test_client(), username).status_code == 302


def test_csrf_is_enforced(app, seed, login_as):
    client = app.test_client()
    response = client.post("/login", data={"username": seed.users["viewer"], "password": PASSWORD})
    assert response.status_code == 400
    signed = login_as("security_officer")
    assert signed.post("/logout").status_code == 400
    assert signed.post("/findings/waive", data={"ids": str(seed.finding_ids[0]), "reason": "x", "expires": "2099-01-01"}).status_code == 400
    assert signed.post("/language/en").status_code == 400
    assert signed.post("/password", data={"current": PASSWORD, "new": "another-pass-1", "confirm": "another-pass-1"}).status_code == 400


def test_session_cookie_is_httponly_and_samesite(client, seed):
    response = login(client, seed.users["viewer"])
    cookies = [value for name, value in response.headers if name == "Set-Cookie" and value.startswith("kiemke_session=")]
    assert cookies
    assert "HttpOnly" in cookies[-1] and "SameSite=Lax" in cookies[-1]


def test_security_headers(client, seed):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_secret_key_comes_from_settings(app, tmp_path):
    assert app.config["SECRET_KEY"] == (tmp_path / "home" / "secret_key").read_text().strip()
    assert len(app.config["SECRET_KEY"]) >= 32


def test_one_time_password_must_be_changed_first(app, engine, seed):
    with Session(engine) as session:
        _, one_time = add_user(session, "moi", "viewer", actor="test")
        session.commit()
    client = app.test_client()
    response = login(client, "moi", one_time)
    assert response.headers["Location"] == "/password"
    for path in ("/", "/devices/", "/findings/"):
        assert client.get(path).headers["Location"] == "/password"
    token = csrf_token(client, "/password")
    short = client.post("/password", data={"current": one_time, "new": "short", "confirm": "short", "csrf_token": token})
    assert short.status_code == 200 and client.get("/").status_code == 302
    response = client.post("/password", data={"current": one_time, "new": "mat-khau-moi-456", "confirm": "mat-khau-moi-456", "csrf_token": token})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "moi")).one()
        assert not user.must_change_password
        assert session.exec(select(AuditLog).where(AuditLog.action == "password_change")).first() is not None
    assert login(app.test_client(), "moi", "mat-khau-moi-456").status_code == 302


def test_changing_the_password_ends_other_sessions(app, seed, login_as):
    first = login_as("planner")
    second = login_as("planner")
    token = csrf_token(first, "/password")
    response = first.post("/password", data={"current": PASSWORD, "new": "doi-mat-khau-789", "confirm": "doi-mat-khau-789", "csrf_token": token})
    assert response.status_code == 302
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302  # signed out: its session predates the change
