"""Administration (admin only): users and roles, device credentials (write-only), the policy
(read-only), and each site's polling schedule. Every change is audit-logged.

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
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from collectors.credentials import SECRET_FIELDS, CredentialError, Scope, add_credential, delete_credential, list_credentials
from inventory import audit
from inventory.choices import CredentialKind, DeviceClass, Role, ZoneKind, values
from inventory.crypto import CredentialKeyError, Vault
from inventory.models import Device, Site, User
from inventory.repository import list_sites, site_by_code
from inventory.users import UserError, add_user
from web import queries
from web.access import ADMIN, EVERYONE, role_required
from web.accounts import issue_one_time_password
from web.database import commit, get_session
from web.labels import label

bp = Blueprint("admin", __name__, url_prefix="/admin")

MAX_POLL_MINUTES = 7 * 24 * 60
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


def _active_admins(db) -> int:
    return db.execute(select(func.count()).select_from(User).where(User.role == ADMIN, User.active.is_(True))).scalar_one()


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
        user, password = add_user(db, form.username.data, form.role.data, None, full_name=(form.full_name.data or "").strip(), actor=_actor())
    except UserError as exc:
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
    if user.id == current_user.user_id and new != user.role:
        flash(_("Không thể tự đổi vai trò của chính mình."), "error")
        return redirect(url_for("admin.users"))
    if new != user.role:
        before = audit.snapshot(user)
        user.role = new
        db.flush()
        audit.record(db, _actor(), "update", "user", user.id, before=before, after=audit.snapshot(user))
        commit()
        flash(_("Đã đổi vai trò của %(user)s thành %(role)s.", user=user.username, role=label(new)), "info")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@role_required(ADMIN)
def set_active(user_id: int):
    db = get_session()
    user = _user_or_404(db, user_id)
    active = request.form.get("active") == "1"
    if user.id == current_user.user_id and not active:
        flash(_("Không thể tự vô hiệu hóa tài khoản của chính mình."), "error")
        return redirect(url_for("admin.users"))
    if not active and user.role == ADMIN and user.active and _active_admins(db) <= 1:
        flash(_("Phải còn ít nhất một quản trị viên đang hoạt động."), "error")
        return redirect(url_for("admin.users"))
    if user.active != active:
        before = audit.snapshot(user)
        user.active = active
        db.flush()
        audit.record(db, _actor(), "activate" if active else "deactivate", "user", user.id, before=before, after=audit.snapshot(user))
        commit()
        flash(_("Đã kích hoạt %(user)s.", user=user.username) if active else _("Đã vô hiệu hóa %(user)s.", user=user.username), "info")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@role_required(ADMIN)
def reset_password(user_id: int):
    db = get_session()
    user = _user_or_404(db, user_id)
    password = issue_one_time_password(db, user, actor=_actor())  # audit-logged, stored hashed
    commit()
    return _once("admin/secret_once.html", user=user, secret=password, kind="password")


def _issue_token(db, user: User) -> str:
    from web.api import new_token, token_hash

    token = new_token()
    replaced = user.api_token_hash is not None
    user.api_token_hash = token_hash(token)
    audit.record(db, _actor(), "api_token_issue", "user", user.id, after={"replaced": replaced})
    return token


def _revoke_token(db, user: User) -> bool:
    if user.api_token_hash is None:
        return False
    user.api_token_hash = None
    audit.record(db, _actor(), "api_token_revoke", "user", user.id)
    return True


@bp.route("/users/<int:user_id>/token", methods=["POST"])
@role_required(ADMIN)
def issue_token(user_id: int):
    db = get_session()
    user = _user_or_404(db, user_id)
    token = _issue_token(db, user)
    commit()
    return _once("admin/secret_once.html", user=user, secret=token, kind="token")


@bp.route("/users/<int:user_id>/token/revoke", methods=["POST"])
@role_required(ADMIN)
def revoke_token(user_id: int):
    db = get_session()
    user = _user_or_404(db, user_id)
    if _revoke_token(db, user):
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
    token = _issue_token(db, user)
    commit()
    return _once("admin/secret_once.html", user=user, secret=token, kind="token", own=True)


@bp.route("/token/revoke", methods=["POST"])
@role_required(*EVERYONE)
def my_token_revoke():
    db = get_session()
    user = _user_or_404(db, current_user.user_id)
    if _revoke_token(db, user):
        commit()
        flash(_("Đã thu hồi mã API."), "info")
    return redirect(url_for("admin.my_token"))


# ------------------------------------------------------------------------------ credentials


def vault() -> Vault:
    """The credential vault of this installation (the key in KIEMKE_HOME, as the CLI uses)."""
    found = current_app.extensions.get("kiemke.vault")
    if found is None:
        from inventory.settings import Settings

        settings = current_app.extensions.get("kiemke.settings")
        if settings is None:
            home = current_app.config.get("KIEMKE_HOME")
            settings = Settings(home=home) if home else Settings()
        found = current_app.extensions["kiemke.vault"] = Vault(settings.credential_key)
    return found


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
    name = (request.form.get("name") or "").strip()
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
    sites = list(db.execute(select(Site).order_by(Site.code)).scalars())
    changes: list[tuple[Site, int]] = []
    errors = []
    for site in sites:
        raw = request.form.get(f"interval-{site.code}")
        if raw is None or raw.strip() == "":
            continue
        try:
            minutes = int(raw.strip())
        except ValueError:
            minutes = -1
        if not 0 <= minutes <= MAX_POLL_MINUTES:
            errors.append(site.code)
            continue
        if minutes != site.poll_interval_minutes:
            changes.append((site, minutes))
    if errors:
        flash(_("Chu kỳ phải là số phút từ 0 đến %(max)d (đơn vị: %(sites)s). Chưa lưu gì.", max=MAX_POLL_MINUTES, sites=", ".join(errors)), "error")
        return redirect(url_for("admin.schedule"))
    for site, minutes in changes:
        before = audit.snapshot(site)
        site.poll_interval_minutes = minutes
        db.flush()
        audit.record(db, _actor(), "update", "site", site.id, before=before, after=audit.snapshot(site))
    commit()
    flash(_("Đã cập nhật lịch thu thập của %(n)d đơn vị.", n=len(changes)), "info")
    return redirect(url_for("admin.schedule"))
