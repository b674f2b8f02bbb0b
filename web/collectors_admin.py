"""Collectors on the web (the same functions as `kiemke collectors ...`):

- /admin/collectors/ (admin): every collector with its coverage (last contact, the oldest result
  it still holds, acknowledged number, pending, dropped, silent), a form to register one from the
  line `kiemke collector init` printed, revocation (with a confirmation), and its assignment file;
- the import page's air-gap upload (importers): a file from `kiemke collector export` applied as
  `kiemke import-collector` does; the receipt is shown and the acknowledgement file offered.
Every change is audit-logged by collectors.fleet (registration, revocation, assignments issued).
"""

from __future__ import annotations

import io
from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from collectors.fleet import wire
from collectors.fleet.assign_give import issue
from collectors.fleet.identity import fingerprint, hub_key, hub_public
from collectors.fleet.receive import Receipt, Refused, receive, write_ack
from collectors.fleet.registry import ACTIVE, RegistryError, collector_status, register, revoke
from inventory.choices import ZoneKind, values
from inventory.crypto import CredentialKeyError
from inventory.models import Collector, CollectorBatch, Site
from web.access import ADMIN, PLANNER, SECURITY_OFFICER, TECHNICIAN, role_required
from web.admin_texts import admin_error, collector_refusal
from web.database import commit, get_session
from web.forms import flash_field_errors
from web.labels import label

bp = Blueprint("collectors_admin", __name__)

IMPORTERS = (TECHNICIAN, PLANNER, SECURITY_OFFICER)  # as the import page (web/transfers.py)
ACK_REFUSED_LISTED = 1000  # refused batches an acknowledgement names (the newest)

# The receipt and the events feed (collector_refused) show why a batch or file was refused in the
# page's language; the acknowledgement file keeps the hub's English (the collector's CLI prints it).
bp.add_app_template_filter(collector_refusal, "collector_refusal")


class RegisterForm(FlaskForm):
    public_line = TextAreaField(_l("Dòng khóa công khai của bộ thu thập"), validators=[DataRequired(), Length(max=400)], filters=[lambda v: " ".join((v or "").split())])
    site = SelectField(_l("Đơn vị"), validators=[DataRequired()])
    zone = SelectField(_l("Vùng mạng"), validators=[DataRequired()])

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.site.choices = [SelectChoice(code, f"{code} — {name}") for code, name in sites]
        self.zone.choices = [SelectChoice(z, str(label(z))) for z in values(ZoneKind)]


class ConfirmForm(FlaskForm):
    confirm = BooleanField(_l("Tôi chắc chắn"))


class CollectorFileForm(FlaskForm):
    file = FileField(_l("Tệp của bộ thu thập"), validators=[FileRequired(_l("Hãy chọn một tệp."))])


def _settings():
    return current_app.extensions["kiemke.settings"]


def _sites(db) -> list[tuple[str, str]]:
    return [(code, name) for code, name in db.execute(select(Site.code, Site.name).order_by(Site.code))]


def _page(form: RegisterForm | None = None, status: int = 200):
    db = get_session()
    form = form or RegisterForm(formdata=None, sites=_sites(db))
    rows = collector_status(db, silent_minutes=_settings().collector_silent_minutes)
    hub_fingerprint = fingerprint(hub_public(hub_key(_settings())))  # the collectors pin this key: their operators compare it
    return render_template("collectors/admin.html", collectors=rows, form=form, confirm_form=ConfirmForm(formdata=None),
                           silent_minutes=_settings().collector_silent_minutes, hub_fingerprint=hub_fingerprint), status  # fmt: skip


@bp.route("/admin/collectors/")
@role_required(ADMIN)
def index():
    return _page()


@bp.route("/admin/collectors/", methods=["POST"])
@role_required(ADMIN)
def add():
    db = get_session()
    form = RegisterForm(sites=_sites(db))
    if not form.validate():
        flash_field_errors(form)
        return _page(form, 400)
    try:
        collector = register(db, form.public_line.data, form.site.data, form.zone.data, current_user.username)
    except RegistryError as exc:
        db.rollback()
        flash(_("Không đăng ký được bộ thu thập: %(reason)s", reason=admin_error(str(exc))), "error")
        return _page(form, 400)
    name = collector.name
    commit()
    flash(_("Đã đăng ký bộ thu thập %(name)s. Tải tệp phân công cho nó, hoặc để nó tự lấy khi kết nối tới máy chủ.", name=name), "info")
    return redirect(url_for("collectors_admin.index"))


