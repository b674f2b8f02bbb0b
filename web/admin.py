"""Administration (admin only): users and roles, device credentials (write-only), the policy
(read-only), each site's polling schedule, and the notification channels (e-mail and webhooks,
secret write-only, with a "Gửi thử" button). Every change is audit-logged.

Secrets are shown at most once, in the response to the POST that created them (one-time
passwords, API tokens) with `Cache-Control: no-store`; they never go into the session, a flash
message, a redirect or the audit log. Credential secrets are never sent back at all.

Every signed-in user also has an "API token" page here for their own token.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from collectors.credentials import SECRET_FIELDS, CredentialError, Scope, add_credential, delete_credential, list_credentials
from compliance import notify
from compliance.channels import ChannelError, ChannelInput, delete_channel, delivery_counts, last_errors, list_channels, save_channel
from inventory import audit, tokens
from inventory import users as inventory_users
from inventory.choices import ChannelKind, CredentialKind, DeviceClass, EventKind, Role, Severity, ZoneKind, values
from inventory.crypto import CredentialKeyError, Vault
from inventory.models import Device, NotificationChannel, Site, User
from inventory.repository import list_sites, site_by_code
from inventory.schedule import MAX_POLL_MINUTES, parse_interval, set_poll_intervals
from web import queries
from web.access import ADMIN, EVERYONE, role_required
from web.admin_texts import admin_error
from web.database import commit, get_session
from web.forms import flash_field_errors
from web.labels import label
from web.notify_texts import delivery_error

bp = Blueprint("admin", __name__, url_prefix="/admin")

SECRET_LABELS = {
    "community": _l("Community"),
    "auth_key": _l("Khóa xác thực (auth key)"),
    "priv_key": _l("Khóa mã hóa (priv key)"),
    "password": _l("Mật khẩu"),
    "secret": _l("Mật khẩu enable (secret)"),
}


def _actor() -> str:
    return current_user.username


def _once(template: str, **context):
    """A page that shows a secret once: never cached, never stored."""
    response = make_response(render_template(template, **context))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, str(text)) for value, text in pairs]


def _role_choices() -> list[tuple[str, str]]:
    return [(r.value, label(r.value)) for r in Role]


# ------------------------------------------------------------------------------ forms


class NewUserForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=100)])
    full_name = StringField(_l("Họ và tên"), validators=[Optional(), Length(max=200)])
    # Least privilege first: a new account reads until someone deliberately gives it more.
    role = SelectField(_l("Vai trò"), default=Role.VIEWER.value, validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = _choices(_role_choices())


class RoleForm(FlaskForm):
    role = SelectField(_l("Vai trò"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = _choices(_role_choices())


class ActiveForm(FlaskForm):
    active = StringField()  # "1" activates; anything else deactivates


class DeleteCredentialForm(FlaskForm):
    name = StringField(filters=[lambda value: (value or "").strip()])


class ScheduleForm(FlaskForm):
    """One `interval-<site code>` field per site; an empty field leaves that site as it is."""

    @classmethod
    def for_sites(cls, codes: list[str], **kwargs) -> ScheduleForm:
        fields = {f"interval-{code}": StringField() for code in codes}
        form = type("SiteScheduleForm", (cls,), fields)(**kwargs)
        form.codes = codes
        return form

    def intervals(self) -> dict[str, int | None]:
        """Minutes asked for, by site code (None: not a valid interval), for the fields filled in."""
        asked = {code: (self[f"interval-{code}"].data or "").strip() for code in self.codes}
        return {code: parse_interval(text) for code, text in asked.items() if text}


class CredentialForm(FlaskForm):
    name = StringField(_l("Tên"), validators=[DataRequired(), Length(max=100)])
    kind = SelectField(_l("Loại"), choices=[SelectChoice(k, k) for k in values(CredentialKind)], validators=[DataRequired()])
    username = StringField(_l("Tên người dùng"), validators=[Optional(), Length(max=100)])
    port = IntegerField(_l("Cổng"), validators=[Optional(), NumberRange(1, 65535)])
    priority = IntegerField(_l("Thứ tự ưu tiên"), default=100, validators=[Optional(), NumberRange(0, 10_000)])
    site = SelectField(_l("Đơn vị"), validators=[Optional()])
    zone_kind = SelectField(_l("Vùng mạng"), validators=[Optional()])
    device_class = SelectField(_l("Loại thiết bị"), validators=[Optional()])
    device_id = IntegerField(_l("ID thiết bị"), validators=[Optional(), NumberRange(1)])
    # Write-only: PasswordField never renders a value back.
    community = PasswordField(SECRET_LABELS["community"], validators=[Optional(), Length(max=200)])
    auth_key = PasswordField(SECRET_LABELS["auth_key"], validators=[Optional(), Length(max=200)])
    priv_key = PasswordField(SECRET_LABELS["priv_key"], validators=[Optional(), Length(max=200)])
    password = PasswordField(SECRET_LABELS["password"], validators=[Optional(), Length(max=200)])
    secret = PasswordField(SECRET_LABELS["secret"], validators=[Optional(), Length(max=200)])
    replace = BooleanField(_l("Thay thế nếu đã có tên này"))

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        anywhere = ("", _("(mọi nơi)"))
        self.site.choices = _choices([anywhere] + [(code, f"{code} — {name}") for code, name in sites])
        self.zone_kind.choices = _choices([anywhere] + [(z, label(z)) for z in values(ZoneKind)])
        self.device_class.choices = _choices([anywhere] + [(c, label(c)) for c in values(DeviceClass)])


# ------------------------------------------------------------------------------ index


@bp.route("/")
@role_required(ADMIN)
def index():
    db = get_session()
    counts = {
        "users": db.execute(select(func.count()).select_from(User)).scalar_one(),
        "active": db.execute(select(func.count()).select_from(User).where(User.active.is_(True))).scalar_one(),
        "credentials": len(list_credentials(db)),
        "sites": db.execute(select(func.count()).select_from(Site)).scalar_one(),
    }
    return render_template("admin/index.html", counts=counts)


# ------------------------------------------------------------------------------ users


def _users(db) -> list[User]:
    return list(db.execute(select(User).order_by(User.username)).scalars())


def _user_or_404(db, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _confirmed() -> bool:
    """Did the person press the confirmation page's button (not just the list's)?"""
    return request.form.get("confirm") == "1"


def _confirm_page(title: str, question: str, action: str, button: str, *, hidden: dict[str, str], note: str, back: str | None = None):
    """The step between a dangerous button and the change (templates/_confirm.html)."""
    back = back or url_for("admin.users")
    return render_template("_confirm.html", title=title, question=question, details=[], note=note, action=action, button=button, hidden=hidden, back=back)


def _users_page(new_form: NewUserForm | None = None, status: int = 200):
    db = get_session()
    body = render_template("admin/users.html", users=_users(db), form=new_form or NewUserForm(formdata=None), role_form=RoleForm(formdata=None), roles=_role_choices())
    return body, status


@bp.route("/users")
@role_required(ADMIN)
def users():
    return _users_page()


@bp.route("/users", methods=["POST"])
@role_required(ADMIN)
def create_user():
    form = NewUserForm()
    if not form.validate():
        flash_field_errors(form)
        return _users_page(form, 400)
    db = get_session()
    try:
        user, password = inventory_users.add_user(db, form.username.data, form.role.data, None, full_name=(form.full_name.data or "").strip(), actor=_actor())
    except inventory_users.UserError as exc:
        db.rollback()
        flash(_("Không tạo được người dùng: %(reason)s", reason=admin_error(str(exc))), "error")
        return _users_page(form, 400)
    commit()
    return _once("admin/secret_once.html", user=user, secret=password, kind="password")


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@role_required(ADMIN)
def change_role(user_id: int):
    db = get_session()
    user = _user_or_404(db, user_id)
    form = RoleForm()
    if not form.validate():
        flash_field_errors(form)
        return redirect(url_for("admin.users"))
    new = form.role.data
    if user.id == current_user.user_id:
        flash(_("Không thể tự đổi vai trò của chính mình."), "error")
        return redirect(url_for("admin.users"))
    if new == user.role:
        return redirect(url_for("admin.users"))
    if not _confirmed():
        return _confirm_page(
            _("Đổi vai trò"), _("Đổi vai trò của %(user)s từ %(old)s thành %(new)s?", user=user.username, old=label(user.role), new=label(new)),
            url_for("admin.change_role", user_id=user.id), _("Đổi thành %(role)s", role=label(new)), hidden={"role": new},
            note=_("Quyền của người này thay đổi ngay ở lần mở trang tiếp theo; thay đổi được ghi nhật ký."),
        )  # fmt: skip
    try:
        changed = inventory_users.change_role(db, user, new, actor=_actor(), actor_id=current_user.user_id)
    except inventory_users.OwnAccountError:
        flash(_("Không thể tự đổi vai trò của chính mình."), "error")
        return redirect(url_for("admin.users"))
    if changed:
        commit()
        flash(_("Đã đổi vai trò của %(user)s thành %(role)s.", user=user.username, role=label(new)), "info")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@role_required(ADMIN)
def set_active(user_id: int):
    db = get_session()
    user = _user_or_404(db, user_id)
    form = ActiveForm()
    if not form.validate():
        flash_field_errors(form)
        return redirect(url_for("admin.users"))
    active = form.active.data == "1"
    if not active and user.active and user.id != current_user.user_id and not _confirmed():
        return _confirm_page(
            _("Vô hiệu hóa tài khoản"), _("Vô hiệu hóa tài khoản %(user)s?", user=user.username), url_for("admin.set_active", user_id=user.id),
            _("Vô hiệu hóa %(user)s", user=user.username), hidden={"active": "0"},
            note=_("Người này bị đăng xuất và không đăng nhập được nữa cho đến khi được kích hoạt lại; thay đổi được ghi nhật ký."),
        )  # fmt: skip
    try:
        changed = inventory_users.set_active(db, user, active, actor=_actor(), actor_id=current_user.user_id)
    except inventory_users.OwnAccountError:
        flash(_("Không thể tự vô hiệu hóa tài khoản của chính mình."), "error")
        return redirect(url_for("admin.users"))
    except inventory_users.LastAdminError:
        flash(_("Phải còn ít nhất một quản trị viên đang hoạt động."), "error")
        return redirect(url_for("admin.users"))
    if changed:
        commit()
        flash(_("Đã kích hoạt %(user)s.", user=user.username) if active else _("Đã vô hiệu hóa %(user)s.", user=user.username), "info")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@role_required(ADMIN)
def reset_password(user_id: int):
    db = get_session()
    user = _user_or_404(db, user_id)
    if not _confirmed():
        return _confirm_page(
            _("Đặt lại mật khẩu"), _("Đặt lại mật khẩu của %(user)s?", user=user.username), url_for("admin.reset_password", user_id=user.id),
            _("Đặt lại mật khẩu của %(user)s", user=user.username), hidden={},
            note=_("Mật khẩu hiện tại hết hiệu lực ngay và các phiên đăng nhập của người này kết thúc; mật khẩu một lần mới chỉ hiển thị một lần."),
        )  # fmt: skip
    password = inventory_users.issue_one_time_password(db, user, actor=_actor())  # audit-logged, stored hashed
    commit()
    return _once("admin/secret_once.html", user=user, secret=password, kind="password")


@bp.route("/users/<int:user_id>/token", methods=["POST"])
@role_required(ADMIN)
def issue_token(user_id: int):
    db = get_session()
    user = _user_or_404(db, user_id)
    if user.api_token_hash and not _confirmed():  # a new token replaces the one in use
        return _confirm_page(
            _("Tạo mã API mới"), _("Tạo mã API mới cho %(user)s?", user=user.username), url_for("admin.issue_token", user_id=user.id),
            _("Tạo mã mới cho %(user)s", user=user.username), hidden={},
            note=_("Mã API hiện tại hết hiệu lực ngay: chương trình nào đang dùng nó sẽ bị từ chối cho đến khi được cấu hình mã mới."),
        )  # fmt: skip
    token = tokens.issue_token(db, user, actor=_actor())
    commit()
    return _once("admin/secret_once.html", user=user, secret=token, kind="token")


@bp.route("/users/<int:user_id>/token/revoke", methods=["POST"])
@role_required(ADMIN)
def revoke_token(user_id: int):
    db = get_session()
    user = _user_or_404(db, user_id)
    if user.api_token_hash and not _confirmed():
        return _confirm_page(
            _("Thu hồi mã API"), _("Thu hồi mã API của %(user)s?", user=user.username), url_for("admin.revoke_token", user_id=user.id),
            _("Thu hồi mã API của %(user)s", user=user.username), hidden={},
            note=_("Chương trình nào đang dùng mã này sẽ bị từ chối ngay; thay đổi được ghi nhật ký."),
        )  # fmt: skip
    if tokens.revoke_token(db, user, actor=_actor()):
        commit()
        flash(_("Đã thu hồi mã API của %(user)s.", user=user.username), "info")
    return redirect(url_for("admin.users"))


# ------------------------------------------------------------------------------ one's own API token


@bp.route("/token")
@role_required(*EVERYONE)
def my_token():
    user = get_session().get(User, current_user.user_id)
    return render_template("admin/token.html", has_token=bool(user and user.api_token_hash))


@bp.route("/token", methods=["POST"])
@role_required(*EVERYONE)
def my_token_new():
    db = get_session()
    user = _user_or_404(db, current_user.user_id)
    token = tokens.issue_token(db, user, actor=_actor())
    commit()
    return _once("admin/secret_once.html", user=user, secret=token, kind="token", own=True)


@bp.route("/token/revoke", methods=["POST"])
@role_required(*EVERYONE)
def my_token_revoke():
    db = get_session()
    user = _user_or_404(db, current_user.user_id)
    if tokens.revoke_token(db, user, actor=_actor()):
        commit()
        flash(_("Đã thu hồi mã API."), "info")
    return redirect(url_for("admin.my_token"))


# ------------------------------------------------------------------------------ credentials


def vault() -> Vault:
    """The credential vault of this installation, built once by create_app."""
    return current_app.extensions["kiemke.vault"]


def _credentials_page(form: CredentialForm | None = None, status: int = 200):
    db = get_session()
    sites = queries.site_codes(db)
    form = form or CredentialForm(formdata=None, sites=sites)
    body = render_template("admin/credentials.html", rows=list_credentials(db), form=form, secret_fields=SECRET_FIELDS, secret_labels=SECRET_LABELS)
    return body, status


@bp.route("/credentials")
@role_required(ADMIN)
def credentials():
    return _credentials_page()


@bp.route("/credentials", methods=["POST"])
@role_required(ADMIN)
def save_credential():
    db = get_session()
    form = CredentialForm(sites=queries.site_codes(db))
    if not form.validate():
        flash_field_errors(form)
        return _credentials_page(form, 400)
    site_id = None
    if form.site.data:
        site = site_by_code(db, form.site.data)
        site_id = site.id if site else None
    if form.device_id.data and db.get(Device, form.device_id.data) is None:
        flash(_("Không có thiết bị #%(id)d.", id=form.device_id.data), "error")
        return _credentials_page(form, 400)
    secrets = {field: getattr(form, field).data or "" for field in SECRET_FIELDS.get(form.kind.data, ())}
    scope = Scope(site_id=site_id, zone_kind=form.zone_kind.data or None, device_class=form.device_class.data or None, device_id=form.device_id.data or None)
    try:
        add_credential(
            db, vault(), name=form.name.data.strip(), kind=form.kind.data, secrets=secrets, username=(form.username.data or "").strip() or None,
            port=form.port.data, priority=form.priority.data if form.priority.data is not None else 100, scope=scope, actor=_actor(),
            replace=form.replace.data,
        )  # fmt: skip
    except (CredentialError, CredentialKeyError) as exc:
        db.rollback()
        flash(_("Không lưu được thông tin xác thực: %(reason)s", reason=admin_error(str(exc))), "error")
        return _credentials_page(form, 400)
    commit()
    flash(_("Đã lưu thông tin xác thực %(name)s.", name=form.name.data.strip()), "info")
    return redirect(url_for("admin.credentials"))


@bp.route("/credentials/delete", methods=["POST"])
@role_required(ADMIN)
def delete_credential_view():
    db = get_session()
    form = DeleteCredentialForm()
    if not form.validate():
        flash_field_errors(form)
        return redirect(url_for("admin.credentials"))
    name = form.name.data
    if not _confirmed():
        return _confirm_page(
            _("Xóa thông tin xác thực"), _("Xóa thông tin xác thực %(name)s?", name=name), url_for("admin.delete_credential_view"),
            _("Xóa %(name)s", name=name), hidden={"name": name}, back=url_for("admin.credentials"),
            note=_("Các lần thu thập sau không dùng thông tin này nữa; phần bí mật bị xóa hẳn, không khôi phục được."),
        )  # fmt: skip
    try:
        delete_credential(db, name, actor=_actor())
    except CredentialError as exc:
        db.rollback()
        flash(_("Không xóa được: %(reason)s", reason=admin_error(str(exc))), "error")
        return redirect(url_for("admin.credentials"))
    commit()
    flash(_("Đã xóa thông tin xác thực %(name)s.", name=name), "info")
    return redirect(url_for("admin.credentials"))


# ------------------------------------------------------------------------------ policy


@bp.route("/policy")
@role_required(ADMIN)
def policy():
    from compliance.policy import PolicyError, load_policy

    try:
        loaded, issues = load_policy(), []
    except PolicyError as exc:
        loaded, issues = None, [str(issue) for issue in exc.issues]
    return render_template("admin/policy.html", policy=loaded, issues=issues)


# ------------------------------------------------------------------------------ polling schedule


@bp.route("/schedule")
@role_required(ADMIN)
def schedule():
    return render_template("admin/schedule.html", sites=list_sites(get_session()), max_minutes=MAX_POLL_MINUTES)


@bp.route("/schedule", methods=["POST"])
@role_required(ADMIN)
def save_schedule():
    db = get_session()
    form = ScheduleForm.for_sites(list(db.execute(select(Site.code).order_by(Site.code)).scalars()))
    if not form.validate():
        flash_field_errors(form)
        return redirect(url_for("admin.schedule"))
    intervals = form.intervals()
    errors = [code for code, minutes in intervals.items() if minutes is None]
    if errors:
        flash(_("Chu kỳ phải là số phút từ 0 đến %(max)d (đơn vị: %(sites)s). Chưa lưu gì.", max=MAX_POLL_MINUTES, sites=", ".join(errors)), "error")
        return redirect(url_for("admin.schedule"))
    changed = set_poll_intervals(db, intervals, actor=_actor())
    commit()
    flash(_("Đã cập nhật lịch thu thập của %(n)d đơn vị.", n=changed), "info")
    return redirect(url_for("admin.schedule"))


# ------------------------------------------------------------------------------ notification channels

CHANNEL_KIND_LABELS = {ChannelKind.SMTP.value: _l("Thư điện tử (SMTP)"), ChannelKind.WEBHOOK.value: _l("Webhook (ký HMAC)")}
TEST_TIMEOUT_SECONDS = 10  # the "Gửi thử" button waits at most this long for the server


class ChannelForm(FlaskForm):
    name = StringField(_l("Tên"), validators=[DataRequired(), Length(max=100)])
    kind = SelectField(_l("Loại"), validators=[DataRequired()])
    enabled = BooleanField(_l("Đang bật"), default=True)
    min_severity = SelectField(_l("Mức độ tối thiểu"), validators=[DataRequired()])
    kinds = SelectMultipleField(_l("Loại sự kiện (không chọn: mọi loại)"), validators=[Optional()])
    host = StringField(_l("Máy chủ SMTP"), validators=[Optional(), Length(max=255)])
    port = IntegerField(_l("Cổng"), validators=[Optional(), NumberRange(1, 65535)])
    sender = StringField(_l("Địa chỉ gửi"), validators=[Optional(), Length(max=255)])
    recipients = TextAreaField(_l("Người nhận (cách nhau bởi dấu phẩy)"), validators=[Optional(), Length(max=5000)])
    starttls = BooleanField(_l("Dùng STARTTLS"))
    username = StringField(_l("Tên đăng nhập SMTP"), validators=[Optional(), Length(max=255)])
    url = StringField(_l("URL webhook"), validators=[Optional(), Length(max=2000)])
    # Write-only: PasswordField never renders a value back.
    secret = PasswordField(_l("Mật khẩu SMTP hoặc khóa ký webhook"), validators=[Optional(), Length(max=500)])
    clear_secret = BooleanField(_l("Xóa phần bí mật đã lưu"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = _choices(CHANNEL_KIND_LABELS.items())
        self.min_severity.choices = _choices((s, label(s)) for s in values(Severity))
        self.kinds.choices = _choices((k, label(k)) for k in values(EventKind))

    def fill(self, channel: NotificationChannel) -> None:
        """The stored values (never the secret) into an edit form."""
        s = channel.settings or {}
        self.name.data, self.kind.data, self.enabled.data = channel.name, channel.kind, channel.enabled
        self.min_severity.data, self.kinds.data = channel.min_severity, list(channel.kinds or [])
        self.host.data, self.port.data, self.sender.data = s.get("host", ""), s.get("port"), s.get("sender", "")
        self.recipients.data, self.starttls.data = ", ".join(s.get("recipients", [])), bool(s.get("starttls"))
        self.username.data, self.url.data = s.get("username", ""), s.get("url", "")

    def given(self) -> ChannelInput:
        return ChannelInput(
            name=(self.name.data or "").strip(), kind=self.kind.data, enabled=bool(self.enabled.data), min_severity=self.min_severity.data,
            kinds=list(self.kinds.data or []), host=self.host.data or "", port=self.port.data, sender=self.sender.data or "",
            recipients=self.recipients.data or "", starttls=bool(self.starttls.data), username=self.username.data or "",
            url=self.url.data or "", secret=self.secret.data or "", clear_secret=bool(self.clear_secret.data),
        )  # fmt: skip


class ConfirmForm(FlaskForm):
    confirm = BooleanField(_l("Tôi chắc chắn muốn xóa kênh này"))


def _channel_or_404(db, channel_id: int) -> NotificationChannel:
    channel = db.get(NotificationChannel, channel_id)
    if channel is None:
        abort(404)
    return channel


def _channels_page(form: ChannelForm | None = None, status: int = 200, editing: NotificationChannel | None = None):
    db = get_session()
    body = render_template(
        "admin/notifications.html", channels=list_channels(db), counts=delivery_counts(db), errors=last_errors(db),
        form=form or ChannelForm(formdata=None), editing=editing, confirm=ConfirmForm(formdata=None), kind_labels=CHANNEL_KIND_LABELS,
    )  # fmt: skip
    return body, status


@bp.route("/notifications")
@role_required(ADMIN)
def notifications():
    return _channels_page()


@bp.route("/notifications/<int:channel_id>")
@role_required(ADMIN)
def edit_channel(channel_id: int):
    channel = _channel_or_404(get_session(), channel_id)
    form = ChannelForm(formdata=None)
    form.fill(channel)
    return _channels_page(form, editing=channel)


@bp.route("/notifications", methods=["POST"], defaults={"channel_id": None})
@bp.route("/notifications/<int:channel_id>", methods=["POST"])
@role_required(ADMIN)
def save_channel_view(channel_id: int | None):
    db = get_session()
    editing = _channel_or_404(db, channel_id) if channel_id is not None else None
    form = ChannelForm()
    if not form.validate():
        flash_field_errors(form)
        return _channels_page(form, 400, editing)
    try:
        channel = save_channel(db, vault(), form.given(), actor=_actor(), channel_id=channel_id)
    except (ChannelError, CredentialKeyError) as exc:
        db.rollback()
        flash(_("Không lưu được kênh thông báo: %(reason)s", reason=admin_error(str(exc))), "error")
        return _channels_page(form, 400, editing)
    commit()
    flash(_("Đã lưu kênh thông báo %(name)s.", name=channel.name), "info")
    return redirect(url_for("admin.notifications"))


@bp.route("/notifications/<int:channel_id>/delete", methods=["POST"])
@role_required(ADMIN)
def delete_channel_view(channel_id: int):
    db = get_session()
    _channel_or_404(db, channel_id)
    form = ConfirmForm()
    if not form.validate() or not form.confirm.data:
        flash(_("Chưa xóa: hãy đánh dấu ô xác nhận."), "error")
        return redirect(url_for("admin.edit_channel", channel_id=channel_id))
    name = delete_channel(db, channel_id, actor=_actor())
    commit()
    flash(_("Đã xóa kênh thông báo %(name)s.", name=name), "info")
    return redirect(url_for("admin.notifications"))


@bp.route("/notifications/<int:channel_id>/test", methods=["POST"])
@role_required(ADMIN)
def test_channel(channel_id: int):
    db = get_session()
    channel = _channel_or_404(db, channel_id)
    if not FlaskForm().validate():  # the CSRF token
        abort(400)
    ok, result = notify.send_test(vault(), channel, timeout=TEST_TIMEOUT_SECONDS)
    audit.record(db, _actor(), "test", "notification_channel", channel.id, after={"result": result})
    commit()
    if ok:
        flash(_("Đã gửi thử qua kênh %(name)s.", name=channel.name), "info")
    else:
        flash(_("Gửi thử qua kênh %(name)s thất bại: %(reason)s", name=channel.name, reason=delivery_error(result)), "error")
    return redirect(url_for("admin.edit_channel", channel_id=channel_id))
