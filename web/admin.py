"""Administration (admin only): users and roles, device credentials (write-only), the policy
(read-only), and each site's polling schedule. Every change is audit-logged.

Secrets are shown at most once, in the response to the POST that created them (one-time
passwords, API tokens) with `Cache-Control: no-store`; they never go into the session, a flash
message, a redirect or the audit log. Credential secrets are never sent back at all.

Every signed-in user also has an "API token" page here for their own token.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from collectors.credentials import SECRET_FIELDS, CredentialError, Scope, add_credential, delete_credential, list_credentials
from inventory import tokens
from inventory import users as inventory_users
from inventory.choices import CredentialKind, DeviceClass, Role, ZoneKind, values
from inventory.crypto import CredentialKeyError, Vault
from inventory.models import Device, Site, User
from inventory.repository import list_sites, site_by_code
from inventory.schedule import MAX_POLL_MINUTES, parse_interval, set_poll_intervals
from web import queries
from web.access import ADMIN, EVERYONE, role_required
from web.database import commit, get_session
from web.labels import label

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


def _flash_errors(form: FlaskForm) -> None:
    for field, errors in form.errors.items():
        title = getattr(getattr(form, field, None), "label", None)
        for error in errors:
            flash(f"{title.text}: {error}" if title is not None else str(error), "error")


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, str(text)) for value, text in pairs]


def _role_choices() -> list[tuple[str, str]]:
    return [(r.value, label(r.value)) for r in Role]


# ------------------------------------------------------------------------------ forms


class NewUserForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=100)])
    full_name = StringField(_l("Họ và tên"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Vai trò"), validators=[DataRequired()])

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
        _flash_errors(form)
        return _users_page(form, 400)
    db = get_session()
    try:
        user, password = inventory_users.add_user(db, form.username.data, form.role.data, None, full_name=(form.full_name.data or "").strip(), actor=_actor())
    except inventory_users.UserError as exc:
        db.rollback()
        flash(_("Không tạo được người dùng: %(reason)s", reason=str(exc)), "error")
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
        _flash_errors(form)
        return redirect(url_for("admin.users"))
    new = form.role.data
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
        _flash_errors(form)
        return redirect(url_for("admin.users"))
    active = form.active.data == "1"
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
    password = inventory_users.issue_one_time_password(db, user, actor=_actor())  # audit-logged, stored hashed
    commit()
    return _once("admin/secret_once.html", user=user, secret=password, kind="password")


@bp.route("/users/<int:user_id>/token", methods=["POST"])
@role_required(ADMIN)
def issue_token(user_id: int):
    db = get_session()
    user = _user_or_404(db, user_id)
    token = tokens.issue_token(db, user, actor=_actor())
    commit()
    return _once("admin/secret_once.html", user=user, secret=token, kind="token")


@bp.route("/users/<int:user_id>/token/revoke", methods=["POST"])
@role_required(ADMIN)
def revoke_token(user_id: int):
    db = get_session()
    user = _user_or_404(db, user_id)
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
        _flash_errors(form)
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
        flash(_("Không lưu được thông tin xác thực: %(reason)s", reason=str(exc)), "error")
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
        _flash_errors(form)
        return redirect(url_for("admin.credentials"))
    name = form.name.data
    try:
        delete_credential(db, name, actor=_actor())
    except CredentialError as exc:
        db.rollback()
        flash(_("Không xóa được: %(reason)s", reason=str(exc)), "error")
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
        _flash_errors(form)
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
