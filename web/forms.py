"""The UI's forms (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

import ipaddress
from collections.abc import Container
from datetime import date, datetime

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Optional, ValidationError

from collectors.scanjobs import SCAN_KINDS, ScanRequest
from inventory.choices import DeviceClass, DeviceStatus, Platform, ZoneKind, values
from inventory.users import MIN_PASSWORD_LENGTH
from web.form_messages import vietnamese_message
from web.labels import label


def flash_errors(form: FlaskForm) -> None:
    """Every validation error of `form` as an error message on the next page."""
    for errors in form.errors.values():
        for error in errors:
            flash(vietnamese_message(str(error)), "error")  # Flask-WTF raises its CSRF messages untranslated


def flash_field_errors(form: FlaskForm) -> None:
    """Every validation error of `form`, each after its field's label, on the next page."""
    for field, errors in form.errors.items():
        title = getattr(getattr(form, field, None), "label", None)
        for error in errors:
            text = vietnamese_message(str(error))
            flash(f"{title.text}: {text}" if title is not None else text, "error")


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


# ------------------------------------------------------------------------------ device edits

# The device form's fields (inventory.device_edit.INPUT_KEYS) as people read them; the history
# tab names stored columns by the same labels (site_id is the site, zone_id the zone).
DEVICE_FIELD_LABELS = {
    "hostname": _l("Tên máy"),
    "device_class": _l("Loại thiết bị"),
    "site_code": _l("Đơn vị"),
    "zone": _l("Vùng mạng"),
    "mgmt_ip": _l("IP quản trị"),
    "vendor": _l("Hãng"),
    "model": "Model",
    "serial": _l("Số sê-ri"),
    "os_name": _l("Hệ điều hành"),
    "os_version": _l("Phiên bản hệ điều hành"),
    "country_of_origin": _l("Xuất xứ (mã quốc gia 2 chữ)"),
    "purchase_date": _l("Ngày mua"),
    "status": _l("Tình trạng"),
    "assigned_user": _l("Người sử dụng"),
    "platform": _l("Nền tảng quản trị"),
    "notes": _l("Ghi chú"),
}
COLUMN_INPUT_KEYS = {"site_id": "site_code", "zone_id": "zone"}

# inventory.device_edit.FieldError codes in words.
DEVICE_ERROR_TEXTS = {
    "required": _l("Cần chọn hoặc nhập giá trị này."),
    "bad_choice": _l("Giá trị không nằm trong danh sách cho phép."),
    "too_long": _l("Dài quá %(max)s ký tự."),
    "bad_ip": _l("“%(value)s” không phải địa chỉ IP (ví dụ 10.1.2.3)."),
    "bad_country": _l("Xuất xứ là mã quốc gia gồm 2 chữ cái (ví dụ VN, JP, US)."),
    "future_date": _l("Ngày mua không thể sau hôm nay."),
    "bad_date": _l("Ngày không hợp lệ; hãy nhập theo dạng YYYY-MM-DD hoặc DD/MM/YYYY."),
    "unknown_site": _l("Không có đơn vị %(code)s."),
    "zone_not_of_site": _l("Đơn vị đã chọn không có vùng mạng này."),
    "duplicate_serial": _l("Số sê-ri này đã thuộc thiết bị #%(device_id)s."),
    "duplicate_ip": _l("Địa chỉ IP này đã thuộc thiết bị #%(device_id)s trong cùng vùng mạng."),
    "taken_meanwhile": _l("Số sê-ri hoặc địa chỉ IP vừa được một thiết bị khác dùng; hãy kiểm tra lại."),
    "no_identity": _l("Thiết bị cần số sê-ri, địa chỉ MAC hoặc địa chỉ IP để phân biệt; không thể bỏ trống cả số sê-ri lẫn IP."),
}

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")


def device_error_text(code: str, params) -> str:
    return str(DEVICE_ERROR_TEXTS.get(code, code)) % dict(params)


def _choice_list(codes, *, blank: str | None = None) -> list[tuple[str, str]]:
    return ([("", blank)] if blank is not None else []) + [(code, label(code)) for code in codes]


