"""One evaluation of the fleet or a part of it: what every trigger (CLI, web, scheduler, imports,
polls) calls so that findings follow the data.

An evaluation
- covers a scope: the devices named, every device of the sites named, and the site-level rules
  of all their sites (both None: the whole fleet); only the scope's rows are read and only the
  scope's findings can be opened or resolved;
- is recorded as a scan run of kind "evaluate" (trigger, scope, counts, duration, error),
  committed as `running` first, like a poll;
- changes the findings, the devices' compliance states and the run record in ONE transaction:
  one that fails part-way leaves the previous findings as they were, and its run is then
  recorded as failed in a transaction of its own;
- runs alone: one at a time in a process (a lock), and across processes beside no other
  evaluation of the same sites (compliance.evaluation_claim: per site on PostgreSQL, the whole
  database on SQLite), its locks taken first. A wait for another process's evaluation longer than SQLite's
  busy timeout is retried, so a waiting evaluation never fails with "database is locked".
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from compliance import events
from compliance.engine import Evaluation, Fleet, Scope, evaluate, id_batches, load_fleet
from compliance.evaluation_claim import claim_scope
from compliance.findings import sync_findings
from compliance.policy import Policy, load_policy
from compliance.state import HOST_FACT_CHECKS, DeviceEvidence, decide
from inventory import audit, db
from inventory.choices import FindingStatus
from inventory.models import ConfigSnapshot, Device, DeviceCompliance, Finding, ScanRun, Site, utcnow
from inventory.repository import in_inventory
from inventory.runs import current_owner, mark_interrupted

log = logging.getLogger(__name__)

KIND = "evaluate"

# One evaluation at a time in this process: a second one waits here (not on the database's busy
# timeout) for as long as the first takes.
_one_at_a_time = threading.Lock()

# How long an evaluation waits for another process's write lock (SQLite gives up after its busy
# timeout, then the wait is retried) before it fails: longer than any full evaluation takes.
LOCK_PATIENCE_SECONDS = 30 * 60.0
_RETRY_PAUSE_SECONDS = 0.2

T = TypeVar("T")


class EvaluationError(RuntimeError):
    """An evaluation that failed (its run records why); for callers that must stop on it."""


def evaluate_scope(
    engine: Engine,
    *,
    device_ids: Collection[int] | None = None,
    site_ids: Collection[int] | None = None,
    trigger: str,
    actor: str,
    today: date | None = None,
    policy: Policy | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Evaluate the devices in scope (both None: the whole fleet) and bring their findings and
    compliance states up to date. Returns the check summary plus "run_id", "scope" and "status"
    ("ok"; or "failed" with "error", the findings left as they were). `progress(done, total)`
    is called with (0, devices) once they are loaded and (devices, devices) once evaluated."""
    today = today or date.today()
    policy = policy or load_policy()
    wanted = (None if device_ids is None else frozenset(device_ids), None if site_ids is None else frozenset(site_ids))
    with _one_at_a_time:
        started = time.perf_counter()
        run_id, scope_params = _waiting_for_the_lock(lambda: _start_run(engine, trigger, actor, *wanted, policy=policy))
        try:
            result, opened, synced_at = _waiting_for_the_lock(lambda: _evaluate(engine, run_id, wanted, actor=actor, today=today, policy=policy, progress=progress, started=started))
        except Exception as exc:
            log.exception("evaluation run %d failed; the findings are left as they were", run_id)
            error = _one_line(exc)
            _waiting_for_the_lock(lambda: _fail_run(engine, run_id, error, time.perf_counter() - started))
            events.raise_run_failed(engine, run_id)  # after the commit; never raises
            return {"run_id": run_id, "scope": scope_params, "status": "failed", "error": error}
        except BaseException as exc:  # interrupted: record it, then let it go on
            # If even that fails, the run stays `running` until mark_interrupted finds its process gone.
            with contextlib.suppress(Exception):
                _fail_run(engine, run_id, _one_line(exc), time.perf_counter() - started)
            raise
    events.raise_new_critical_findings(engine, opened, synced_at)  # committed findings; never raises
    return result | {"run_id": run_id, "scope": scope_params, "status": "ok"}


