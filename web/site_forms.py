"""The site edit forms: the site's own values, its zones' subnets, and its approved quantities
per device class.
The inventory layer (inventory.site_edit) checks the values, so each rule lives once; the forms
only carry what was typed (kept on an error) and the version the values were read at, and each
does what web.edit_view's page asks of it: from_stored, typed, add_errors, conflict_rows."""

from __future__ import annotations

from collections.abc import Mapping

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from inventory.choices import DeviceClass, SiteKind, ZoneKind, values
from inventory.site_edit import split_cidrs
from web.labels import label

SITE_FIELD_LABELS = {
    "name": _l("Tên đơn vị"),
    "kind": _l("Loại đơn vị"),
    "poll_interval_minutes": _l("Chu kỳ thăm dò (phút)"),
    "notes": _l("Ghi chú"),
}

# inventory.site_edit.FieldError codes in words.
SITE_ERROR_TEXTS = {
    "required": _l("Cần nhập giá trị này."),
    "bad_choice": _l("Giá trị không nằm trong danh sách cho phép."),
    "too_long": _l("Dài quá %(max)s ký tự."),
    "not_a_number": _l("“%(value)s” không phải số nguyên."),
    "out_of_range": _l("Cần là số nguyên từ %(min)s đến %(max)s."),
}


def site_error_text(code: str, params) -> str:
    return str(SITE_ERROR_TEXTS.get(code, code)) % dict(params)


def _shown_site_value(key: str, value) -> str:
    """A site value as the conflict table shows it."""
    return "" if value in (None, "") else str(label(value)) if key == "kind" else str(value)


class SiteForm(FlaskForm):
    name = StringField(SITE_FIELD_LABELS["name"])
    kind = SelectField(SITE_FIELD_LABELS["kind"], validate_choice=False)
    poll_interval_minutes = StringField(SITE_FIELD_LABELS["poll_interval_minutes"])
    notes = TextAreaField(SITE_FIELD_LABELS["notes"])
    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(code, label(code)) for code in values(SiteKind)]

    @classmethod
    def from_stored(cls, stored: dict, version: str) -> SiteForm:
        data = {key: "" if value is None else str(value) for key, value in stored.items()}
        return cls(formdata=None, data={**data, "version": version})

    def typed(self) -> dict:
        return {name: self[name].data for name in SITE_FIELD_LABELS}

    def add_errors(self, errors) -> None:
        for error in errors:
            self[error.field].errors = [*self[error.field].errors, site_error_text(error.code, error.params)]

    def conflict_rows(self, stored: Mapping) -> list[dict]:
        typed = self.typed()
        shown = {key: (_shown_site_value(key, typed.get(key)), _shown_site_value(key, stored.get(key))) for key in SITE_FIELD_LABELS}
        return [{"label": SITE_FIELD_LABELS[key], "typed": mine, "current": theirs} for key, (mine, theirs) in shown.items() if mine != theirs]


class ApprovedForm(FlaskForm):
    """Only the version and the CSRF token: the quantities are `q_<device class>` inputs, one per
    class, kept in `quantities` (as typed, or as stored) with their errors in `quantity_errors`."""

    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quantities: dict[str, str] = {cls: request.form.get(f"q_{cls}", "") for cls in values(DeviceClass)}
        self.quantity_errors: dict[str, str] = {}

    @classmethod
    def from_stored(cls, stored: Mapping[str, int], version: str) -> ApprovedForm:
        form = cls(formdata=None, data={"version": version})
        form.quantities = {device_class: str(n) for device_class, n in stored.items()}
        return form

    def typed(self) -> dict[str, str]:
        return dict(self.quantities)

    def add_errors(self, errors) -> None:
        self.quantity_errors = {error.field: site_error_text(error.code, error.params) for error in errors}

    def conflict_rows(self, stored: Mapping[str, int]) -> list[dict]:
        return [{"label": label(cls), "typed": self.quantities[cls], "current": str(n)} for cls, n in stored.items() if self.quantities[cls].strip() != str(n)]


# The zones' subnet lists, by zone kind (the import's column titles).
SUBNET_FIELD_LABELS = {
    "party_wan": _l("Dải mạng diện rộng của Đảng"),
    "internet": _l("Dải mạng Internet"),
}

# inventory.site_edit's subnet FieldError codes in words.
SUBNET_ERROR_TEXTS = {
    "not_a_subnet": _l("“%(value)s” không phải dải mạng dạng CIDR (ví dụ 10.1.1.0/24)."),
    "host_bits": _l("“%(value)s” có phần địa chỉ máy khác 0; dải mạng đúng là %(network)s."),
    "too_many": _l("Nhiều hơn %(max)s dải mạng."),
    "overlap_here": _l("%(value)s chồng lấn với %(other)s (%(zone)s) của chính đơn vị này."),
    "overlap_site": _l("%(value)s chồng lấn với %(other)s của đơn vị %(name)s (%(code)s)."),
}


def subnet_error_text(code: str, params) -> str:
    words = dict(params)
    if "zone" in words:
        words["zone"] = str(label(words["zone"]))
    return str(SUBNET_ERROR_TEXTS.get(code, SITE_ERROR_TEXTS.get(code, code))) % words


class SubnetsForm(FlaskForm):
    """One textarea per zone: its subnets one a line (commas, semicolons and spaces also part them)."""

    party_wan = TextAreaField(SUBNET_FIELD_LABELS["party_wan"])
    internet = TextAreaField(SUBNET_FIELD_LABELS["internet"])
    version = HiddenField()

    @classmethod
    def from_stored(cls, stored: dict[str, list[str]], version: str) -> SubnetsForm:
        return cls(formdata=None, data={**{zone: "\n".join(stored.get(zone, [])) for zone in SUBNET_FIELD_LABELS}, "version": version})

    def typed(self) -> dict[str, str]:
        return {zone: self[zone].data or "" for zone in values(ZoneKind)}

    def add_errors(self, errors) -> None:
        for error in errors:
            self[error.field].errors = [*self[error.field].errors, subnet_error_text(error.code, error.params)]

    def conflict_rows(self, stored: Mapping[str, list[str]]) -> list[dict]:
        typed = {zone: split_cidrs(text) for zone, text in self.typed().items()}
        return [{"label": SUBNET_FIELD_LABELS[zone], "typed": "\n".join(typed[zone]), "current": "\n".join(stored[zone])} for zone in SUBNET_FIELD_LABELS if typed[zone] != stored[zone]]