class DeviceForm(FlaskForm):
    """Every recorded field of a device, as text or a choice: the inventory layer
    (inventory.device_edit) checks the values, so each rule lives once; the form only carries
    what was typed (kept on an error) and the version the values were read at."""

    hostname = StringField(DEVICE_FIELD_LABELS["hostname"])
    device_class = SelectField(DEVICE_FIELD_LABELS["device_class"], validate_choice=False)
    site_code = SelectField(DEVICE_FIELD_LABELS["site_code"], validate_choice=False)
    zone = SelectField(DEVICE_FIELD_LABELS["zone"], validate_choice=False)
    mgmt_ip = StringField(DEVICE_FIELD_LABELS["mgmt_ip"])
    vendor = StringField(DEVICE_FIELD_LABELS["vendor"])
    model = StringField(DEVICE_FIELD_LABELS["model"])
    serial = StringField(DEVICE_FIELD_LABELS["serial"])
    os_name = StringField(DEVICE_FIELD_LABELS["os_name"])
    os_version = StringField(DEVICE_FIELD_LABELS["os_version"])
    country_of_origin = StringField(DEVICE_FIELD_LABELS["country_of_origin"])
    purchase_date = StringField(DEVICE_FIELD_LABELS["purchase_date"])
    status = SelectField(DEVICE_FIELD_LABELS["status"], validate_choice=False)
    assigned_user = StringField(DEVICE_FIELD_LABELS["assigned_user"])
    platform = SelectField(DEVICE_FIELD_LABELS["platform"], validate_choice=False)
    notes = TextAreaField(DEVICE_FIELD_LABELS["notes"])
    version = HiddenField()

    def __init__(self, *args, sites: list[tuple[str, str]] = (), stored_platform: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.device_class.choices = _choice_list(values(DeviceClass))
        self.site_code.choices = [(code, f"{code} — {name}") for code, name in sites]
        self.zone.choices = _choice_list(values(ZoneKind), blank=_("(không rõ)"))
        self.status.choices = _choice_list(values(DeviceStatus))
        platforms = values(Platform) + ([stored_platform] if stored_platform and stored_platform not in values(Platform) else [])
        self.platform.choices = [("", _("(không có)"))] + [(p, p) for p in platforms]
        self.parsed_date: date | None = None

    @classmethod
    def from_stored(cls, stored: dict, version: str, **kwargs) -> DeviceForm:
        """The form filled with a device's stored values (inventory.device_edit.form_values)."""
        data = {key: "" if value is None else value for key, value in stored.items()}
        data["purchase_date"] = stored["purchase_date"].isoformat() if stored.get("purchase_date") else ""
        return cls(formdata=None, data={**data, "version": version}, stored_platform=stored.get("platform"), **kwargs)

    def validate_purchase_date(self, field) -> None:
        text = (field.data or "").strip()
        self.parsed_date = None
        if not text:
            return
        for fmt in _DATE_FORMATS:
            try:
                self.parsed_date = datetime.strptime(text, fmt).date()
                return
            except ValueError:
                continue
        raise ValidationError(DEVICE_ERROR_TEXTS["bad_date"])

    def device_values(self) -> dict:
        """What was typed, in inventory.device_edit's input keys (after validate())."""
        out = {name: self[name].data for name in DEVICE_FIELD_LABELS if name != "purchase_date"}
        out["purchase_date"] = self.parsed_date
        return out

    def add_device_errors(self, errors) -> None:
        """inventory.device_edit's FieldErrors under their fields, in words."""
        for error in errors:
            self[error.field].errors = [*self[error.field].errors, device_error_text(error.code, error.params)]


class BulkEditForm(FlaskForm):
    """The few fields set on many devices at once (inventory.device_edit.BULK_KEYS); a choice
    left blank keeps each device's own value. The assigned user is set only when asked, so that
    an empty box can clear it. `confirm` is "1" once the count was shown and confirmed."""

    status = SelectField(DEVICE_FIELD_LABELS["status"], validate_choice=False)
    assigned_user = StringField(DEVICE_FIELD_LABELS["assigned_user"])
    set_assigned_user = BooleanField(_l("Đặt người sử dụng (để trống: bỏ người sử dụng)"))
    device_class = SelectField(DEVICE_FIELD_LABELS["device_class"], validate_choice=False)
    site_code = SelectField(DEVICE_FIELD_LABELS["site_code"], validate_choice=False)
    zone = SelectField(DEVICE_FIELD_LABELS["zone"], validate_choice=False)
    expected = HiddenField()
    confirm = HiddenField()

    def __init__(self, *args, sites: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        keep = _("(giữ nguyên)")
        self.status.choices = _choice_list(values(DeviceStatus), blank=keep)
        self.device_class.choices = _choice_list(values(DeviceClass), blank=keep)
        self.site_code.choices = [("", keep)] + [(code, f"{code} — {name}") for code, name in sites]
        self.zone.choices = _choice_list(values(ZoneKind), blank=keep)

    def bulk_values(self) -> dict:
        """The values to set, in inventory.device_edit's input keys: only those chosen."""
        out = {name: self[name].data for name in ("status", "device_class", "site_code", "zone") if self[name].data}
        if self.set_assigned_user.data:
            out["assigned_user"] = self.assigned_user.data or ""
        return out

    def described(self) -> list[tuple[str, str]]:
        """What will be set, as (label, value) in words, for the confirmation page."""
        shown = []
        for name, value in self.bulk_values().items():
            text = dict(self[name].choices).get(value, value) if name != "assigned_user" else (value or _("(bỏ trống)"))
            shown.append((str(DEVICE_FIELD_LABELS[name]), str(text)))
        return shown
