"""The web UI: a Flask application factory, one blueprint per area.

`create_app()` reads everything from the one `Settings` object (the session key is the
generated `KIEMKE_HOME/secret_key`, never a literal); `test_config` overrides Flask settings in
tests (e.g. `KIEMKE_DB_URL`, `WTF_CSRF_ENABLED`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from inventory import db
from inventory.choices import LOCAL_TIMEZONE
from inventory.crypto import Vault
from inventory.revision import RevisionCache
from inventory.settings import Settings

HERE = Path(__file__).parent

# Every response: no framing, no sniffing, nothing loaded from anywhere but kiemke itself.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


# The largest id a database column holds (SQLite INTEGER and PostgreSQL BIGINT are signed 64-bit).
MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in every route is a row id: 1..2^63-1, anything else is a 404 (never an
    integer overflow in the database driver, never a 500)."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


# One blueprint per area, each a module `web.<area>` with a `bp`.
AREAS = (
    "auth", "overview", "devices", "findings", "sites", "audit", "scans", "recheck", "procurement", "fundable", "reports", "transfers", "events",
    "admin", "api", "agents_endpoint", "agent_accounts", "search",
    "collectors_api", "collectors_admin",
)  # fmt: skip


def create_app(settings: Settings | None = None, test_config: dict[str, Any] | None = None) -> Flask:
    settings = settings or Settings()
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.url_map.converters["int"] = IdConverter  # before any route is registered
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key.get_secret_value(),
        KIEMKE_DB_URL=settings.db_url,
        SESSION_COOKIE_NAME="kiemke_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,  # KIEMKE_SECURE_COOKIES, when served over HTTPS
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE=LOCAL_TIMEZONE,
        BABEL_TRANSLATION_DIRECTORIES=str(HERE / "translations"),
        LOGIN_MAX_FAILURES=5,
        LOGIN_WINDOW_SECONDS=15 * 60,
        PER_PAGE=50,
    )
    if test_config:
        app.config.update(test_config)
    if settings.trusted_proxies:
        # The client's address (login throttle, audit) and scheme (external links) come from the
        # headers the trusted proxies add. The Host header is the proxy's to pass on
        # (`proxy_set_header Host $host`); X-Forwarded-Host is not believed.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
    app.extensions["kiemke.engine"] = db.engine_for(app.config["KIEMKE_DB_URL"])
    app.extensions["kiemke.settings"] = settings
    # The one credential vault of this process (the key in KIEMKE_HOME, as the CLI uses it).
    app.extensions["kiemke.vault"] = Vault(settings.credential_key)
    from collectors.scanjobs import ScanJobs

    app.extensions["kiemke.scan_jobs"] = ScanJobs()  # scans started from this process
    app.extensions["kiemke.cache"] = RevisionCache()  # derived views, until the data changes
    app.extensions["kiemke.counts"] = RevisionCache(max_entries=512)  # list totals: one per filter, searches included
    app.extensions["kiemke.reports"] = RevisionCache(max_entries=16)  # reports by quarter (any quarter may be asked for)
    from inventory.changes import ChangeBatcher

    # Agents' reports arrive one device at a time: one evaluation for the reports of a few seconds.
    app.extensions["kiemke.agent_changes"] = ChangeBatcher(app.extensions["kiemke.engine"], trigger="agent", delay=2.0)

    import importlib

    from web import auth, i18n
    from web.database import close_session

    app.teardown_appcontext(close_session)
    i18n.init_app(app)
    auth.init_app(app)
    for area in AREAS:
        try:
            module = importlib.import_module(f"web.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"web.{area}":
                raise
            continue  # an area not written yet
        app.register_blueprint(module.bp)

    from web import errors, filters, recheck

    # Every committed change (imports, polls, adoption) ends in an evaluation of what it touched.
    recheck.subscribe_evaluation()
    errors.init_app(app)
    filters.init_app(app)

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    from flask_login import current_user

    @app.after_request
    def _no_store_when_signed_in(response):
        # A page or API answer for a signed-in user (or a bearer token) is never kept by a
        # browser or proxy cache; static files stay cacheable.
        if request.endpoint != "static" and ("Authorization" in request.headers or current_user.is_authenticated):
            response.headers["Cache-Control"] = "no-store"
        return response

    return app
