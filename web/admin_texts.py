"""The admin pages' refusals in Vietnamese: inventory.users, collectors.credentials and
compliance.channels raise them in English (the CLI prints them as they are); the pages show them
through `admin_error`, which recognises a reason by its shape as web.check_texts does. Names and
addresses are quoted as they are; a reason no pattern fits is shown as raised."""

from __future__ import annotations

from web.check_texts import render_text, text_shape
from web.i18n import current_language

_Q = r"['\"](?P<name>.*)['\"]"  # a repr()-quoted name

ADMIN_ERRORS = (
    # inventory.users
    text_shape(rf"unknown role {_Q}; choose one of: .*", "vai trò “{name}” không tồn tại; hãy chọn một vai trò trong danh sách"),
    text_shape(r"username must not be empty", "tên đăng nhập không được để trống"),
    text_shape(rf"user {_Q} already exists", "tên đăng nhập “{name}” đã có người dùng"),
    text_shape(r"password must have at least (?P<n>\d+) characters", "mật khẩu cần ít nhất {n} ký tự"),
    text_shape(r"the new password must differ from the current one", "mật khẩu mới phải khác mật khẩu hiện tại"),
    # collectors.credentials
    text_shape(rf"unknown credential kind {_Q}; choose one of: .*", "loại thông tin xác thực “{name}” không tồn tại"),
    text_shape(rf"credential {_Q} needs: (?P<fields>.+)", "thông tin xác thực “{name}” còn thiếu: {fields}"),
    text_shape(rf"credential {_Q} needs a username", "thông tin xác thực “{name}” cần tên đăng nhập"),
    text_shape(r"SNMPv3 keys need at least 8 characters", "khóa SNMPv3 cần ít nhất 8 ký tự"),
    text_shape(rf"credential {_Q} already exists", "đã có thông tin xác thực tên “{name}” (đánh dấu “thay thế” để ghi đè)"),
    text_shape(rf"no credential named {_Q}", "không có thông tin xác thực tên “{name}”"),
    # compliance.channels
    text_shape(r"an SMTP channel needs a server host name or address", "kênh thư điện tử cần tên hoặc địa chỉ máy chủ SMTP"),
    text_shape(rf"sender {_Q} is not an e-mail address", "người gửi “{name}” không phải địa chỉ thư điện tử"),
    text_shape(r"an SMTP channel needs at least one recipient", "kênh thư điện tử cần ít nhất một người nhận"),
    text_shape(r"at most (?P<n>\d+) recipients", "tối đa {n} người nhận"),
    text_shape(r"not an e-mail address: (?P<bad>.+)", "không phải địa chỉ thư điện tử: {bad}"),
    text_shape(r"the SMTP port must be between 1 and 65535", "cổng SMTP phải từ 1 đến 65535"),
    text_shape(r"the webhook URL must start with http:// or https:// and name a host", "URL của webhook phải bắt đầu bằng http:// hoặc https:// và có tên máy"),
    text_shape(
        r"the webhook URL must not hold a user name or password; the signing key authenticates it", "URL của webhook không được chứa tên đăng nhập hay mật khẩu; khóa ký đã xác thực từng lần gửi"
    ),  # fmt: skip
    text_shape(r"the webhook URL must not contain spaces", "URL của webhook không được có dấu cách"),
    text_shape(rf"unknown channel kind {_Q}; choose one of: .*", "loại kênh “{name}” không tồn tại"),
    text_shape(r"a channel needs a name", "kênh cần có tên"),
    text_shape(rf"unknown severity {_Q}", "mức độ “{name}” không tồn tại"),
    text_shape(r"unknown event kinds: (?P<kinds>.+)", "loại sự kiện không tồn tại: {kinds}"),
    text_shape(r"no notification channel #(?P<id>\d+)", "không có kênh thông báo #{id}"),
    text_shape(rf"a channel named {_Q} already exists", "đã có kênh tên “{name}”"),
    text_shape(r"a webhook needs a signing key \(it signs every delivery\)", "webhook cần khóa ký (dùng để ký mỗi lần gửi)"),
    text_shape(r"an SMTP password needs STARTTLS \(it is never sent in clear text\)", "mật khẩu SMTP cần STARTTLS (không bao giờ gửi mật khẩu dạng rõ)"),
    # collectors.fleet (registry, identity, receive, wire)
    text_shape(rf"no site with code {_Q}", "không có đơn vị mã “{name}”"),
    text_shape(r"zone must be one of .*", "vùng mạng phải là Mạng diện rộng của Đảng hoặc Internet"),
    text_shape(r"site (?P<site>\S+) has no (?P<zone>\S+) zone", "đơn vị {site} không có vùng mạng {zone}"),
    text_shape(rf"collector {_Q} or its keys are registered already \(as .*\)", "bộ thu thập “{name}” hoặc khóa của nó đã được đăng ký"),
    text_shape(rf"no collector named {_Q}", "không có bộ thu thập tên “{name}”"),
    text_shape(r"not a collector's public line .*", "không phải dòng khóa công khai của bộ thu thập (dòng `kiemke collector init` in ra, bắt đầu bằng kiemke-collector/1)"),
    text_shape(r"a collector name is 1-64 characters.*", "tên bộ thu thập gồm 1–64 ký tự: chữ thường, chữ số, '.', '_' hoặc '-', bắt đầu bằng chữ hoặc số"),
    text_shape(r"the (?P<key>signing|box) key (is not base64|has \d+ bytes, 32 expected)", "khóa trong dòng khóa công khai bị hỏng"),
    text_shape(r"not signed by a registered collector", "không do bộ thu thập đã đăng ký nào ký"),
    text_shape(r"collector (?P<name>\S+) is revoked", "bộ thu thập {name} đã bị thu hồi"),
    text_shape(r"the signature is not collector (?P<name>\S+)'s \(altered or forged\)", "chữ ký không phải của bộ thu thập {name} (tệp đã bị sửa hoặc giả mạo)"),
    text_shape(r".*: not a kiemke collector file.*", "không phải tệp của bộ thu thập kiemke"),
    text_shape(r".*: larger than (?P<n>\d+) MiB", "lớn hơn {n} MiB"),
    text_shape(r"the batches (are not JSON|are not valid gzip data|are cut short|are missing|are not of format .*)", "nội dung tệp bị hỏng"),
    text_shape(r"the batches inflate to more than (?P<n>\d+) MiB", "nội dung giải nén lớn hơn {n} MiB"),
    text_shape(r"the batches name another collector than the one that signed them", "tệp ghi tên một bộ thu thập khác với bộ đã ký"),
    text_shape(r"stored credential cannot be decrypted: .*", "không giải mã được thông tin xác thực đã lưu: khóa trong KIEMKE_HOME không khớp"),
)


def admin_error(text: str) -> str:
    """A refusal in the page's language (as raised in English, or when not recognised)."""
    if current_language() == "en":
        return text
    return render_text(ADMIN_ERRORS, text) or text
