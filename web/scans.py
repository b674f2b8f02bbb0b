"""Scans (technicians): start a discovery or a poll, follow it live, adopt what it found.

collectors.scanjobs runs a scan in a background thread of this process and keeps its progress
for the JSON endpoint the run page polls every second; with KIEMKE_JOBS=workers on PostgreSQL a
scan is queued instead (collectors.work: a discovery's run and job, a poll's run and one job per
device) and its page follows the run's row (collectors.work.progress). collectors.adopt records a
discovered device. The views only check forms and show what those return.
"""

from __future__ import annotations

import math
from dataclasses import replace

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from collectors.adopt import AlreadyRecorded, UnknownDevice, adopt_device
from collectors.runner import RunOptions
from collectors.scanjobs import SCAN_KINDS, ScanJob, ScanJobs, queue_discovery, scan_results
from collectors.service import NMAP_TIMEOUT, failure_text
from collectors.work.polls import ASKED_PRIORITY, Enqueued, PollRequest, enqueue_poll
from collectors.work.progress import run_progress
from collectors.work.queue import to_workers
from inventory.changes import committed_outcomes
from inventory.choices import DeviceClass, ZoneKind, values
from inventory.io.table_export import ExportColumn
from inventory.models import Device, ScanRun
from web import queries
from web.access import TECHNICIAN, role_required
from web.auth import _safe_next
from web.database import commit, get_session
from web.forms import ActionForm, AdoptForm, ScanForm, flash_errors
from web.labels import label, run_kind, who_ran
from web.list_export import check_format, export_response
from web.list_queries import SCAN_SORTS, Sorting, all_scan_runs, scan_runs_page
from web.paging import Page
from web.procurement import number
from web.recheck import tell_evaluation
from web.scan_texts import kind_word, phase_text, scan_failure

bp = Blueprint("scans", __name__, url_prefix="/scans")

KINDS = SCAN_KINDS
START_WAIT_SECONDS = 10.0  # how long the start request waits for the scan run to be recorded


def registry() -> ScanJobs:
    return current_app.extensions["kiemke.scan_jobs"]


def _default_snmp_port() -> int:
    return int(getattr(current_app.extensions["kiemke.settings"], "snmp_port", 161))


def _options_factory():
    return current_app.config.get("KIEMKE_SCAN_OPTIONS") or RunOptions  # tests: shorter timeouts


# The form's timeouts (seconds): field -> (lowest, highest). Defaults: the run options'.
TIMEOUT_BOUNDS = {"nmap_timeout": (10, 1800), "snmp_timeout": (1, 60), "ssh_timeout": (5, 300)}


def timeout_defaults() -> dict[str, int]:
    """The form's values: the run options' timeouts in whole seconds, within the form's bounds."""
    options = _options_factory()()
    seconds = {"nmap_timeout": NMAP_TIMEOUT, "snmp_timeout": options.snmp_timeout, "ssh_timeout": options.ssh_timeout}
    return {name: min(max(math.ceil(value), TIMEOUT_BOUNDS[name][0]), TIMEOUT_BOUNDS[name][1]) for name, value in seconds.items()}


def form_timeouts(data) -> tuple[dict[str, float], str | None]:
    """The timeouts typed on the scan form (blank: the default), or the first one out of bounds."""
    chosen: dict[str, float] = {}
    for name, (low, high) in TIMEOUT_BOUNDS.items():
        text = (data.get(name) or "").strip()
        if not text:
            continue
        value = int(text) if text.isascii() and text.isdigit() else None
        if value is None or not low <= value <= high:
            return {}, _("Thời gian chờ %(value)s giây không hợp lệ (%(low)d–%(high)d).", value=text[:12], low=low, high=high)
        chosen[name] = float(value)
    return chosen, None


def start_job(form: ScanForm, username: str, timeouts: dict[str, float] | None = None) -> ScanJob:
    request_ = replace(form.scan_request(), **(timeouts or {}))
    if request_.kind != "discover":
        request_ = replace(request_, nmap_timeout=None)
    return registry().start(
        request_, origin=f"web:{username[:80]}", engine=current_app.extensions["kiemke.engine"],
        vault=current_app.extensions["kiemke.vault"], options=_options_factory(),
    )  # fmt: skip


def queue_job(form: ScanForm, username: str, timeouts: dict[str, float] | None = None) -> int:
    """A discovery for `kiemke worker` (KIEMKE_JOBS=workers on PostgreSQL): its queued run's id."""
    return queue_discovery(replace(form.scan_request(), **(timeouts or {})), origin=f"web:{username[:80]}", engine=current_app.extensions["kiemke.engine"])