def _one_line(exc: BaseException) -> str:
    """The error as one line; for a database error the driver's message alone (SQLAlchemy's adds
    the statement and its parameters: finding texts, evidence)."""
    text = str(exc.orig) if isinstance(exc, DBAPIError) and exc.orig is not None else str(exc)
    return " ".join(f"{type(exc).__name__}: {text}".split())[:2000]


def _is_lock_timeout(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig)


def _waiting_for_the_lock(work: Callable[[], T]) -> T:
    """`work` (one transaction), started again while SQLite answers "database is locked" (another
    process holds the write lock longer than the busy timeout), up to LOCK_PATIENCE_SECONDS.
    The lock is taken before anything is written, so a retry repeats no write."""
    deadline = time.monotonic() + LOCK_PATIENCE_SECONDS
    while True:
        try:
            return work()
        except OperationalError as exc:
            if not _is_lock_timeout(exc) or time.monotonic() > deadline:
                raise
            log.info("waiting for another writer's lock before evaluating")
            time.sleep(_RETRY_PAUSE_SECONDS)


def _start_run(engine: Engine, trigger: str, actor: str, device_ids: frozenset[int] | None, site_ids: frozenset[int] | None, *, policy: Policy) -> tuple[int, dict]:
    with db.session_scope(engine) as session:
        mark_interrupted(session)
        found = dict(session.execute(select(Site.id, Site.code).where(Site.id.in_(sorted(site_ids)))).all()) if site_ids else {}
        scope = {"fleet": device_ids is None and site_ids is None, "devices": len(device_ids) if device_ids is not None else None, "sites": sorted(found.values())}
        run = ScanRun(
            kind=KIND,
            site_id=next(iter(found)) if len(found) == 1 else None,
            triggered_by=actor[:100],
            # The policy's fingerprint: compliance.policy_watch re-evaluates the fleet when the files change.
            params={"trigger": trigger, "scope": scope, "owner": current_owner(), "policy": policy.fingerprint},
        )
        session.add(run)
        session.flush()
        return run.id, scope


def _fail_run(engine: Engine, run_id: int, error: str, seconds: float) -> None:
    with db.session_scope(engine) as session:
        run = session.get(ScanRun, run_id)
        run.status = "failed"
        run.finished_at = utcnow()
        run.error = error
        run.summary = {"seconds": round(seconds, 2)}


def _evaluate(
    engine: Engine,
    run_id: int,
    wanted: tuple[frozenset[int] | None, frozenset[int] | None],
    *,
    actor: str,
    today: date,
    policy: Policy,
    progress: Callable[[int, int], None] | None,
    started: float,
) -> tuple[dict, set[tuple[str, str]], datetime]:
    """The result, the (rule, subject) keys of the critical findings it opened or reopened, and
    the moment the findings were synced (their last_seen)."""
    with db.session_scope(engine) as session:
        scope = claim_scope(session, *wanted)  # first: a concurrent evaluation of the same sites waits for this commit
        fleet = load_fleet(session, policy, today, scope)
        if progress is not None:
            progress(0, len(fleet.devices))
        evaluation = evaluate(fleet.devices, fleet.sites, policy, fleet.configs, fleet.orphan_macs)
        if progress is not None:
            progress(len(fleet.devices), len(fleet.devices))
        opened = events.critical_findings_opening(session, evaluation.violations, today)
        synced_at = utcnow()
        summary = sync_findings(session, evaluation.violations, now=synced_at, today=today, not_evaluated=evaluation.not_evaluated, scope=scope)
        states = write_states(session, fleet, evaluation, policy, scope, now=utcnow())
        result = {
            "devices": evaluation.devices,
            "sites": evaluation.sites,
            "checks_run": evaluation.checks_run,
            "violations": len(evaluation.violations),
            "devices_failing": len(evaluation.failing_devices),
            "states": states,  # devices per compliance state; unknown is never counted as compliant
            "by_rule": dict(Counter(v.rule_id for v in evaluation.violations).most_common()),
            "config_parse_errors": len(evaluation.config_errors),
            "seconds": round(time.perf_counter() - started, 2),
            **summary.as_dict(),
        }
        if evaluation.check_errors:  # only then, so a clean run's result and audit entry stay as they were
            result["check_errors"] = dict(evaluation.check_errors)
        audit.record(session, actor, "check", "findings", None, after={k: v for k, v in result.items() if k != "by_rule"})
        run = session.get(ScanRun, run_id)
        run.status = "ok"
        run.finished_at = utcnow()
        run.summary = {
            "devices": evaluation.devices, "sites": evaluation.sites, "checks_run": evaluation.checks_run,
            "new": summary.opened, "resolved": summary.resolved, "reopened": summary.reopened, "still_open": summary.still_open,
            "waived": summary.waived, "not_evaluated": len(evaluation.not_evaluated), "check_errors": dict(evaluation.check_errors),
            "states": states, "seconds": result["seconds"],
        }  # fmt: skip
    return result, opened, synced_at


