"""The UI's forms (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

import ipaddress
from collections.abc import Container
from datetime import date

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, PasswordField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Optional, ValidationError

from collectors.scanjobs import SCAN_KINDS, ScanRequest
from inventory.choices import DeviceClass, ZoneKind, values
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
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"), validators=[DataRequired(), EqualTo("new", message=_l("Hai mật khẩu không khớp."))])


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


def _stripped(value: str | None) -> str | None:
    return (value or "").strip() or None


class ScanForm(FlaskForm):
    """Start a poll or a discovery. Its checks run in the order the fields are declared and the
    page shows the first error only (later checks assume the earlier ones passed)."""

    kind = StringField(default="poll")
    zone = StringField(filters=[lambda value: value or None])
    site = StringField(filters=[_stripped])
    subnet = StringField(filters=[_stripped])
    snmp_port = StringField(filters=[lambda value: (value or "").strip()])
    endpoints = StringField()

    def __init__(self, *args, known_sites: Container[str] = (), default_port: int = 161, **kwargs):
        super().__init__(*args, **kwargs)
        self._known_sites = known_sites
        self._default_port = default_port
        self.network: str | None = None  # the subnet, normalised
        self.port: int | None = None

    def validate_kind(self, field) -> None:
        if field.data not in SCAN_KINDS:
            raise ValidationError(_("Hãy chọn thu thập hoặc dò tìm."))

    def validate_zone(self, field) -> None:
        if field.data is not None and field.data not in values(ZoneKind):
            raise ValidationError(_("Vùng mạng không hợp lệ."))

    def validate_site(self, field) -> None:
        if field.data is not None and field.data not in self._known_sites:
            raise ValidationError(_("Không có đơn vị %(code)s.", code=field.data))
        if field.data is None and self.kind.data == "discover":
            raise ValidationError(_("Dò tìm cần chọn một đơn vị."))

    def validate_subnet(self, field) -> None:
        if field.data is None:
            return
        if self.kind.data != "discover":
            raise ValidationError(_("Thu thập dùng các thiết bị đã ghi nhận; dải mạng chỉ dùng khi dò tìm."))
        try:
            self.network = str(ipaddress.ip_network(field.data, strict=False))
        except ValueError:
            raise ValidationError(_("Dải mạng %(subnet)s không hợp lệ (ví dụ 10.1.2.0/24).", subnet=field.data)) from None

    def validate_snmp_port(self, field) -> None:
        if self.kind.data != "discover":
            return
        text = field.data
        port = int(text) if text.isascii() and text.isdigit() else None if text else self._default_port
        if port is None or not 1 <= port <= 65535:
            raise ValidationError(_("Cổng SNMP %(port)s không hợp lệ (1–65535).", port=text))
        self.port = port

    def first_error(self) -> str | None:
        for name in ("kind", "zone", "site", "subnet", "snmp_port"):
            if self[name].errors:
                return str(self[name].errors[0])
        return None

    def scan_request(self) -> ScanRequest:
        """What to run, once the form has validated."""
        if self.kind.data == "discover":
            return ScanRequest("discover", site=self.site.data, zone=self.zone.data, subnet=self.network, snmp_ports=(self.port,))
        return ScanRequest("poll", site=self.site.data, zone=self.zone.data, endpoints=self.endpoints.data == "1")


class AdoptForm(FlaskForm):
    device_class = StringField(_l("Loại thiết bị"), validators=[DataRequired(), AnyOf(values(DeviceClass), message=_l("Loại thiết bị không hợp lệ."))])
    hostname = StringField(_l("Tên máy"), validators=[Optional(), Length(max=255)])
