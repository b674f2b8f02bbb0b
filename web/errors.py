"""Error pages: short, translated, never a traceback."""

from __future__ import annotations

import errno
import sqlite3

from flask import current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from inventory.atomic_file import FileWriteError

# Seconds a client is told to wait after a 503 (the SQLite busy wait, a PostgreSQL restart).
RETRY_AFTER_SECONDS = 5
# A full disk (or quota, or file size limit) while the server writes a file for the user.
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
# SQLite errors that pass: another connection holds the write lock, or the file is out of reach.
_SQLITE_TRANSIENT = ("database is locked", "database is busy", "database table is locked", "unable to open database")


def database_unavailable(exc: BaseException) -> bool:
    """A database failure that passes by itself (busy SQLite file, unreachable or restarting
    PostgreSQL, exhausted pool), as opposed to a bug such as a missing table."""
    if isinstance(exc, sa_exc.TimeoutError):
        return True  # no pooled connection came free in time
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
        return True
    if not isinstance(exc, sa_exc.OperationalError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        return any(text in str(exc.orig).lower() for text in _SQLITE_TRANSIENT)
    # PostgreSQL: connection refused or terminated, server shutting down, lock or statement timeouts.
    return True


def _is_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _passing_failure(code: int, api_message: str, page_message: str):
    """The answer to a failure of the server's resources (not of the request): JSON for the API,
    the translated error page otherwise; never cached."""
    if _is_api():
        response = jsonify({"error": {"status": code, "message": api_message}})
        response.status_code = code
    else:
        response = current_app.make_response((render_template("error.html", code=code, message=page_message), code))
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):  # noqa: ARG001 (Flask passes the error)
        message = _("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Vui lòng tải lại trang và thử lại.")
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {
            400: _("Yêu cầu không hợp lệ."),
            403: _("Bạn không có quyền truy cập trang này."),
            404: _("Không tìm thấy trang."),
            405: _("Phương thức không được phép."),
            413: _("Tệp quá lớn."),
        }
        code = exc.code or 500
        if _is_api():
            # The API answers in JSON, also when no route matched (404) or the method is wrong (405).
            response = jsonify({"error": {"status": code, "message": exc.description or exc.name}})
            response.status_code = code
            response.headers["Cache-Control"] = "no-store"
            if getattr(exc, "valid_methods", None):  # 405: say which methods are allowed
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            return response
        return render_template("error.html", code=code, message=messages.get(code, _("Đã xảy ra lỗi."))), code

    @app.before_request
    def _load_signed_in_user():
        # Loaded here, inside the request's error handling, rather than first by an after_request
        # hook (no-store for signed-in users), where a database outage could only be a bare 500.
        if request.endpoint != "static":
            current_user._get_current_object()

    @app.errorhandler(sa_exc.DBAPIError)
    @app.errorhandler(sa_exc.TimeoutError)
    def database_error(exc: sa_exc.SQLAlchemyError):
        if not database_unavailable(exc):
            raise exc  # a bug: the generic 500 page, and the traceback in the log
        from flask_login import AnonymousUserMixin

        from web.database import close_session

        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        current_app.logger.warning("database unavailable (%s): %s", type(exc).__name__, detail[0] if detail else "")
        close_session()  # roll back now and hand the connection back to the pool
        if "_login_user" not in g:  # the user could not be loaded: render the page as signed out
            g._login_user = AnonymousUserMixin()
        page_message = _("Cơ sở dữ liệu đang bận hoặc tạm thời không kết nối được. Vui lòng thử lại sau ít phút.")
        response = _passing_failure(503, "The database is busy or unreachable; retry later.", page_message)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(FileWriteError)
    @app.errorhandler(OSError)
    def disk_full(exc: OSError | FileWriteError):
        # An export or an upload written to the server's temporary disk: nothing was left behind
        # (atomic_write removed its file), so the answer is a clear 507, never a 500.
        if isinstance(exc, OSError) and exc.errno not in _DISK_FULL:
            raise exc
        current_app.logger.warning("no space to write a file: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        page_message = _("Máy chủ hết chỗ trống để ghi tệp; không có gì được ghi. Vui lòng báo quản trị viên.")
        return _passing_failure(507, "The server has no space left to write the file; nothing was written.", page_message)
