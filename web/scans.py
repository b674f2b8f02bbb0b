"""Scans (technicians): start a discovery or a poll, follow it live, adopt what it found.

A scan runs in a background thread of this process (collectors.service does the work and records
the scan run); a small registry keyed by scan-run id keeps its progress (done/total, from the
runner's progress callback) for the JSON endpoint the run page polls every second. A run started
elsewhere (CLI, scheduler) or before a restart is shown from the database alone.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from collectors.queries import recent_scan_runs, scan_outcomes
from inventory import audit
from inventory.choices import DeviceClass, DeviceSource, ZoneKind, values
from inventory.models import Device, ScanRun, Site, utcnow
from web import queries
from web.access import TECHNICIAN, role_required
from web.auth import _safe_next
from web.database import commit, get_session
from web.forms import ActionForm, flash_errors

bp = Blueprint("scans", __name__, url_prefix="/scans")

KINDS = ("poll", "discover")
START_WAIT_SECONDS = 10.0  # how long the start request waits for the scan run to be recorded
KEEP_FINISHED = 50


# ------------------------------------------------------------------------------ job registry


@dataclass
class Job:
    token: str
    kind: str
    params: dict[str, Any]
    triggered_by: str
    run_id: int | None = None
    state: str = "running"  # running, finished, error
    done: int = 0
    total: int | None = None
    status: str | None = None  # the scan run's final status
    error: str | None = None
    finished_at: float | None = None
    thread: threading.Thread | None = field(default=None, repr=False)


class JobRegistry:
    """The scans this process runs: by scan-run id once it is known (and by token until then)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_token: dict[str, Job] = {}
        self._by_run: dict[int, Job] = {}

    def add(self, job: Job) -> None:
        with self._lock:
            self._by_token[job.token] = job
            finished = sorted((j for j in self._by_token.values() if j.finished_at), key=lambda j: j.finished_at)
            for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
                self._by_token.pop(old.token, None)
                if old.run_id is not None:
                    self._by_run.pop(old.run_id, None)

    def attach(self, job: Job, run_id: int) -> None:
        with self._lock:
            job.run_id = run_id
            self._by_run[run_id] = job

    def get(self, run_id: int) -> Job | None:
        with self._lock:
            return self._by_run.get(run_id)

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._by_token.values() if j.state == "running"]


def registry() -> JobRegistry:
    return current_app.extensions.setdefault("kiemke.scan_jobs", JobRegistry())


def _settings():
    from inventory.settings import Settings

    settings = current_app.extensions.get("kiemke.settings")
    if settings is None:
        home = current_app.config.get("KIEMKE_HOME")
        settings = Settings(home=home) if home else Settings()
    return settings


def _vault():
    """The installation's credential vault, found as web.admin finds it (the key in KIEMKE_HOME)."""
    from inventory.crypto import Vault

    found = current_app.extensions.get("kiemke.vault")
    if found is None:
        found = current_app.extensions["kiemke.vault"] = Vault(_settings().credential_key)
    return found


def _default_snmp_port() -> int:
    return int(getattr(_settings(), "snmp_port", 161))


def _run_options(progress):
    from collectors.runner import RunOptions

    factory = current_app.config.get("KIEMKE_SCAN_OPTIONS")  # tests: shorter timeouts
    options = factory() if factory else RunOptions()
    options.progress = progress
    return options


def _find_run(engine, triggered_by: str) -> int | None:
    with engine.connect() as connection:
        return connection.execute(select(ScanRun.id).where(ScanRun.triggered_by == triggered_by).order_by(ScanRun.id.desc())).scalar()


def _error_text(exc: BaseException) -> str:
    """What the user reads: the services' own messages; for anything else only the error's kind."""
    from collectors.credentials import CredentialError
    from collectors.records import CollectorError
    from collectors.service import ServiceError
    from inventory.crypto import CredentialKeyError

    if isinstance(exc, (ServiceError, CredentialError, CredentialKeyError)):
        return str(exc)
    if isinstance(exc, CollectorError):
        return f"{exc.kind}: {exc.message}"
    return type(exc).__name__


