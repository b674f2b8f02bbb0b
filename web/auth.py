"""Sign in and out, change password, switch language."""

from __future__ import annotations

import math
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlmodel import select

from inventory import revoked_sessions, signin, users
from inventory.models import User
from inventory.users import UserError, WrongPasswordError
from web import accounts
from web.access import public, refuse_undeclared, signed_in
from web.database import commit, get_session
from web.forms import ActionForm, ChangePasswordForm, LoginForm
from web.i18n import LANGUAGES
from web.throttle import LoginThrottle

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Vui lòng đăng nhập.")
login_manager.login_message_category = "info"


def init_app(app) -> None:
    from flask_wtf.csrf import CSRFProtect

    CSRFProtect(app)
    login_manager.init_app(app)
    app.extensions["kiemke.throttle"] = LoginThrottle(app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_WINDOW_SECONDS"])
    app.before_request(refuse_undeclared)


def _stamp(user: User) -> str:
    return accounts.session_stamp(current_app.config["SECRET_KEY"], user.password_hash)


@login_manager.user_loader
def load_user(user_id: str):
    ident, _sep, stamp = user_id.partition(":")
    if not ident.isdigit():
        return None
    sid = session.get("sid")
    if not sid or revoked_sessions.is_revoked(get_session(), sid):
        return None  # signed out: a copy of the cookie taken before logout no longer works
    user = get_session().get(User, int(ident))
    if user is None or not user.active or stamp != _stamp(user):
        return None
    return accounts.WebUser(user, stamp)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never `//host`, a scheme, a backslash trick or a control
    character (CR/LF would break the Location header)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _fresh_session() -> None:
    """A new session at sign-in and sign-out (no fixation), with a new id that logout revokes
    server-side; the language choice survives."""
    lang = session.get("lang")
    session.clear()
    session["sid"] = secrets.token_urlsafe(16)
    if lang:
        session["lang"] = lang


def _throttle_key(username: str) -> tuple[str, str]:
    return (username.strip().casefold(), request.remote_addr or "")


def _too_many(wait: float) -> None:
    flash(_("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau %(minutes)d phút.", minutes=math.ceil(wait / 60)), "error")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("overview.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr or ""
        key = _throttle_key(form.username.data)
        throttle: LoginThrottle = current_app.extensions["kiemke.throttle"]
        # Reserved before the password is checked, so simultaneous guesses cannot overrun the limit.
        with throttle.acquire(key) as attempt:
            if not attempt.allowed:
                _too_many(attempt.retry_after)
                status = 429
            else:
                db = get_session()
                user = signin.authenticate(db, form.username.data, form.password.data)
                if user is None:
                    attempt.failed()
                    signin.record_failed_login(db, form.username.data.strip(), address)
                    commit()
                    flash(_("Sai tên đăng nhập hoặc mật khẩu."), "error")
                    status = 401
                else:
                    attempt.succeeded()
                    signin.record_login(db, user, address)
                    commit()
                    _fresh_session()
                    login_user(accounts.WebUser(user, _stamp(user)))
                    if user.must_change_password:
                        return redirect(url_for("auth.change_password"))
                    return redirect(_safe_next(request.args.get("next")) or url_for("overview.index"))
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    ActionForm()  # the CSRF token is checked by CSRFProtect before the view runs
    sid = session.get("sid")
    if sid:
        lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
        revoked_sessions.revoke(get_session(), sid, lifetime if isinstance(lifetime, timedelta) else timedelta(seconds=lifetime))
        commit()
    logout_user()
    _fresh_session()
    flash(_("Đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        # The current-password check is a password guess like a login: the same throttle and key.
        key = _throttle_key(current_user.username)
        throttle: LoginThrottle = current_app.extensions["kiemke.throttle"]
        db = get_session()
        user = db.exec(select(User).where(User.id == current_user.user_id)).one()
        with throttle.acquire(key) as attempt:
            if not attempt.allowed:
                _too_many(attempt.retry_after)
                status = 429
            else:
                try:
                    users.change_password(db, user, form.current.data, form.new.data)
                except UserError as exc:
                    if isinstance(exc, WrongPasswordError):
                        attempt.failed()
                    else:
                        attempt.release()  # the current password was right; the new one is refused
                    flash(_("Mật khẩu hiện tại không đúng, hoặc mật khẩu mới trùng mật khẩu cũ."), "error")
                else:
                    attempt.succeeded()
                    commit()
                    login_user(accounts.WebUser(user, _stamp(user)))
                    flash(_("Đã đổi mật khẩu."), "info")
                    return redirect(url_for("overview.index"))
    return render_template("auth/password.html", form=form), status


@bp.route("/language/<code>", methods=["POST"])
@public
def language(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")) or url_for("overview.index"))
