"""The UI's forms (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from datetime import date

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from inventory.users import MIN_PASSWORD_LENGTH


def flash_errors(form: FlaskForm) -> None:
    """Every validation error of `form` as an error message on the next page."""
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "error")


class LoginForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("Mật khẩu mới"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)])
    confirm = PasswordField(
        _l("Nhập lại mật khẩu mới"), validators=[DataRequired(), EqualTo("new", message=_l("Hai mật khẩu không khớp."))]
    )


class ActionForm(FlaskForm):
    """A form with nothing but its CSRF token (logout, language switch)."""


class WaiveForm(FlaskForm):
    reason = TextAreaField(_l("Lý do miễn trừ"), validators=[DataRequired(), Length(max=2000)])
    expires = DateField(_l("Hết hạn ngày"), validators=[DataRequired()])

    def validate_reason(self, field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_l("Cần ghi lý do."))

    def validate_expires(self, field) -> None:
        if field.data is not None and field.data <= date.today():
            raise ValidationError(_l("Ngày hết hạn phải sau hôm nay."))