def queue_poll(form: ScanForm, username: str, timeouts: dict[str, float] | None = None) -> Enqueued:
    """A poll for `kiemke worker` (KIEMKE_JOBS=workers on PostgreSQL): its run and one job per device."""
    asked = replace(form.scan_request(), **(timeouts or {}))
    wanted = PollRequest(site=asked.site, zone=asked.zone, endpoints=asked.endpoints, snmp_timeout=asked.snmp_timeout, ssh_timeout=asked.ssh_timeout)
    return enqueue_poll(current_app.extensions["kiemke.engine"], wanted, triggered_by=f"web:{username[:80]}", priority=ASKED_PRIORITY)


def _queued_poll(queued: Enqueued, back: str):
    """Where a queued poll leads: its run's page, or back with why nothing was queued."""
    if queued.scan_run_id is None:
        if queued.already_queued:
            flash(_("Cả %(n)d thiết bị đều đang chờ hoặc đang được thu thập trong một lần khác; không xếp hàng thêm.", n=queued.already_queued), "info")
        else:
            flash(_("Không có thiết bị nào để thu thập trong phạm vi đã chọn."), "info")
        return redirect(back)
    if queued.already_queued:
        flash(_("%(n)d thiết bị đang chờ trong một lần thu thập khác nên không được thêm vào lần này.", n=queued.already_queued), "info")
    return redirect(url_for("scans.run", run_id=queued.scan_run_id))


# ------------------------------------------------------------------------------ views


# The scan history's sortable columns and a scan's kind, in words.
SCAN_SORT_TITLES = {"id": "#", "kind": _l("Loại"), "site": _l("Đơn vị"), "started": _l("Bắt đầu"), "status": _l("Kết quả"), "by": _l("Người chạy")}
SCAN_KIND_WORDS = {"poll": _l("Thu thập"), "discover": _l("Dò tìm")}


def scan_kind_word(kind: str) -> str:
    # Other kinds (imports, collectors' runs, evaluations) by the run kinds' labels.
    return str(SCAN_KIND_WORDS[kind]) if kind in SCAN_KIND_WORDS else run_kind(kind)


def _scan_sorting() -> Sorting:
    return Sorting.from_args(request.args, SCAN_SORTS, "id", default_descending=True)  # newest first


@bp.route("/")
@role_required(TECHNICIAN)
def index():
    db = get_session()
    sorting = _scan_sorting()
    page = Page.from_args(request.args, default_per_page=25)
    scans, total = scan_runs_page(db, sorting, page=page.number, per_page=page.per_page)
    return render_template(
        "scans/index.html",
        sites=queries.site_codes(db),
        zones=values(ZoneKind),
        kinds=KINDS,
        jobs=registry().running(),
        scans=scans,
        page=page.with_total(total),
        sorting=sorting,
        sort_titles=SCAN_SORT_TITLES,
        kind_word=scan_kind_word,
        num=number,
        form=ActionForm(formdata=None),
        args=request.args,
        snmp_port=_default_snmp_port(),
        timeouts=timeout_defaults(),
        timeout_bounds=TIMEOUT_BOUNDS,
        phase_text=phase_text,
    )


def export_columns() -> list[ExportColumn]:
    return [
        ExportColumn("#", lambda s: s["id"], "int"),
        ExportColumn(_("Loại"), lambda s: scan_kind_word(s["kind"])),
        ExportColumn(_("Đơn vị"), lambda s: s["site"]),
        ExportColumn(_("Bắt đầu"), lambda s: s["started_at"], "datetime"),
        ExportColumn(_("Kết thúc"), lambda s: s["finished_at"], "datetime"),
        ExportColumn(_("Thời gian (giây)"), lambda s: s["seconds"], "decimal"),
        ExportColumn(_("Kết quả"), lambda s: str(label(s["status"]))),
        ExportColumn(_("Thiết bị"), lambda s: s["summary"].get("devices"), "int"),
        ExportColumn(_("Người chạy"), lambda s: who_ran(s["triggered_by"])),
        ExportColumn(_("Lỗi"), lambda s: s["error"]),
    ]


@bp.route("/export.<fmt>")
@role_required(TECHNICIAN)
def export(fmt: str):
    """The scan history in the list's order (technicians and admin: who may see it; both may export)."""
    check_format(fmt)
    rows = all_scan_runs(get_session(), _scan_sorting())
    return export_response(export_columns(), rows, fmt, name="lich-su-quet", title=_("Lịch sử quét"))