def _work(jobs: JobRegistry, job: Job, engine, vault, options_factory) -> None:
    from collectors.service import discover, poll

    def progress(done: int, total: int, _outcome) -> None:
        job.done, job.total = done, total

    options = options_factory(progress)
    try:
        if job.kind == "poll":
            result = poll(engine, vault, site=job.params["site"], zone=job.params["zone"], endpoints=job.params["endpoints"],
                          triggered_by=job.triggered_by, options=options)  # fmt: skip
        else:
            result = discover(engine, vault, site=job.params["site"], zone=job.params["zone"], subnet=job.params["subnet"],
                              snmp_ports=tuple(job.params["snmp_ports"]), triggered_by=job.triggered_by, options=options)  # fmt: skip
        jobs.attach(job, result.scan_run_id)
        job.status = result.status
        job.state = "finished"
    except BaseException as exc:  # recorded on the job; the scan run itself is marked by the service
        job.error = _error_text(exc)
        job.state = "error"
        try:
            run_id = _find_run(engine, job.triggered_by)
        except Exception:
            run_id = None
        if run_id is not None:
            jobs.attach(job, run_id)
    finally:
        job.finished_at = time.monotonic()


def start_job(kind: str, params: dict[str, Any], username: str) -> Job:
    jobs = registry()
    token = secrets.token_hex(4)
    job = Job(token=token, kind=kind, params=params, triggered_by=f"web:{username[:80]}#{token}")
    engine = current_app.extensions["kiemke.engine"]
    vault = _vault()  # read here, in the request: a missing key is the user's error, not the thread's
    app = current_app._get_current_object()

    def options_factory(progress):
        with app.app_context():
            return _run_options(progress)

    jobs.add(job)
    job.thread = threading.Thread(target=_work, args=(jobs, job, engine, vault, options_factory), name=f"kiemke-scan-{token}", daemon=True)
    job.thread.start()
    return job


def _wait_for_run(job: Job) -> int | None:
    engine = current_app.extensions["kiemke.engine"]
    deadline = time.monotonic() + START_WAIT_SECONDS
    while time.monotonic() < deadline:
        if job.run_id is not None:
            return job.run_id
        run_id = _find_run(engine, job.triggered_by)
        if run_id is not None:
            registry().attach(job, run_id)
            return run_id
        if job.state != "running":
            return job.run_id
        time.sleep(0.05)
    return job.run_id


# ------------------------------------------------------------------------------ forms


class AdoptForm(FlaskForm):
    device_class = StringField(_l("Loại thiết bị"), validators=[DataRequired(), AnyOf(values(DeviceClass), message=_l("Loại thiết bị không hợp lệ."))])
    hostname = StringField(_l("Tên máy"), validators=[Optional(), Length(max=255)])


# ------------------------------------------------------------------------------ views


@bp.route("/")
@role_required(TECHNICIAN)
def index():
    db = get_session()
    return render_template(
        "scans/index.html",
        sites=queries.site_codes(db),
        zones=values(ZoneKind),
        kinds=KINDS,
        jobs=registry().running(),
        scans=recent_scan_runs(db, limit=20),
        form=ActionForm(formdata=None),
        args=request.args,
        snmp_port=_default_snmp_port(),
    )


