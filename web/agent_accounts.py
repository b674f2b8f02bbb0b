"""Agent accounts (admin only): the HTTP basic-auth user and password the endpoint agents of one
site report with (collectors.agents.accounts, the same functions as `kiemke agents`).

The password is shown once, in the answer to the POST that made it (never cached, never in the
session, a flash message or the audit log); only its hash is stored. Disabling or enabling an
account asks for a confirmation. Every change is audit-logged by the accounts module.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from collectors.agents.accounts import AccountError, add_account, list_accounts, set_enabled
from inventory.choices import ZoneKind, values
from inventory.models import AgentAccount, Site
from web.access import ADMIN, role_required
from web.database import commit, get_session
from web.forms import flash_field_errors
from web.labels import label

bp = Blueprint("agent_accounts", __name__, url_prefix="/admin/agents")


class NewAgentAccountForm(FlaskForm):
    name = StringField(_l("Tên tài khoản"), validators=[DataRequired(), Length(max=64)], filters=[lambda value: (value or "").strip().lower()])
    site = SelectField(_l("Đơn vị"), validators=[DataRequired()])
    zone = SelectField(_l("Vùng mạng khi địa chỉ không thuộc mạng con nào của đơn vị"), validators=[Optional()])

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.site.choices = [SelectChoice(code, f"{code} — {name}") for code, name in sites]
        none = SelectChoice("", str(_("(không: từ chối máy ngoài các mạng con)")))
        self.zone.choices = [none] + [SelectChoice(z, str(label(z))) for z in values(ZoneKind)]


class EnabledForm(FlaskForm):
    enabled = StringField()  # "1" enables; anything else disables
    confirm = BooleanField(_l("Tôi chắc chắn"))


def _site_pairs(db) -> list[tuple[str, str]]:
    return [(code, name) for code, name in db.execute(select(Site.code, Site.name).order_by(Site.code))]


def _page(form: NewAgentAccountForm | None = None, status: int = 200):
    db = get_session()
    form = form or NewAgentAccountForm(formdata=None, sites=_site_pairs(db))
    return render_template("admin/agent_accounts.html", accounts=list_accounts(db), form=form, enabled_form=EnabledForm(formdata=None)), status


@bp.route("/")
@role_required(ADMIN)
def index():
    return _page()


@bp.route("/", methods=["POST"])
@role_required(ADMIN)
def add():
    db = get_session()
    form = NewAgentAccountForm(sites=_site_pairs(db))
    if not form.validate():
        flash_field_errors(form)
        return _page(form, 400)
    try:
        issued = add_account(db, form.name.data, site=form.site.data, zone=form.zone.data or None, actor=current_user.username)
    except AccountError as exc:
        db.rollback()
        flash(_("Không tạo được tài khoản agent: %(reason)s", reason=str(exc)), "error")
        return _page(form, 400)
    commit()
    response = make_response(render_template("admin/agent_account_once.html", account=issued, server=url_for("agents.inventory", _external=True)))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.route("/<int:account_id>/enabled", methods=["POST"])
@role_required(ADMIN)
def set_enabled_view(account_id: int):
    db = get_session()
    account = db.get(AgentAccount, account_id)
    if account is None:
        abort(404)
    form = EnabledForm()
    if not form.validate() or not form.confirm.data:
        flash(_("Chưa thay đổi: hãy đánh dấu ô xác nhận."), "error")
        return redirect(url_for("agent_accounts.index"))
    enabled = form.enabled.data == "1"
    if set_enabled(db, account.name, enabled, actor=current_user.username):
        commit()
        message = _("Đã bật tài khoản agent %(name)s.", name=account.name) if enabled else _("Đã tắt tài khoản agent %(name)s: các agent của nó bị từ chối (401).", name=account.name)
        flash(message, "info")
    return redirect(url_for("agent_accounts.index"))
