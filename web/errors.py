"""Error pages: short, translated, never a traceback."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


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
        if request.path == "/api" or request.path.startswith("/api/"):
            # The API answers in JSON, also when no route matched (404) or the method is wrong (405).
            response = jsonify({"error": {"status": code, "message": exc.description or exc.name}})
            response.status_code = code
            response.headers["Cache-Control"] = "no-store"
            if getattr(exc, "valid_methods", None):  # 405: say which methods are allowed
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            return response
        return render_template("error.html", code=code, message=messages.get(code, _("Đã xảy ra lỗi."))), code