def write_states(session: Session, fleet: Fleet, evaluation: Evaluation, policy: Policy, scope: Scope | None, *, now: datetime) -> dict[str, int]:
    """Replace the compliance state of every device in scope (a disposed one has none); how
    many devices are in each state."""
    ids = [d.id for d in fleet.devices]
    seen: dict[int, tuple[datetime | None, bool | None]] = {}
    config_at: dict[int, datetime] = {}
    failed: dict[int, list[str]] = defaultdict(list)
    open_findings = select(Finding.device_id, Finding.rule_id).where(Finding.status == FindingStatus.OPEN.value)
    latest_config = select(ConfigSnapshot.device_id, func.max(ConfigSnapshot.taken_at)).group_by(ConfigSnapshot.device_id)
    for batch in [None] if scope is None else id_batches(ids):
        devices = select(Device.id, Device.last_seen, Device.reachable)
        if batch is None:
            rows = (session.execute(devices.where(in_inventory())), session.execute(latest_config), session.execute(open_findings.where(Finding.device_id.is_not(None))))
        else:
            rows = (
                session.execute(devices.where(Device.id.in_(batch))),
                session.execute(latest_config.where(ConfigSnapshot.device_id.in_(batch))),
                session.execute(open_findings.where(Finding.device_id.in_(batch))),
            )
        seen.update((device_id, (last_seen, reachable)) for device_id, last_seen, reachable in rows[0])
        config_at.update(rows[1].all())
        for device_id, rule_id in rows[2]:
            failed[device_id].append(rule_id)
    errored: dict[int, list[str]] = defaultdict(list)
    unread: dict[int, list[str]] = defaultdict(list)
    for rule_id, key in evaluation.not_evaluated:
        if key.startswith("device:"):
            (unread if (rule_id, key) in evaluation.unread else errored)[int(key.removeprefix("device:"))].append(rule_id)
    config_rules, fact_rules = _rules_read(policy)
    fact_verdicts = _host_fact_verdicts(policy)
    rows, counts = [], Counter()
    for device in fleet.devices:
        last_seen, reachable = seen.get(device.id, (None, None))
        has_host_facts = any(key.startswith("host.") for key in device.facts)
        evidence = DeviceEvidence(
            last_seen=last_seen,
            reachable=reachable,
            config_rules=config_rules.get(device.device_class, ()),
            platform=fleet.platforms.get(device.id),
            config_taken_at=config_at.get(device.id),
            config_error=evaluation.config_errors.get(device.id),
            fact_rules=fact_rules.get(device.device_class, ()),
            has_host_facts=has_host_facts,
            undetermined_rules=_undetermined(device, fact_verdicts.get(device.device_class, ())) if has_host_facts else (),
            failed_rules=tuple(sorted(failed.get(device.id, ()))),
            errored_rules=tuple(sorted(errored.get(device.id, ()))),
            unread_rules=tuple(sorted(unread.get(device.id, ()))),
        )
        state, reasons = decide(evidence, now=now, freshness_days=policy.baseline.freshness_days)
        counts[state] += 1
        rows.append({"device_id": device.id, "state": state, "evaluated_at": now, "data_as_of": last_seen, "failed_rules": len(evidence.failed_rules), "reasons": reasons})
    _store_states(session, rows, scope, now)
    return {state: counts.get(state, 0) for state in ("compliant", "non_compliant", "unknown")}  # all three, zeros included


