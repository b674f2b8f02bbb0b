"""WTForms' and Flask-WTF's own messages in the page's language.

WTForms ships no Vietnamese catalog, so its built-in messages ("This field is required.", "Not a
valid date value.", the length and choice messages) and Flask-WTF's CSRF messages would come out
English in the Vietnamese UI. Every FlaskForm reads its messages through `FORM_TRANSLATIONS`
(installed on FlaskForm.Meta once, so that the forms of every module are covered, not only those
that give each validator a message); the English UI keeps WTForms' own words.
"""

from __future__ import annotations

from flask_wtf import FlaskForm

from web.i18n import current_language

# WTForms 3 (wtforms/locale/wtforms.pot) and flask_wtf.csrf, English -> Vietnamese. A plural's
# two English forms map to the one Vietnamese form.
VIETNAMESE = {
    "Invalid field name '%s'.": "Tên trường không hợp lệ: '%s'.",
    "Field must be equal to %(other_name)s.": "Giá trị phải trùng với trường %(other_name)s.",
    "Field must be at least %(min)d character long.": "Cần ít nhất %(min)d ký tự.",
    "Field must be at least %(min)d characters long.": "Cần ít nhất %(min)d ký tự.",
    "Field cannot be longer than %(max)d character.": "Không được dài quá %(max)d ký tự.",
    "Field cannot be longer than %(max)d characters.": "Không được dài quá %(max)d ký tự.",
    "Field must be exactly %(max)d character long.": "Phải có đúng %(max)d ký tự.",
    "Field must be exactly %(max)d characters long.": "Phải có đúng %(max)d ký tự.",
    "Field must be between %(min)d and %(max)d characters long.": "Độ dài phải từ %(min)d đến %(max)d ký tự.",
    "Number must be at least %(min)s.": "Số phải từ %(min)s trở lên.",
    "Number must be at most %(max)s.": "Số không được lớn hơn %(max)s.",
    "Number must be between %(min)s and %(max)s.": "Số phải nằm trong khoảng %(min)s đến %(max)s.",
    "Date must be at least %(min)s.": "Ngày phải từ %(min)s trở đi.",
    "Date must be at most %(max)s.": "Ngày không được sau %(max)s.",
    "Date must be between %(min)s and %(max)s.": "Ngày phải nằm trong khoảng %(min)s đến %(max)s.",
    "This field is required.": "Trường này bắt buộc phải nhập.",
    "Invalid input.": "Giá trị không hợp lệ.",
    "Invalid email address.": "Địa chỉ thư điện tử không hợp lệ.",
    "Invalid IP address.": "Địa chỉ IP không hợp lệ.",
    "Invalid Mac address.": "Địa chỉ MAC không hợp lệ.",
    "Invalid URL.": "URL không hợp lệ.",
    "Invalid UUID.": "UUID không hợp lệ.",
    "Invalid value, must be one of: %(values)s.": "Giá trị không hợp lệ, phải là một trong: %(values)s.",
    "Invalid value, can't be any of: %(values)s.": "Giá trị không hợp lệ, không được là: %(values)s.",
    "This field cannot be edited.": "Trường này không sửa được.",
    "This field is disabled and cannot have a value.": "Trường này bị khóa và không được có giá trị.",
    "Invalid CSRF Token.": "Mã chống giả mạo yêu cầu (CSRF) không hợp lệ; hãy tải lại trang rồi gửi lại.",
    "CSRF token missing.": "Thiếu mã chống giả mạo yêu cầu (CSRF); hãy tải lại trang rồi gửi lại.",
    "CSRF failed.": "Kiểm tra chống giả mạo yêu cầu (CSRF) không đạt; hãy tải lại trang rồi gửi lại.",
    "CSRF token expired.": "Mã chống giả mạo yêu cầu (CSRF) đã hết hạn; hãy tải lại trang rồi gửi lại.",
    "Invalid Choice: could not coerce.": "Lựa chọn không hợp lệ.",
    "Choices cannot be None.": "Chưa có lựa chọn nào.",
    "Not a valid choice.": "Lựa chọn không hợp lệ.",
    "Not a valid choice": "Lựa chọn không hợp lệ.",
    "Invalid choice(s): one or more data inputs could not be coerced.": "Có lựa chọn không hợp lệ.",
    "'%(value)s' is not a valid choice for this field.": "'%(value)s' không phải là lựa chọn hợp lệ.",
    "'%(value)s' are not valid choices for this field.": "'%(value)s' không phải là lựa chọn hợp lệ.",
    "Not a valid datetime value.": "Ngày giờ không hợp lệ.",
    "Not a valid date value.": "Ngày không hợp lệ.",
    "Not a valid time value.": "Giờ không hợp lệ.",
    "Not a valid week value.": "Tuần không hợp lệ.",
    "Not a valid integer value.": "Phải là số nguyên.",
    "Not a valid decimal value.": "Phải là số.",
    "Not a valid float value.": "Phải là số.",
    # flask_wtf.csrf (raised as they are, not through gettext: see vietnamese_message)
    "The CSRF token is missing.": "Thiếu mã chống giả mạo yêu cầu (CSRF); hãy tải lại trang rồi gửi lại.",
    "The CSRF session token is missing.": "Phiên làm việc không có mã chống giả mạo yêu cầu (CSRF); hãy tải lại trang rồi gửi lại.",
    "The CSRF token has expired.": "Mã chống giả mạo yêu cầu (CSRF) đã hết hạn; hãy tải lại trang rồi gửi lại.",
    "The CSRF token is invalid.": "Mã chống giả mạo yêu cầu (CSRF) không hợp lệ; hãy tải lại trang rồi gửi lại.",
    "The CSRF tokens do not match.": "Mã chống giả mạo yêu cầu (CSRF) không khớp; hãy tải lại trang rồi gửi lại.",
}


def vietnamese_message(text: str) -> str:
    """One of WTForms' or Flask-WTF's English messages in the page's language (a message of our
    own, already translated, is returned as it is)."""
    if current_language() == "en":
        return text
    return VIETNAMESE.get(text, text)


class FormTranslations:
    """The gettext interface WTForms calls for its messages."""

    def gettext(self, string: str) -> str:
        return vietnamese_message(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return vietnamese_message(singular if n == 1 else plural)


FORM_TRANSLATIONS = FormTranslations()


def _get_translations(meta, form) -> FormTranslations:  # noqa: ARG001 (WTForms' Meta signature)
    return FORM_TRANSLATIONS


def init_app(app) -> None:  # noqa: ARG001 (for symmetry with the other init_app hooks)
    FlaskForm.Meta.get_translations = _get_translations