@bp.route("/start", methods=["POST"])
@role_required(TECHNICIAN)
def start():
    form = ScanForm(known_sites={code for code, _name in queries.site_codes(get_session())}, default_port=_default_snmp_port())
    valid = form.validate()
    if "csrf_token" in form.errors:
        flash(_("Phiên làm việc đã hết hạn, hãy thử lại."), "error")
        return redirect(url_for("scans.index"))
    typed = {name: (request.form.get(name) or "").strip()[:12] for name in TIMEOUT_BOUNDS}
    back = url_for("scans.index", kind=form.kind.data, site=form.site.data or "", zone=form.zone.data or "", subnet=form.subnet.data or "",
                   snmp_port=form.snmp_port.data, **{k: v for k, v in typed.items() if v})  # fmt: skip
    timeouts, timeout_error = form_timeouts(request.form)
    if not valid or timeout_error:
        flash(form.first_error() if not valid else timeout_error, "error")
        return redirect(back)
    try:
        if to_workers(current_app.extensions["kiemke.engine"]):
            # With workers: the run is queued with its jobs; its page follows it (queued, running, done).
            if form.kind.data == "discover":
                return redirect(url_for("scans.run", run_id=queue_job(form, current_user.username, timeouts)))
            return _queued_poll(queue_poll(form, current_user.username, timeouts), back)
        job = start_job(form, current_user.username, timeouts)
    except Exception as exc:  # noqa: BLE001
        flash(_("Không bắt đầu được: %(reason)s", reason=scan_failure(failure_text(exc)).text()), "error")
        return redirect(back)
    run_id = job.wait_for_run(START_WAIT_SECONDS)
    if run_id is None:
        if job.state == "error":
            flash(_("Không bắt đầu được: %(reason)s", reason=scan_failure(job.error).text()), "error")
        else:
            flash(_("Đã bắt đầu; kết quả sẽ có trong lịch sử quét."), "info")
        return redirect(back)
    return redirect(url_for("scans.run", run_id=run_id))


def _progress(run: ScanRun) -> dict:
    # A run a worker carries out: its progress from its row (collectors.work.progress).
    data = run_progress(get_session(), run, registry().get(run.id)) | {"results_url": url_for("scans.run", run_id=run.id)}
    # The page shows the phase and a failure in the UI's language (scan_texts).
    waiting = _("Đang chờ tiến trình nền (worker) nhận việc…") if data["phase"] == "queued" else None
    return data | {"phase_text": waiting or phase_text(data["phase"], data["counts"], data["done"], data["total"]),
                   "error_text": scan_failure(data["error"]).text() if data["error"] else None}  # fmt: skip


@bp.route("/<int:run_id>/progress")
@role_required(TECHNICIAN)
def progress(run_id: int):
    session = get_session()
    run = session.get(ScanRun, run_id)
    if run is None:
        abort(404)
    job = registry().get(run_id)
    if job is not None and job.state != "running" and run.status == "running":
        # The job committed its run and finished after this read began: read the row again, so a
        # finished job is never answered with the row as it was before.
        session.rollback()
        run = session.get(ScanRun, run_id)
    response = jsonify(_progress(run))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/progress.js")
@role_required(TECHNICIAN)
def script():
    # Served by kiemke itself (the CSP admits no inline script).
    response = current_app.response_class(render_template("scans/progress.js"), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/<int:run_id>")
@role_required(TECHNICIAN)
def run(run_id: int):
    results = scan_results(get_session(), run_id)
    if results is None:
        abort(404)
    return render_template(
        "scans/run.html",
        scan=results.run,
        site_code=results.site_code,
        progress=_progress(results.run),
        outcomes=results.outcomes,
        unreachable=results.unreachable,
        discovered=results.discovered,
        failure=scan_failure,
        error_kind_word=kind_word,
        scan_kind_word=scan_kind_word,
        classes=values(DeviceClass),
        form=AdoptForm(formdata=None),
    )


@bp.route("/devices/<int:device_id>/adopt", methods=["POST"])
@role_required(TECHNICIAN)
def adopt(device_id: int):
    back = _safe_next(request.form.get("next")) or url_for("scans.index")
    form = AdoptForm()
    if not form.validate():
        flash_errors(form)
        return redirect(back)
    if request.form.get("confirm") != "1":  # one step more: say what adopting records
        if get_session().get(Device, device_id) is None:
            abort(404)
        hidden = {"device_class": form.device_class.data, "hostname": form.hostname.data or "", "next": back}
        question = _("Đưa thiết bị #%(id)d vào danh mục là %(kind)s, tên máy “%(name)s”?", id=device_id, kind=label(form.device_class.data), name=form.hostname.data or "—")
        note = _("Thiết bị được ghi nhận chính thức (ghi nhật ký) và được đánh giá tuân thủ ngay.")
        action = url_for("scans.adopt", device_id=device_id)
        return render_template("_confirm.html", title=_("Đưa vào danh mục"), question=question, details=[], note=note, action=action, button=_("Đưa vào danh mục"), hidden=hidden, back=back)
    try:
        adopt_device(get_session(), device_id, device_class=form.device_class.data, hostname=form.hostname.data, actor=current_user.username)
    except UnknownDevice:
        abort(404)
    except AlreadyRecorded:
        flash(_("Thiết bị #%(id)d đã có trong danh mục.", id=device_id), "error")
        return redirect(back)
    commit()
    flash(_("Đã đưa thiết bị #%(id)d vào danh mục.", id=device_id), "info")
    for outcome in committed_outcomes(get_session()):
        tell_evaluation(outcome)
    return redirect(back)