def _store_states(session: Session, rows: list[dict], scope: Scope | None, now: datetime) -> None:
    """Write the states: a row whose verdict (state, failed rules, reasons) is as stored only has
    its evaluated_at and data_as_of moved on (when-seen columns: no cached view changes, so the
    data revision stays, as for a poll that finds nothing new); changed and new rows are
    replaced; a device in scope no longer evaluated (disposed) loses its row."""
    table = DeviceCompliance.__table__
    columns = select(table.c.device_id, table.c.state, table.c.failed_rules, table.c.reasons, table.c.data_as_of)
    queries = [columns] if scope is None else [columns.where(table.c.device_id.in_(batch)) for batch in id_batches(scope.device_ids)]
    stored = {row[0]: tuple(row[1:]) for query in queries for row in session.execute(query)}
    same, fresher, replaced = [], [], []
    for row in rows:
        before = stored.pop(row["device_id"], None)
        if before is None or before[:3] != (row["state"], row["failed_rules"], row["reasons"]):
            replaced.append(row)
        elif before[3] == row["data_as_of"]:
            same.append(row["device_id"])
        else:  # the same verdict on newer data: only the when-seen columns move (revision.WHEN_SEEN)
            fresher.append({"device": row["device_id"], "as_of": row["data_as_of"]})
    gone = list(stored) + [row["device_id"] for row in replaced]
    for batch in id_batches(gone):
        session.execute(delete(table).where(table.c.device_id.in_(batch)))
    if replaced:
        session.execute(insert(table), replaced)
    for batch in id_batches(same):
        session.execute(update(table).where(table.c.device_id.in_(batch)).values(evaluated_at=now))
    if fresher:
        statement = update(table).where(table.c.device_id == bindparam("device")).values(evaluated_at=now, data_as_of=bindparam("as_of"))
        session.execute(statement, fresher)


_Verdict = tuple[str, Callable[[Any, Mapping[str, Any]], bool | None], Mapping[str, Any]]


def _host_fact_verdicts(policy: Policy) -> dict[str, tuple[_Verdict, ...]]:
    """device class -> (rule id, verdict, params) of its enabled host-fact rules: a verdict of
    None means the facts a device has do not answer the rule (TPM never reported, a disk whose
    type nobody said), so the device cannot be compliant on it."""
    from compliance.checks.base import get_check

    out: dict[str, list[_Verdict]] = defaultdict(list)
    for rule in policy.baseline.rules:
        registered = get_check(rule.check) if rule.enabled and rule.check in HOST_FACT_CHECKS else None
        if registered is None:
            continue
        func = registered.func
        verdict = registered.verdict or (lambda subject, params, func=func: func(subject, params).passed)
        for device_class in rule.applies_to:
            out[device_class].append((rule.id, verdict, rule.params))
    return {k: tuple(v) for k, v in out.items()}


def _undetermined(device: Any, verdicts: tuple[_Verdict, ...]) -> tuple[str, ...]:
    """The rules among `verdicts` that the device's facts leave unanswered; a rule whose check
    raises is left to the engine's errors."""
    rules = []
    for rule_id, verdict, params in verdicts:
        try:
            if verdict(device, params) is None:
                rules.append(rule_id)
        except Exception:  # noqa: BLE001, S112 (the engine already records it as not evaluated)
            continue
    return tuple(sorted(rules))


def _rules_read(policy: Policy) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """device class -> the enabled rules that read its running-config; -> those that read
    collected host facts."""
    from compliance.checks.base import get_check

    config: dict[str, list[str]] = defaultdict(list)
    facts: dict[str, list[str]] = defaultdict(list)
    for rule in policy.baseline.rules:
        registered = get_check(rule.check) if rule.enabled else None
        if registered is None:
            continue
        for device_class in rule.applies_to:
            if registered.subject == "network_config":
                config[device_class].append(rule.id)
            elif rule.check in HOST_FACT_CHECKS:
                facts[device_class].append(rule.id)
    return {k: tuple(v) for k, v in config.items()}, {k: tuple(v) for k, v in facts.items()}
