"""KIEMKE_SECURE_COOKIES and KIEMKE_TRUSTED_PROXIES: cookies only over HTTPS when asked, and the
client's address and scheme taken from X-Forwarded-* headers only when a proxy is trusted."""

from __future__ import annotations

import pytest
from flask import url_for
from pydantic import ValidationError
from sqlmodel import Session, select

from inventory.models import AuditLog
from inventory.settings import Settings
from tests.web.conftest import _TOKEN, PASSWORD, login
from web import create_app
from web.access import public

pytestmark = pytest.mark.db


@pytest.fixture
def make_app(engine, db_url, tmp_path, monkeypatch):
    """An app whose settings come from these KIEMKE_* environment variables, as `kiemke serve` reads them."""

    def make(**env: str):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return create_app(Settings(home=tmp_path / "home", database_url=db_url), {"TESTING": True})

    return make


def _session_cookie(response) -> str:
    cookies = [value for name, value in response.headers if name == "Set-Cookie" and value.startswith("kiemke_session=")]
    assert cookies, "no session cookie set"
    return cookies[-1]


def _addresses(engine, username: str, action: str) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(AuditLog.after).where(AuditLog.actor == username, AuditLog.action == action).order_by(AuditLog.id)).all()
    return [row["address"] for row in rows]


def test_cookies_are_not_secure_by_default_so_plain_http_works(make_app, seed):
    app = make_app()
    client = app.test_client()
    response = login(client, seed.users["viewer"])
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = _session_cookie(response)
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200


def test_secure_cookies_setting_marks_every_cookie_secure(make_app, seed):
    app = make_app(KIEMKE_SECURE_COOKIES="true")
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True
    client = app.test_client()
    https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/login"}}
    form = client.get("/login", base_url="https://localhost")
    assert "Secure" in _session_cookie(form)  # the cookie holding the CSRF token, before sign-in
    match = _TOKEN.search(form.get_data(as_text=True))
    token = match.group(1) or match.group(2)
    response = client.post("/login", data={"username": seed.users["viewer"], "password": PASSWORD, "csrf_token": token}, **https)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = _session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/", base_url="https://localhost").status_code == 200


def test_forged_forwarded_for_is_ignored_without_a_trusted_proxy(make_app, seed, engine):
    app = make_app()
    username = seed.users["technician"]
    for n in range(app.config["LOGIN_MAX_FAILURES"]):
        forged = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert login(app.test_client(), username, "sai-mat-khau-1", headers=forged).status_code == 401
    # Rotating the header does not make a new (user, address) pair: still throttled.
    response = login(app.test_client(), username, headers={"X-Forwarded-For": "198.51.100.99"})
    assert response.status_code == 429
    assert set(_addresses(engine, username, "login_failed")) == {"127.0.0.1"}


def test_a_trusted_proxy_gives_the_client_address_to_the_throttle_and_audit(make_app, seed, engine):
    app = make_app(KIEMKE_TRUSTED_PROXIES="1")
    username = seed.users["technician"]
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(app.test_client(), username, "sai-mat-khau-1", headers=attacker).status_code == 401
    assert login(app.test_client(), username, headers=attacker).status_code == 429
    # The proxy appends the real address: a value the client put in front is not believed.
    prefixed = {"X-Forwarded-For": "192.0.2.50, 203.0.113.7"}
    assert login(app.test_client(), username, headers=prefixed).status_code == 429
    # Another client behind the same proxy is throttled separately.
    colleague = {"X-Forwarded-For": "203.0.113.8"}
    assert login(app.test_client(), username, headers=colleague).status_code == 302
    assert set(_addresses(engine, username, "login_failed")) == {"203.0.113.7"}
    assert _addresses(engine, username, "login") == ["203.0.113.8"]


def _external_login_url(app) -> None:
    @app.route("/_probe/external")
    @public
    def probe():
        return url_for("auth.login", _external=True)


def test_a_trusted_proxy_gives_the_scheme_for_external_links(make_app):
    app = make_app(KIEMKE_TRUSTED_PROXIES="1")
    _external_login_url(app)
    answer = app.test_client().get("/_probe/external", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})
    assert answer.get_data(as_text=True) == "https://localhost/login"


def test_forwarded_proto_is_ignored_without_a_trusted_proxy(make_app):
    app = make_app()
    _external_login_url(app)
    answer = app.test_client().get("/_probe/external", headers={"X-Forwarded-Proto": "https"})
    assert answer.get_data(as_text=True) == "http://localhost/login"


@pytest.mark.parametrize("value", ["-1", "many"])
def test_a_bad_trusted_proxies_value_is_refused(monkeypatch, tmp_path, value):
    monkeypatch.setenv("KIEMKE_TRUSTED_PROXIES", value)
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(home=tmp_path)
