"""Imports and exports (technicians, planners, security officers): upload a CSV/XLSX of sites,
devices or approved quantities, see what it would change (new / updated field by field /
unchanged rows, and every rejected row) and confirm to apply it; download templates and exports.
Endpoint agents' offline inventories (.ocs/.xml/.json written with `--local`) are uploaded here
too, as reported by the agents of one agent account: each file's outcome by its name.

A table upload is held on the server (web.held_uploads: 0600, a random token, 30 minutes) between
its preview and the confirmation, which applies that same file; agent files go to a private
temporary directory for the importer and are removed at once. The kind of data chosen last is
remembered in the session.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path, PurePath

from flask import Blueprint, abort, current_app, flash, render_template, request, send_file, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from sqlalchemy import select
from werkzeug.utils import secure_filename
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired

from collectors.agents.service import FILE_SUFFIXES, AgentImportError, FileResult, ImportResult, import_files
from collectors.agents.wire import MAX_BODY_BYTES
from collectors.work.agent_files import queue_agent_files
from collectors.work.queue import to_workers
from inventory import audit
from inventory.changes import changed
from inventory.io.columns import KINDS
from inventory.io.exporter import export_file, template_sites, write_template
from inventory.io.importer import ImportConflict, ImportReport, import_file
from inventory.io.tabular import TableFormatError
from inventory.models import AgentAccount, Site
from web import held_uploads
from web.access import EXPORTERS, PLANNER, SECURITY_OFFICER, TECHNICIAN, role_required
from web.database import commit, get_session
from web.import_texts import import_text
from web.labels import label
from web.recheck import tell_evaluation

bp = Blueprint("transfers", __name__, url_prefix="/transfers")

ROLES = (TECHNICIAN, PLANNER, SECURITY_OFFICER)
TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FILE_NAMES = {"sites": "don-vi", "devices": "thiet-bi", "approved": "so-luong-duoc-duyet"}
# Agent files: a commune's inventories at once, each bounded like an agent's POST by the importer.
AGENT_UPLOAD_MAX_BYTES = 64 * 1024 * 1024
AGENT_UPLOAD_MAX_FILES = 500
# Rows a preview lists (the counts cover them all): a province's file may have tens of thousands.
PREVIEW_ROWS_SHOWN = 500
KIND_REMEMBERED = "transfers_kind"  # session key: the kind of data chosen last
# Columns whose values are codes of a fixed vocabulary: a preview shows them by their labels.
CODED_COLUMNS = frozenset({"kind", "zone", "device_class", "status"})
AGENT_STATUS_TEXT = {"created": _l("Tạo mới"), "updated": _l("Cập nhật"), "unchanged": _l("Không thay đổi"), "failed": _l("Lỗi")}


class ImportForm(FlaskForm):
    kind = StringField(_l("Loại dữ liệu"), validators=[DataRequired(), AnyOf(tuple(KINDS), message=_l("Loại dữ liệu không hợp lệ."))])
    file = FileField(_l("Tệp CSV hoặc XLSX"), validators=[FileRequired(_l("Hãy chọn một tệp."))])
    partial = BooleanField(_l("Nhập các dòng hợp lệ, bỏ qua dòng lỗi"))


class ConfirmImportForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


class AgentFilesForm(FlaskForm):
    account = SelectField(_l("Tài khoản agent (đơn vị)"), validators=[DataRequired()])
    files = MultipleFileField(_l("Tệp của agent (.ocs, .xml, .json)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rows = get_session().execute(select(AgentAccount.name, Site.code).join(Site, Site.id == AgentAccount.site_id)
                                     .where(AgentAccount.enabled.is_(True)).order_by(AgentAccount.name))  # fmt: skip
        self.account.choices = [SelectChoice(name, f"{name} ({code})") for name, code in rows]


def _page(form: ImportForm | None = None, report: ImportReport | None = None, problem: str | None = None, status: int = 200, *,
          agent_form: AgentFilesForm | None = None, agent_result: ImportResult | None = None, agent_problem: str | None = None,
          confirm: ConfirmImportForm | None = None):  # fmt: skip
    if form is None:
        form = ImportForm(formdata=None, kind=session.get(KIND_REMEMBERED) if session.get(KIND_REMEMBERED) in KINDS else None)
    return render_template("transfers/index.html", form=form, kinds=list(KINDS), names=FILE_NAMES, report=report,
                           problem=problem, rejected=len({e.row for e in report.errors}) if report else 0,
                           agent_form=agent_form or AgentFilesForm(formdata=None), agent_result=agent_result, agent_problem=agent_problem,
                           agent_status=AGENT_STATUS_TEXT, agent_suffixes=",".join(FILE_SUFFIXES), confirm=confirm,
                           import_text=import_text, shown_value=_shown_value, preview_rows=PREVIEW_ROWS_SHOWN), status  # fmt: skip


def _shown_value(key: str, value) -> str:
    """A previewed cell: a code by its label, a date the page's way, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if key in CODED_COLUMNS:
        return label(str(value))
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    return str(value)


