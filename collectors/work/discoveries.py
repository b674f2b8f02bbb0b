"""A discovery as a job (KIEMKE_JOBS=workers on PostgreSQL): started from the CLI or the web,
carried out by `kiemke worker`.

- `enqueue_discovery` (whoever asks): in ONE transaction, the scan run (kind "discover", status
  `queued`, its parameters in `params`) and the `discover_site` job that carries it out, so the
  page that follows the run shows it from the first second, and a run never lacks its job. What
  the service would refuse (an unknown site, a subnet outside the site's zones) is refused here,
  before anything is written. One discovery of a site at a time: lock `discover:site:<id>`.
- `discover_queued` (the job): takes the run (`queued` -> `running`), sweeps, probes, collects
  and reconciles as `collectors.service.discover` does, into that run; the evaluation of what it
  touched follows as every discovery's does (collectors.work.evaluations with workers). Its
  progress (phase, counts) goes into the run's row as it goes (collectors.work.progress), so
  the run page, in another process, shows it as it shows an in-process discovery's.
- A job that runs again (its worker died mid-discovery: nothing was recorded, results go in in
  one transaction at the end) carries the run out again; a run already finished takes nothing.
- `settle_discovery_runs` (the scheduler's minute, with the poll runs'): a queued or running job
  run whose job has left the queue without finishing it (failed for good, cancelled) is closed
  as `error`, so no page waits for it forever.

Job runs record no owner process (`inventory.runs`), as poll job runs do: no single process runs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select, text

from collectors.runner import RunOptions
from collectors.service import (
    NMAP_TIMEOUT,
    RunResult,
    ServiceError,
    _discovery_plan,
    discover_into,
)
from collectors.work.polls import JOBS_MARK, run_options
from collectors.work.queue import DISCOVER_QUEUE, defer_in_transaction, task_name
from inventory import db
from inventory.crypto import Vault
from inventory.models import ScanRun, Site, utcnow

DISCOVER_TASK = "discover_site"
QUEUED = "queued"  # a job run's status until a worker takes it


@dataclass(frozen=True)
class DiscoveryRequest:
    site: str
    zone: str | None = None
    subnet: str | None = None
    snmp_ports: tuple[int, ...] = (161,)
    nmap_timeout: float | None = None  # None: the service's default
    snmp_timeout: float | None = None  # None: RunOptions' default
    ssh_timeout: float | None = None


@dataclass(frozen=True)
class QueuedDiscovery:
    scan_run_id: int
    job_id: int


def enqueue_discovery(engine: Engine, request: DiscoveryRequest, *, triggered_by: str) -> QueuedDiscovery:
    """The run (queued) and its job, in one transaction; ServiceError for what discovery refuses."""
    defaults = RunOptions()
    params = {
        "zone": request.zone, "subnet": request.subnet, "snmp_ports": list(request.snmp_ports),
        "nmap_timeout": request.nmap_timeout or NMAP_TIMEOUT, "snmp_timeout": request.snmp_timeout or defaults.snmp_timeout,
        "ssh_timeout": request.ssh_timeout or defaults.ssh_timeout, "jobs": JOBS_MARK,
    }  # fmt: skip
    with db.session_scope(engine) as session:
        site, _plan = _discovery_plan(session, request.site, request.zone, request.subnet)  # refused now, not on a worker
        run = ScanRun(kind="discover", site_id=site.id, status=QUEUED, params=params, triggered_by=triggered_by)
        session.add(run)
        session.flush()
        job_id = defer_in_transaction(session, DISCOVER_TASK, {"run_id": run.id}, queue=DISCOVER_QUEUE, lock=f"discover:site:{site.id}")
        return QueuedDiscovery(run.id, job_id)


def _take(engine: Engine, run_id: int) -> tuple[str, dict] | None:
    """The run's site code and params, the run marked running; None when it is not to be run."""
    with db.session_scope(engine) as session:
        run = session.get(ScanRun, run_id, with_for_update=True)
        if run is None or run.status not in (QUEUED, "running"):  # "running": this job's earlier attempt died
            return None
        run.status, run.started_at = "running", utcnow()
        code = session.execute(select(Site.code).where(Site.id == run.site_id)).scalar_one()
        return code, dict(run.params or {})


def discover_queued(engine: Engine, vault: Vault, run_id: int, options: RunOptions | None = None) -> RunResult | None:
    """Carry out a queued discovery run (the `discover_site` job); None when it was finished already."""
    taken = _take(engine, run_id)
    if taken is None:
        return None
    from collectors.work.progress import RowProgress  # it reads this module's states

    site, params = taken
    options = run_options(params, options)
    # The sweep's and the collection's progress, into the run's row for the page (another process) to read.
    progress = RowProgress(engine, run_id)
    options.progress = progress.device
    with db.session_scope(engine) as session:
        actor = session.get(ScanRun, run_id).triggered_by or "worker"
    try:
        return discover_into(engine, vault, run_id, site=site, zone=params.get("zone"), subnet=params.get("subnet"), triggered_by=actor, options=options,
                             snmp_ports=tuple(params.get("snmp_ports") or (161,)), nmap_timeout=params.get("nmap_timeout") or NMAP_TIMEOUT,
                             on_phase=progress.phase)  # fmt: skip
    except ServiceError:  # the site's subnets changed since it was queued: the run (closed) says why
        return None
    finally:
        progress.flush()


def wait_for_run(engine: Engine, run_id: int, *, every: float = 1.0) -> ScanRun:
    """The run once a worker has finished it (`kiemke discover --wait`)."""
    import time

    while True:
        with db.session_scope(engine) as session:
            run = session.get(ScanRun, run_id)
            if run is None or run.status not in (QUEUED, "running"):
                return run
        time.sleep(every)


def settle_discovery_runs(engine: Engine) -> list[int]:
    """Close the discovery job runs whose job is no longer waiting or running; their ids."""
    pending = text("SELECT DISTINCT (args->>'run_id')::bigint FROM procrastinate_jobs WHERE task_name = :task AND status IN ('todo', 'doing')")
    settled = []
    with db.session_scope(engine) as session:
        runs = session.execute(select(ScanRun).where(ScanRun.kind == "discover", ScanRun.status.in_((QUEUED, "running")))).scalars().all()
        runs = [run for run in runs if (run.params or {}).get("jobs") == JOBS_MARK]
        busy = set(session.execute(pending, {"task": task_name(DISCOVER_TASK)}).scalars()) if runs else set()
        for run in runs:
            if run.id in busy:
                continue
            session.refresh(run, with_for_update=True)
            if run.status in (QUEUED, "running"):
                run.status, run.finished_at, run.error = "error", utcnow(), "not carried out: its job failed or was cancelled (see procrastinate_jobs)"
                settled.append(run.id)
    return settled
