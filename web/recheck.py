"""Re-check ("Kiểm tra lại", security officers and admins): evaluate the whole fleet or one site
now, in the background, with live progress; and the one subscription that makes every committed
change end in an evaluation of what it touched.

The job runs in collectors.scanjobs like a web-started scan and is followed by its token (the
evaluation names its run when it ends); the page polls the same progress script as scans.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Engine, select
from sqlmodel import Session

from collectors.scanjobs import EVALUATE, ScanJobs, ScanRequest, job_progress
from inventory import audit, changes
from inventory.changes import Change, ChangeOutcome
from inventory.models import Site
from web.access import RECHECKERS, role_required
from web.database import commit, get_session

bp = Blueprint("recheck", __name__, url_prefix="/recheck")

# ------------------------------------------------------------------------------ subscription


class ChangeEvaluation:
    """The listener: compliance evaluates the devices and sites a committed change touched, in
    this process; or, with KIEMKE_JOBS=workers on PostgreSQL, `kiemke worker` does, as jobs
    enqueued in the change's own transaction when it is announced with `changed_on_commit`
    (`in_transaction`), else right after its commit (collectors.work.evaluations)."""

    __name__ = "evaluate_change"  # how the change log names it

    def __call__(self, engine: Engine, change: Change) -> Mapping[str, Any]:
        from collectors.work.evaluations import enqueue_committed_change
        from collectors.work.queue import to_workers

        if to_workers(engine):
            return enqueue_committed_change(engine, change)
        from compliance.evaluation import evaluate_scope

        return evaluate_scope(engine, device_ids=change.device_ids or None, site_ids=change.site_ids or None, trigger=change.trigger, actor=change.actor)

    def in_transaction(self, session: Session, change: Change) -> Mapping[str, Any] | None:
        from collectors.work.evaluations import enqueue_change
        from collectors.work.queue import to_workers

        return enqueue_change(session, change) if to_workers(session.get_bind()) else None


evaluate_change = ChangeEvaluation()


def subscribe_evaluation() -> None:
    """Once per process, however often it is called (every create_app, the CLI's main)."""
    changes.subscribe(evaluate_change)


def tell_evaluation(outcome: ChangeOutcome) -> None:
    """Flash what the evaluation after a saved change found (or that it failed: the change stays;
    or that the workers will do it)."""
    if outcome.failed:
        flash(_("Đã lưu; đánh giá tuân thủ thất bại: %(reason)s", reason="; ".join(outcome.errors)), "error")
    elif outcome.queued and not outcome.evaluated:
        flash(_("Đã lưu; việc đánh giá tuân thủ đã được xếp hàng cho tiến trình nền (worker)."), "info")
    elif outcome.evaluated:
        flash(_("Đã đánh giá %(devices)d thiết bị: %(new)d phát hiện mới, %(resolved)d đã khắc phục.",
                devices=outcome.devices, new=outcome.new_findings, resolved=outcome.resolved), "info")  # fmt: skip


# ------------------------------------------------------------------------------ views


def registry() -> ScanJobs:
    return current_app.extensions["kiemke.scan_jobs"]


@bp.route("/", methods=["POST"])
@role_required(*RECHECKERS)
def start():
    # CSRFProtect has checked the token before the view runs.
    code = (request.form.get("site") or "").strip() or None
    db = get_session()
    if code is not None and db.execute(select(Site.id).where(Site.code == code)).first() is None:
        abort(404)
    job = registry().start(ScanRequest(kind=EVALUATE, site=code), origin=f"web:{current_user.username[:80]}",
                           engine=current_app.extensions["kiemke.engine"], vault=None)  # fmt: skip
    audit.record(db, current_user.username, "recheck", "site" if code else "fleet", code, after={"job": job.token})
    commit()
    return redirect(url_for("recheck.job", token=job.token))


def _job_or_404(token: str):
    job = registry().by_token(token)
    if job is None or job.kind != EVALUATE:
        abort(404)
    return job


@bp.route("/<token>")
@role_required(*RECHECKERS)
def job(token: str):
    job = _job_or_404(token)
    return render_template("recheck/job.html", job=job, progress=job_progress(job), result=job.result or {})


@bp.route("/<token>/progress")
@role_required(*RECHECKERS)
def progress(token: str):
    response = jsonify(job_progress(_job_or_404(token)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/progress.js")
@role_required(*RECHECKERS)
def script():
    # The scans' progress script (served by kiemke itself: the CSP admits no inline script).
    response = current_app.response_class(render_template("scans/progress.js"), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response