@bp.route("/")
@role_required(*ROLES)
def index():
    return _page()


def _home() -> Path:
    return current_app.extensions["kiemke.settings"].home


@bp.route("/import", methods=["POST"])
@role_required(*ROLES)
def upload():
    """Check the file and show what importing it would change; nothing is written yet."""
    form = ImportForm()
    if form.kind.data in KINDS:
        session[KIND_REMEMBERED] = form.kind.data
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
    held = held_uploads.hold(_home(), upload.stream, name, kind=form.kind.data, partial=bool(form.partial.data), user=current_user.username)
    db = get_session()
    try:
        report = import_file(db, held.kind, held.path, partial=held.partial, actor=current_user.username, dry_run=True)
    except (TableFormatError, ValueError) as exc:
        held_uploads.release(held)
        return _page(form, problem=import_text(str(exc)), status=400)
    finally:
        db.rollback()  # a dry run writes nothing; this ends its transaction (and its write claim)
    if not report.would_apply or not (report.created or report.updated):
        held_uploads.release(held)  # nothing to confirm: an error stops it, or it changes nothing
        return _page(form, report=report)
    return _page(form, report=report, confirm=ConfirmImportForm(formdata=None, token=held.token))


@bp.route("/import/confirm", methods=["POST"])
@role_required(*ROLES)
def confirm_import():
    """Apply the file a preview showed (held on the server), or drop it when cancelled."""
    confirm = ConfirmImportForm()
    held = held_uploads.take(_home(), confirm.token.data or "", current_user.username) if confirm.validate() else None
    if held is None:
        return _page(problem=_("Bản xem trước này không còn hiệu lực (quá 30 phút hoặc đã dùng); hãy tải tệp lên lại."), status=400)
    form = ImportForm(formdata=None, kind=held.kind, partial=held.partial)
    if "cancel" in request.form:
        held_uploads.release(held)
        return _page(form)
    db = get_session()
    try:
        report = import_file(db, held.kind, held.path, partial=held.partial, actor=current_user.username)
    except (TableFormatError, ImportConflict, ValueError) as exc:
        db.rollback()
        return _page(form, problem=import_text(str(exc)), status=400)
    finally:
        held_uploads.release(held)
    if report.applied:
        commit()
        tell_evaluation(changed(db.get_bind(), device_ids=report.touched_device_ids, site_ids=report.touched_site_ids, trigger="import",
                                actor=current_user.username))  # fmt: skip
    else:
        db.rollback()
    return _page(form, report=report)


@bp.url_value_preprocessor
def _agent_upload_bound(endpoint: str | None, _values) -> None:
    # Runs before the app's before_request hooks, so before CSRFProtect parses the form: the agent
    # files' upload gets its own bound instead of the app's 2 MiB (a CSV import keeps that one).
    if endpoint == "transfers.upload_agent_files":
        request.max_content_length = AGENT_UPLOAD_MAX_BYTES


