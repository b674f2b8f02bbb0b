"""Findings follow the policy: when the policy files change (a new rule, a changed threshold),
the whole fleet is evaluated again, without anyone pressing "Kiểm tra lại".

Every evaluation run records the fingerprint of the policy it used (`params.policy`, a SHA-256
over the files' names and bytes). `policy_change_job`, run by the scheduler every few minutes,
loads the policy and compares its fingerprint with the one of the latest successful whole-fleet
evaluation; when they differ it evaluates the whole fleet. A policy that does not load evaluates
nothing: the findings stay as they are (fail closed), and the problem is logged once per
distinct set of files, not every run.
"""

from __future__ import annotations

import logging
import threading
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from compliance.evaluation import KIND, evaluate_scope
from compliance.policy import PolicyError, load_policy
from inventory import db
from inventory.models import ScanRun

log = logging.getLogger(__name__)

TRIGGER = "policy-change"

# The fingerprint of the broken policy last reported, so a scheduler running every few minutes
# logs a broken file once, and again only once it changes.
_reported_broken: str | None = None
_reported_lock = threading.Lock()


def last_fleet_policy(session: Session) -> str | None:
    """The policy fingerprint recorded by the latest successful whole-fleet evaluation (None: no
    such run, or one from before runs recorded it)."""
    # Whole-fleet runs have no site; the scope is in the JSON params, read newest first until
    # one is found (scoped runs in between are few: one per poll or import).
    runs = select(ScanRun.params).where(ScanRun.kind == KIND, ScanRun.status == "ok", ScanRun.site_id.is_(None)).order_by(ScanRun.id.desc())
    for params in session.execute(runs.execution_options(yield_per=200)).scalars():
        if (params.get("scope") or {}).get("fleet") is True:
            return params.get("policy")
    return None


def policy_change_job(engine: Engine, directory: Path | None = None, today: date | None = None) -> dict | None:
    """Evaluate the whole fleet if the policy in `directory` (default: the shipped one) is not the
    one the latest whole-fleet evaluation used; the evaluation's result, or None when nothing
    was evaluated (unchanged, the policy does not load, or the database is unavailable)."""
    global _reported_broken
    try:
        policy = load_policy(directory)
    except PolicyError as exc:
        with _reported_lock:
            first = exc.fingerprint != _reported_broken
            _reported_broken = exc.fingerprint
        if first:
            log.error("policy change: the policy does not load, nothing re-evaluated (findings stay as they are) until it is fixed: %s", exc)
        return None
    with _reported_lock:
        _reported_broken = None  # loads again: a later breakage is news
    try:
        with db.session_scope(engine) as session:
            recorded = last_fleet_policy(session)
        if recorded == policy.fingerprint:
            return None
        log.info("policy change: the policy (%s) is not the one of the last whole-fleet evaluation (%s); evaluating the fleet", policy.fingerprint[:12], (recorded or "none")[:12])
        result = evaluate_scope(engine, trigger=TRIGGER, actor="scheduler", policy=policy, today=today)
    except (OperationalError, InterfaceError) as exc:
        reason = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
        log.error("policy change: database unavailable, skipped until the next run: %s", reason[0])
        return None
    log.info("policy change: run #%s %s: %s devices, %s new, %s resolved", result.get("run_id"), result.get("status"), result.get("devices"), result.get("opened"), result.get("resolved"))
    return result
