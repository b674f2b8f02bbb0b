"""Notification delivery failures in Vietnamese.

compliance.notify stores why a delivery failed as one English line (EventDelivery.last_error,
also the reason a test send reports); the admin pages show it through `delivery_error`, which
recognises its shape as web.check_texts does for check values. Addresses, codes and the server's
own words are quoted as they are; a reason no pattern fits is shown as stored.
"""

from __future__ import annotations

from web.check_texts import render_text, text_shape
from web.i18n import current_language

DELIVERY_ERRORS = (
    text_shape(r"no answer within the timeout", "máy nhận không trả lời trong thời gian chờ"),
    text_shape(r"the SMTP server closed the connection", "máy chủ SMTP đã đóng kết nối"),
    text_shape(r"HTTP (?P<code>\d+): redirect not followed", "máy nhận trả về mã HTTP {code} (chuyển hướng): kiemke không đi theo chuyển hướng"),
    text_shape(r"HTTP (?P<code>\d+)", "máy nhận trả về mã HTTP {code}"),
    text_shape(r"HTTP (?P<code>\d+) (?P<reason>.+)", "máy nhận trả về mã HTTP {code} ({reason})"),
    text_shape(r"cannot reach the server: (?P<why>.+)", "không kết nối được máy nhận: {why}"),
    text_shape(r"SMTP refused the recipients: (?P<recipients>.+)", "máy chủ SMTP từ chối người nhận: {recipients}"),
    text_shape(r"SMTP (?P<code>\d+) (?P<text>.*)", "máy chủ SMTP báo lỗi {code}: {text}"),
    text_shape(r"connection refused", "máy nhận từ chối kết nối"),
    text_shape(r"refusing to send the SMTP password without STARTTLS", "không gửi mật khẩu SMTP khi máy chủ chưa dùng STARTTLS"),
    text_shape(r"webhook URL must be http or https", "URL của webhook phải bắt đầu bằng http hoặc https"),
    text_shape(r"webhook has no signing key", "webhook chưa có khóa ký"),
    text_shape(r"channel disabled", "kênh đang tắt"),
    text_shape(r"unknown channel kind (?P<kind>.+)", "loại kênh không xác định: {kind}"),
    text_shape(r"channel settings incomplete or malformed \((?P<detail>.*)\)", "thiết lập của kênh thiếu hoặc sai ({detail})"),
    text_shape(r"unknown error", "lỗi không xác định"),
)


def delivery_error(text: str | None) -> str:
    """A delivery failure in the page's language (as stored in English, or when not recognised)."""
    if not text or current_language() == "en":
        return text or ""
    return render_text(DELIVERY_ERRORS, text) or text