def _shown_name(upload) -> str:
    """The uploaded file's own name for the result table: its last path part, bounded."""
    name = PurePath((upload.filename or "").replace("\\", "/")).name.strip() or "?"
    return name if len(name) <= 120 else name[:119] + "…"


@bp.route("/agent-files", methods=["POST"])
@role_required(*ROLES)
def upload_agent_files():
    form = AgentFilesForm()
    uploads = [u for u in (form.files.data or []) if u and u.filename]
    if not form.validate() or not uploads:
        problem = "; ".join(str(e) for errors in form.errors.values() for e in errors) or _("Hãy chọn ít nhất một tệp.")
        return _page(agent_form=form, agent_problem=problem, status=400)
    if len(uploads) > AGENT_UPLOAD_MAX_FILES:
        return _page(agent_form=form, agent_problem=_("Tối đa %(n)d tệp mỗi lần.", n=AGENT_UPLOAD_MAX_FILES), status=400)
    refused: list[FileResult] = []
    names: dict[Path, str] = {}
    with tempfile.TemporaryDirectory(prefix="kiemke-agent-files-") as tmp:
        for number, upload in enumerate(uploads):
            shown = _shown_name(upload)
            suffix = Path(shown).suffix.lower()
            if suffix not in FILE_SUFFIXES:
                refused.append(FileResult(shown, "failed", reason=_("chỉ nhận tệp %(suffixes)s", suffixes=", ".join(FILE_SUFFIXES))))
                continue
            # The name on disk is ours (a number); the user's name is only shown.
            path = Path(tmp) / f"{number:04d}{suffix}"
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
                upload.stream.seek(0)
                copied = _copy_bounded(upload.stream, handle, MAX_BODY_BYTES + 1)
            if copied > MAX_BODY_BYTES:
                path.unlink()
                refused.append(FileResult(shown, "failed", reason=_("tệp lớn hơn %(n)d byte", n=MAX_BODY_BYTES)))
                continue
            names[path] = shown
        result = ImportResult()
        engine = current_app.extensions["kiemke.engine"]
        if names:
            try:
                if to_workers(engine):  # KIEMKE_JOBS=workers: copied to KIEMKE_HOME/incoming before the temporary folder goes
                    queued = queue_agent_files(engine, current_app.extensions["kiemke.settings"].home, list(names), account=form.account.data,
                                               actor=current_user.username, name_of=names.__getitem__)  # fmt: skip
                    flash(_("Đã xếp hàng %(n)d tệp cho tiến trình nền (worker); kết quả sẽ có trong lịch sử quét.", n=queued.files), "info")
                else:
                    result = import_files(engine, list(names), account=form.account.data, actor=current_user.username, name_of=names.__getitem__)
            except AgentImportError as exc:
                return _page(agent_form=form, agent_problem=str(exc), status=400)
    if refused:
        # Files refused before the importer saw them are in no scan run: the audit log names them.
        audit.record(get_session(), current_user.username, "refuse", "agent_inventory", result.scan_run_id,
                     after={"account": form.account.data, "files": [f"{f.name}: {f.reason}" for f in refused]})  # fmt: skip
        commit()
    result.files[:0] = refused
    return _page(agent_form=form, agent_result=result if result.files else None)


def _copy_bounded(source, target, limit: int) -> int:
    """Copy at most `limit` bytes; the count copied (limit means: larger, stop reading)."""
    copied = 0
    while copied < limit:
        chunk = source.read(min(1024 * 1024, limit - copied))
        if not chunk:
            break
        target.write(chunk)
        copied += len(chunk)
    return copied


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
    return _send(kind, fmt, lambda path: write_template(kind, path, template_sites(get_session())), "mau-")


@bp.route("/export/<kind>.<fmt>")
@role_required(*EXPORTERS)
def export(kind: str, fmt: str):
    return _send(kind, fmt, lambda path: export_file(get_session(), kind, path), "")
