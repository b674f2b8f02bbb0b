"""Imports and exports (technicians, planners, security officers): upload a CSV/XLSX of sites,
devices or approved quantities and see every rejected row; download templates and exports.

Uploads are written to a private temporary directory for the importer and removed at once.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Blueprint, abort, render_template, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.utils import secure_filename
from wtforms import BooleanField, StringField
from wtforms.validators import AnyOf, DataRequired

from inventory.changes import changed
from inventory.io.columns import KINDS
from inventory.io.exporter import export_file, write_template
from inventory.io.importer import import_file
from inventory.io.tabular import TableFormatError
from web.access import EXPORTERS, PLANNER, SECURITY_OFFICER, TECHNICIAN, role_required
from web.database import commit, get_session
from web.recheck import tell_evaluation

bp = Blueprint("transfers", __name__, url_prefix="/transfers")

ROLES = (TECHNICIAN, PLANNER, SECURITY_OFFICER)
TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FILE_NAMES = {"sites": "don-vi", "devices": "thiet-bi", "approved": "so-luong-duoc-duyet"}


class ImportForm(FlaskForm):
    kind = StringField(_l("Loại dữ liệu"), validators=[DataRequired(), AnyOf(tuple(KINDS), message=_l("Loại dữ liệu không hợp lệ."))])
    file = FileField(_l("Tệp CSV hoặc XLSX"), validators=[FileRequired(_l("Hãy chọn một tệp."))])
    partial = BooleanField(_l("Nhập các dòng hợp lệ, bỏ qua dòng lỗi"))


def _page(form: ImportForm, report=None, problem: str | None = None, status: int = 200):
    return render_template("transfers/index.html", form=form, kinds=list(KINDS), names=FILE_NAMES, report=report, problem=problem,
                           rejected=len({e.row for e in report.errors}) if report else 0), status  # fmt: skip


@bp.route("/")
@role_required(*ROLES)
def index():
    return _page(ImportForm(formdata=None))


@bp.route("/import", methods=["POST"])
@role_required(*ROLES)
def upload():
    form = ImportForm()
    if not form.validate():
        problem = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        return _page(form, problem=problem, status=400)
    upload = form.file.data
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        return _page(form, problem=_("Chỉ nhận tệp .csv hoặc .xlsx."), status=400)
    name = secure_filename(upload.filename or "") or f"tep-nhap{suffix}"
    if not name.lower().endswith(suffix):
        name += suffix
    db = get_session()
    with tempfile.TemporaryDirectory(prefix="kiemke-import-") as tmp:
        path = Path(tmp) / name
        upload.save(path)
        try:
            report = import_file(db, form.kind.data, path, partial=bool(form.partial.data), actor=current_user.username)
        except (TableFormatError, ValueError) as exc:
            db.rollback()
            return _page(form, problem=str(exc), status=400)
    if report.applied:
        commit()
        tell_evaluation(changed(db.get_bind(), device_ids=report.touched_device_ids, site_ids=report.touched_site_ids, trigger="import",
                                actor=current_user.username))  # fmt: skip
    else:
        db.rollback()
    return _page(form, report=report)


def _send(kind: str, fmt: str, write, prefix: str):
    if kind not in KINDS or fmt not in TYPES:
        abort(404)
    name = f"{prefix}{FILE_NAMES[kind]}.{fmt}"
    with tempfile.TemporaryDirectory(prefix="kiemke-export-") as tmp:
        path = Path(tmp) / name
        write(path)
        data = path.read_bytes()
    return send_file(io.BytesIO(data), mimetype=TYPES[fmt], as_attachment=True, download_name=name)


@bp.route("/template/<kind>.<fmt>")
@role_required(*ROLES)
def template(kind: str, fmt: str):
    return _send(kind, fmt, lambda path: write_template(kind, path), "mau-")


@bp.route("/export/<kind>.<fmt>")
@role_required(*EXPORTERS)
def export(kind: str, fmt: str):
    return _send(kind, fmt, lambda path: export_file(get_session(), kind, path), "")
