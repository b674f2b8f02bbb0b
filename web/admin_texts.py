"""The admin pages' refusals in Vietnamese: inventory.users, collectors.credentials and
compliance.channels raise them in English (the CLI prints them as they are); the pages show them
through `admin_error`, which recognises a reason by its shape as web.check_texts does. Names and
addresses are quoted as they are; a reason no pattern fits is shown as raised.

Why the hub refused a collector's batch (collectors.fleet.apply writes it in the batch's row; the
receipt, the acknowledgement and the collector_refused event carry it) reads through
`collector_refusal`, in both languages: the English UI names the zone, not its code."""

from __future__ import annotations

import re

from web.check_texts import CheckText, render_text, text_shape
from web.filters import number
from web.i18n import current_language
from web.labels import label

_Q = r"['\"](?P<name>.*)['\"]"  # a repr()-quoted name
_NO_ZONE = (r"site (?P<site>\S+) has no (?P<zone>\S+) zone", "đơn vị {site} không có vùng {zone}")  # registry and apply


def _zone(code: str) -> str:
    """A zone code by its name, inside a sentence: "vùng mạng Internet"; "CT1's Internet zone"."""
    name = label(code)
    return name[0].lower() + name[1:] if name != code and current_language() == "vi" else name


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
    text_shape(*_NO_ZONE, zone=_zone),
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


# collectors.fleet.apply's BatchRefused reasons, "agent report refused: " + collectors.agents.store's
# AgentRefused, and "refused" where a row has none: (pattern, Vietnamese, English or None when the
# English as written reads well). tests/web/test_collectors_admin.py renders every one apply.py
# and store.py can write. A damaged batch's detail is the parser's English: not repeated in Vietnamese.
_OF = r"(?P<site>\S+) (?P<zone>\S+)"  # "of CT1 internet": the registration's site and zone code
_BATCH_SHAPES = (
    (r"refused", "bị từ chối", None),
    (*_NO_ZONE, "site {site} has no {zone} zone"),
    (r"damaged batch: .*", "lô dữ liệu bị hỏng, không đọc được", None),
    (r"damaged agent report: .*", "báo cáo của agent bị hỏng, không đọc được", None),
    (r"not an agent inventory", "không phải báo cáo kiểm kê của agent", None),
    (rf"(?P<n>\d+) target\(s\) outside the subnets of {_OF}: (?P<addresses>.+)",
     "{n} địa chỉ nằm ngoài các dải mạng của vùng {zone} thuộc đơn vị {site}: {addresses}",
     "{n} target(s) outside the subnets of {site}'s {zone} zone: {addresses}"),
    (rf"a result names device #(?P<id>\d+), recorded outside {_OF}",
     "một kết quả chỉ tới thiết bị #{id}, thiết bị đã ghi nhận ngoài vùng {zone} của đơn vị {site}",
     "a result names device #{id}, recorded outside {site}'s {zone} zone"),
    (rf"the machine's addresses (?P<addresses>.+) are outside the subnets of {_OF}",
     "các địa chỉ {addresses} của máy nằm ngoài các dải mạng của vùng {zone} thuộc đơn vị {site}",
     "the machine's addresses {addresses} are outside the subnets of {site}'s {zone} zone"),
    (rf"the machine is device #(?P<id>\d+), recorded outside {_OF}",
     "máy này là thiết bị #{id}, đã ghi nhận ngoài vùng {zone} của đơn vị {site}",
     "the machine is device #{id}, recorded outside {site}'s {zone} zone"),
    (r"agent report refused: the machine's addresses \((?P<addresses>.*)\) belong to another site than (?P<site>\S+)",
     "báo cáo của agent bị từ chối: các địa chỉ của máy ({addresses}) thuộc một đơn vị khác, không phải {site}", None),
    (r"agent report refused: no address of the machine \((?P<addresses>.*)\) is in a subnet of site (?P<site>\S+), and account (?P<name>.+) names no zone",
     "báo cáo của agent bị từ chối: không địa chỉ nào của máy ({addresses}) thuộc dải mạng của đơn vị {site}, và tài khoản {name} không chỉ định vùng mạng", None),
    (r"agent report refused: its MAC addresses belong to (?P<n>\d+) different recorded devices \((?P<ids>.*)\)",
     "báo cáo của agent bị từ chối: các địa chỉ MAC của máy thuộc {n} thiết bị khác nhau đã ghi nhận ({ids})", None),
    (r"agent report refused: the machine is device #(?P<id>\d+), recorded at another site than (?P<site>\S+)",
     "báo cáo của agent bị từ chối: máy này là thiết bị #{id}, đã ghi nhận ở một đơn vị khác, không phải {site}", None),
    (r"agent report refused: .*", "báo cáo của agent bị từ chối", None),
)  # fmt: skip


def _shape(pattern: str, template: str) -> CheckText:
    shown = {"zone": _zone, "n": number}  # the groups a pattern has
    return text_shape(pattern, template, **{g: shown[g] for g in re.compile(pattern).groupindex if g in shown})


BATCH_REFUSALS = tuple(_shape(pattern, vi) for pattern, vi, _en in _BATCH_SHAPES)
BATCH_REFUSALS_EN = tuple(_shape(pattern, en) for pattern, _vi, en in _BATCH_SHAPES if en)


def collector_refusal(text: str | None) -> str:
    """Why the hub refused a collector's batch or file, in the page's language (a reason not
    recognised as written, the English UI's too)."""
    text = text or "refused"
    if current_language() == "en":
        return render_text(BATCH_REFUSALS_EN, text) or text
    return render_text(BATCH_REFUSALS, text) or admin_error(text)