def _collector(collector_id: int) -> Collector:
    collector = get_session().get(Collector, collector_id)
    if collector is None:
        abort(404)
    return collector


@bp.route("/admin/collectors/<int:collector_id>/revoke", methods=["POST"])
@role_required(ADMIN)
def revoke_view(collector_id: int):
    collector = _collector(collector_id)
    form = ConfirmForm()
    if not form.validate() or not form.confirm.data:
        flash(_("Chưa thu hồi: hãy đánh dấu ô xác nhận."), "error")
        return redirect(url_for("collectors_admin.index"))
    name = collector.name
    if revoke(get_session(), name, current_user.username):
        commit()
        flash(_("Đã thu hồi bộ thu thập %(name)s: mọi dữ liệu nó gửi từ nay bị từ chối.", name=name), "info")
    return redirect(url_for("collectors_admin.index"))


@bp.route("/admin/collectors/<int:collector_id>/assignment", methods=["POST"])
@role_required(ADMIN)
def assignment(collector_id: int):
    collector = _collector(collector_id)
    if not ConfirmForm().validate():
        abort(400)
    if collector.status != ACTIVE:
        flash(_("Bộ thu thập đã bị thu hồi: không cấp tệp phân công."), "error")
        return redirect(url_for("collectors_admin.index"))
    db = get_session()
    try:
        issued = issue(db, _settings(), current_app.extensions["kiemke.vault"], collector, actor=current_user.username)
    except CredentialKeyError as exc:
        db.rollback()
        flash(admin_error(str(exc)), "error")
        return redirect(url_for("collectors_admin.index"))
    name = collector.name
    commit()
    response = send_file(io.BytesIO(issued.frame), mimetype="application/octet-stream", as_attachment=True, download_name=f"{name}.assignment")
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the import page's air-gap upload ------------------------------------------------------------------


@bp.url_value_preprocessor
def _upload_bound(endpoint: str | None, _values) -> None:
    # Before CSRFProtect parses the form: a collector file has its own bound, not the app's 2 MiB.
    if endpoint == "collectors_admin.upload":
        request.max_content_length = wire.MAX_FRAME_BYTES + 1024 * 1024


@bp.route("/transfers/collector-file", methods=["POST"])
@role_required(*IMPORTERS)
def upload():
    form = CollectorFileForm()
    if not form.validate():
        problem = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        return render_template("collectors/receipt.html", receipt=None, problem=problem), 400
    data = form.file.data.stream.read(wire.MAX_FRAME_BYTES + 1)
    try:
        receipt = receive(current_app.extensions["kiemke.engine"], _settings(), data, via="file", actor=current_user.username)
    except Refused as exc:
        return render_template("collectors/receipt.html", receipt=None, problem=_("Tệp bị từ chối: %(reason)s", reason=admin_error(str(exc)))), 400
    collector_id = get_session().execute(select(Collector.id).where(Collector.name == receipt.collector)).scalar_one()
    return render_template("collectors/receipt.html", receipt=receipt, collector_id=collector_id, problem=None)


@bp.route("/transfers/collector-ack/<int:collector_id>")
@role_required(*IMPORTERS)
def ack(collector_id: int):
    """The acknowledgement of what the hub holds of this collector now: every batch up to its
    acknowledged number, and the refused ones (the same whichever upload it follows)."""
    collector = _collector(collector_id)
    db = get_session()
    rows = db.execute(
        select(CollectorBatch.seq, CollectorBatch.error)
        .where(CollectorBatch.collector_id == collector.id, CollectorBatch.status == "refused", CollectorBatch.seq <= collector.acked_seq)
        .order_by(CollectorBatch.seq.desc())
        .limit(ACK_REFUSED_LISTED)
    ).all()  # fmt: skip
    receipt = Receipt(collector.name, collector.acked_seq, refused=[{"seq": s, "reason": e or "refused"} for s, e in reversed(rows)], via="file")
    name = f"{collector.name}-{datetime.now().strftime('%Y%m%d-%H%M')}.ack"
    response = send_file(io.BytesIO(write_ack(_settings(), receipt, collector.name)), mimetype="application/octet-stream", as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response
