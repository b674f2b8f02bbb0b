"""Sessions and tokens (issue 11): logout ends the session server-side, a password reset or a
pending one-time password stops the API token, the current-password check is throttled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from inventory import revoked_sessions, tokens
from inventory.models import RevokedSession, User, utcnow
from inventory.settings import Settings
from inventory.users import issue_one_time_password
from tests.web.conftest import PASSWORD, csrf_token, login
from web import create_app

pytestmark = pytest.mark.db


def _user(session: Session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def test_a_cookie_copied_before_logout_no_longer_works(app, seed, login_as):
    client = login_as("viewer")
    cookie = client.get_cookie("kiemke_session").value
    thief = app.test_client()
    thief.set_cookie("kiemke_session", cookie)
    assert thief.get("/").status_code == 200  # the copy works while the session lives
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    replay = thief.get("/devices/")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/login")
    # Signing in again gives a new session that works.
    assert login_as("viewer").get("/").status_code == 200


def test_a_logout_holds_for_every_process_and_after_a_restart(app, seed, login_as, engine, db_url, tmp_path):
    client = login_as("viewer")
    cookie = client.get_cookie("kiemke_session").value
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    # Another process of the same installation (or this one restarted): same secret key, same database.
    restarted = create_app(Settings(home=tmp_path / "home", database_url=db_url), {"TESTING": True})
    thief = restarted.test_client()
    thief.set_cookie("kiemke_session", cookie)
    replay = thief.get("/devices/")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/login")
    with Session(engine) as session:  # the id is kept only as a digest, with when it can be forgotten
        rows = session.exec(select(RevokedSession)).all()
        assert len(rows) == 1 and len(rows[0].sid_sha256) == 64 and rows[0].expires_at > utcnow()


def test_expired_revocations_are_forgotten_at_the_next_logout(engine):
    with Session(engine) as session:
        revoked_sessions.revoke(session, "old", timedelta(seconds=-1))  # already past its cookie's lifetime
        revoked_sessions.revoke(session, "live", timedelta(hours=8))
        session.commit()
        assert not revoked_sessions.is_revoked(session, "old") and revoked_sessions.is_revoked(session, "live")
        revoked_sessions.revoke(session, "next", timedelta(hours=8))
        session.commit()
        assert len(session.exec(select(RevokedSession)).all()) == 2  # "old" is gone


def _api(app, token: str):
    return app.test_client().get("/api/v1/sites", headers={"Authorization": f"Bearer {token}"})


def test_an_admin_password_reset_revokes_the_api_token(app, seed, engine):
    with Session(engine) as session:
        token = tokens.issue_token(session, _user(session, seed.users["viewer"]), actor="test")
        session.commit()
    assert _api(app, token).status_code == 200
    with Session(engine) as session:
        issue_one_time_password(session, _user(session, seed.users["viewer"]), actor="admin")
        session.commit()
        assert _user(session, seed.users["viewer"]).api_token_hash is None
    response = _api(app, token)
    assert response.status_code == 401 and response.is_json


def test_no_api_while_a_one_time_password_is_pending(app, seed, engine):
    with Session(engine) as session:
        user = _user(session, seed.users["viewer"])
        user.must_change_password = True
        token = tokens.issue_token(session, user, actor="admin")
        session.commit()
    response = _api(app, token)
    assert response.status_code == 403 and response.is_json
    assert "password change required" in response.get_json()["error"]["message"]
    with Session(engine) as session:
        _user(session, seed.users["viewer"]).must_change_password = False
        session.commit()
    assert _api(app, token).status_code == 200


def test_wrong_current_passwords_are_throttled_like_logins(app, seed, login_as):
    client = login_as("planner")
    token = csrf_token(client, "/password")

    def change(current: str):
        return client.post("/password", data={"current": current, "new": "doi-mat-khau-789", "confirm": "doi-mat-khau-789", "csrf_token": token})

    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert change("sai-mat-khau-1").status_code == 200
    # Now refused even with the right password, with the login throttle's message.
    response = change(PASSWORD)
    assert response.status_code == 429
    assert "quá nhiều lần" in response.get_data(as_text=True)
    # The same throttle as logins: signing in under that name from that address is refused too.
    assert login(app.test_client(), seed.users["planner"]).status_code == 429