@bp.route("/start", methods=["POST"])
@role_required(TECHNICIAN)
def start():
    form = ActionForm()
    if not form.validate():
        flash(_("Phiên làm việc đã hết hạn, hãy thử lại."), "error")
        return redirect(url_for("scans.index"))
    kind = request.form.get("kind", "poll")
    site = (request.form.get("site") or "").strip() or None
    zone = request.form.get("zone") or None
    subnet = (request.form.get("subnet") or "").strip() or None
    port_text = (request.form.get("snmp_port") or "").strip()
    back = url_for("scans.index", kind=kind, site=site or "", zone=zone or "", subnet=subnet or "", snmp_port=port_text)
    if kind not in KINDS:
        flash(_("Hãy chọn thu thập hoặc dò tìm."), "error")
        return redirect(back)
    if zone is not None and zone not in values(ZoneKind):
        flash(_("Vùng mạng không hợp lệ."), "error")
        return redirect(back)
    db = get_session()
    if site is not None and db.execute(select(Site.id).where(Site.code == site)).first() is None:
        flash(_("Không có đơn vị %(code)s.", code=site), "error")
        return redirect(back)
    if kind == "discover":
        if site is None:
            flash(_("Dò tìm cần chọn một đơn vị."), "error")
            return redirect(back)
        if subnet is not None:
            try:
                subnet = str(ipaddress.ip_network(subnet, strict=False))
            except ValueError:
                flash(_("Dải mạng %(subnet)s không hợp lệ (ví dụ 10.1.2.0/24).", subnet=subnet), "error")
                return redirect(back)
        port = int(port_text) if port_text.isascii() and port_text.isdigit() else None if port_text else _default_snmp_port()
        if port is None or not 1 <= port <= 65535:
            flash(_("Cổng SNMP %(port)s không hợp lệ (1–65535).", port=port_text), "error")
            return redirect(back)
        params = {"site": site, "zone": zone, "subnet": subnet, "snmp_ports": [port]}
    else:
        if subnet is not None:
            flash(_("Thu thập dùng các thiết bị đã ghi nhận; dải mạng chỉ dùng khi dò tìm."), "error")
            return redirect(back)
        params = {"site": site, "zone": zone, "endpoints": request.form.get("endpoints") == "1"}
    try:
        job = start_job(kind, params, current_user.username)
    except Exception as exc:
        flash(_("Không bắt đầu được: %(reason)s", reason=_error_text(exc)), "error")
        return redirect(back)
    run_id = _wait_for_run(job)
    if run_id is None:
        if job.state == "error":
            flash(_("Không bắt đầu được: %(reason)s", reason=job.error), "error")
        else:
            flash(_("Đã bắt đầu; kết quả sẽ có trong lịch sử quét."), "info")
        return redirect(back)
    return redirect(url_for("scans.run", run_id=run_id))


def _progress(run: ScanRun) -> dict[str, Any]:
    job = registry().get(run.id)
    data: dict[str, Any] = {"run_id": run.id, "status": run.status, "done": 0, "total": (run.params or {}).get("targets"), "error": None}
    if job is not None:
        data.update(done=job.done, total=job.total if job.total is not None else data["total"], error=job.error)
        # The job is the authority while its thread runs (the run row is written at the end).
        data["state"] = "running" if job.state == "running" else "finished"
    else:
        data["state"] = "running" if run.status == "running" else "finished"
    if data["state"] == "finished" and run.status != "running":
        data["done"] = max(data["done"], (run.summary or {}).get("devices", 0) or 0)
        data["total"] = data["total"] if data["total"] is not None else data["done"]
    data["results_url"] = url_for("scans.run", run_id=run.id)
    return data


@bp.route("/<int:run_id>/progress")
@role_required(TECHNICIAN)
def progress(run_id: int):
    run = get_session().get(ScanRun, run_id)
    if run is None:
        abort(404)
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
    db = get_session()
    row = db.execute(select(ScanRun, Site.code).outerjoin(Site, Site.id == ScanRun.site_id).where(ScanRun.id == run_id)).first()
    if row is None:
        abort(404)
    scan_run, site_code = row
    progress = _progress(scan_run)
    outcomes = scan_outcomes(db, run_id)
    ids = {o["device_id"] for o in outcomes if o["device_id"] is not None}
    devices = {d.id: d for d in db.execute(select(Device).where(Device.id.in_(ids))).scalars()} if ids else {}
    for o in outcomes:
        o["device"] = devices.get(o["device_id"])
    unreachable = [o for o in outcomes if o["status"] == "failed" and o["device"] is not None and o["device"].source != DeviceSource.DISCOVERED.value]
    discovered = [o for o in outcomes if o["device"] is not None and o["device"].source == DeviceSource.DISCOVERED.value]
    return render_template(
        "scans/run.html",
        scan=scan_run,
        site_code=site_code,
        progress=progress,
        outcomes=outcomes,
        unreachable=unreachable,
        discovered=discovered,
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
    db = get_session()
    device = db.get(Device, device_id)
    if device is None:
        abort(404)
    if device.source != DeviceSource.DISCOVERED.value:
        flash(_("Thiết bị #%(id)d đã có trong danh mục.", id=device_id), "error")
        return redirect(back)
    before = audit.snapshot(device)
    device.source = DeviceSource.RECORDED.value
    device.device_class = form.device_class.data
    hostname = (form.hostname.data or "").strip()
    if hostname:
        device.hostname = hostname
    device.updated_at = utcnow()
    db.add(device)
    db.flush()
    audit.record(db, current_user.username, "adopt", "device", device.id, before=before, after=audit.snapshot(device))
    commit()
    flash(_("Đã đưa thiết bị #%(id)d vào danh mục.", id=device_id), "info")
    return redirect(back)
