"""Account errors in Vietnamese: inventory.users raises them in English (the CLI prints them);
the admin pages show them through `user_error`, by their shape as web.check_texts does."""

from __future__ import annotations

from web.check_texts import render_text, text_shape
from web.i18n import current_language

USER_ERRORS = (
    text_shape(r"unknown role '(?P<role>.*)'; choose one of: .*", "vai trò “{role}” không tồn tại; hãy chọn một vai trò trong danh sách"),
    text_shape(r"username must not be empty", "tên đăng nhập không được để trống"),
    text_shape(r"user '(?P<name>.*)' already exists", "tên đăng nhập “{name}” đã có người dùng"),
    text_shape(r"user \"(?P<name>.*)\" already exists", "tên đăng nhập “{name}” đã có người dùng"),
    text_shape(r"password must have at least (?P<n>\d+) characters", "mật khẩu cần ít nhất {n} ký tự"),
    text_shape(r"the new password must differ from the current one", "mật khẩu mới phải khác mật khẩu hiện tại"),
)


def user_error(text: str) -> str:
    """An account error in the page's language (as raised in English, or when not recognised)."""
    if current_language() == "en":
        return text
    return render_text(USER_ERRORS, text) or text
