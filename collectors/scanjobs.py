"""Scans run in the background of a long-lived process (the web UI): start one, follow its
progress, read its results.

A job runs `service.poll` or `service.discover` in a thread of its own; the service tells the
job its scan-run id as soon as the `running` row is committed, and the runner's progress callback
keeps done/total up to date. A run started elsewhere (CLI, scheduler) or before a restart is
followed from the database alone.

A re-check ("evaluate": the whole fleet, or one site) is a job of the same kind: compliance's
evaluation in the thread, its progress on the job, followed by the job's token (the evaluation
names its run only when it ends).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from collectors.queries import scan_outcomes
from collectors.runner import Outcome, RunOptions
from collectors.service import NO_CREDENTIAL, ServiceError, discover, failure_text, poll
from collectors.work.discoveries import QUEUED
from inventory.choices import DeviceSource
from inventory.crypto import Vault
from inventory.models import Device, ScanRun, Site

SCAN_KINDS = ("poll", "discover")
EVALUATE = "evaluate"
JOB_KINDS = (*SCAN_KINDS, EVALUATE)
log = logging.getLogger("kiemke.scanjobs")
KEEP_FINISHED = 50  # finished jobs remembered per process (their progress, their error)


@dataclass(frozen=True)
class ScanRequest:
    """What to scan: a poll of recorded devices or a discovery of a site's zone subnets; or what
    to re-evaluate (kind "evaluate": one site, or the whole fleet when `site` is None)."""

    kind: str
    site: str | None = None
    zone: str | None = None
    subnet: str | None = None  # discovery only
    snmp_ports: tuple[int, ...] = (161,)  # discovery only
    endpoints: bool = False  # poll only
    nmap_timeout: float | None = None  # discovery only: seconds per swept piece; None: the service's default
    snmp_timeout: float | None = None  # per device; None: RunOptions' default
    ssh_timeout: float | None = None


@dataclass
class ScanJob:
    token: str
    params: ScanRequest
    triggered_by: str
    run_id: int | None = None
    state: str = "running"  # running, finished, error
    done: int = 0
    total: int | None = None
    phase: str | None = None  # a discovery: "sweep", "probe" (SNMP over UDP), then "collect"
    counts: dict[str, int] = field(default_factory=dict)  # the phase's counts (see scan_progress)
    status: str | None = None  # the scan run's final status
    error: str | None = None
    evaluation: str | None = None  # a scan: what the evaluation after it found (one line)
    result: dict[str, Any] | None = None  # a re-check: the evaluation's summary
    finished_at: float | None = None
    thread: threading.Thread | None = field(default=None, repr=False)
    # Set once the run id is known or the job ended without one.
    settled: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def kind(self) -> str:
        return self.params.kind

    def wait_for_run(self, timeout: float) -> int | None:
        """The scan-run id, once the service has recorded the run (None if it never did)."""
        self.settled.wait(timeout)
        return self.run_id


class ScanJobs:
    """The scans this process runs: by scan-run id once it is known (and by token until then)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_token: dict[str, ScanJob] = {}
        self._by_run: dict[int, ScanJob] = {}

    def add(self, job: ScanJob) -> None:
        with self._lock:
            self._by_token[job.token] = job
            finished = sorted((j for j in self._by_token.values() if j.finished_at), key=lambda j: j.finished_at)
            for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
                self._by_token.pop(old.token, None)
                if old.run_id is not None:
                    self._by_run.pop(old.run_id, None)

    def attach(self, job: ScanJob, run_id: int) -> None:
        with self._lock:
            job.run_id = run_id
            self._by_run[run_id] = job
        job.settled.set()

    def get(self, run_id: int) -> ScanJob | None:
        with self._lock:
            return self._by_run.get(run_id)

    def by_token(self, token: str) -> ScanJob | None:
        with self._lock:
            return self._by_token.get(token)

    def running(self) -> list[ScanJob]:
        with self._lock:
            return [j for j in self._by_token.values() if j.state == "running"]

    def start(self, request: ScanRequest, *, origin: str, engine: Engine, vault: Vault | None, options: Callable[[], RunOptions] = RunOptions) -> ScanJob:
        """Start `request` in a thread; `origin` (e.g. "web:lan") names who asked, in the run.
        A re-check of a scope already being re-checked here is that job (no second run at once)."""
        if request.kind not in JOB_KINDS:
            raise ValueError(f"unknown scan kind {request.kind!r}")
        if request.kind == EVALUATE:
            with self._lock:
                for job in self._by_token.values():
                    if job.state == "running" and job.params == request:
                        return job
        token = secrets.token_hex(4)
        job = ScanJob(token=token, params=request, triggered_by=f"{origin}#{token}")
        self.add(job)
        job.thread = threading.Thread(target=self._work, args=(job, engine, vault, options), name=f"kiemke-scan-{token}", daemon=True)
        job.thread.start()
        return job

    def _work(self, job: ScanJob, engine: Engine, vault: Vault, make_options: Callable[[], RunOptions]) -> None:
        def progress(done: int, total: int, outcome: Outcome) -> None:
            key = "answered" if outcome.ok else "silent"
            job.counts = job.counts | {key: job.counts.get(key, 0) + 1}
            job.done, job.total, job.phase = done, total, "collect"

        def phase(name: str, counts: dict) -> None:
            # A fresh dict each time: the progress endpoint reads it from another thread.
            job.phase, job.counts = name, dict(counts) | ({"answered": 0, "silent": 0} if name == "collect" else {})
            if name == "collect":
                job.done, job.total = 0, counts.get("hosts_found")

        def started(run_id: int) -> None:
            self.attach(job, run_id)

        request = job.params
        if request.kind == EVALUATE:
            self._evaluate(job, engine)
            return
        try:
            options = make_options()
            options.progress = progress
            if request.snmp_timeout is not None:
                options.snmp_timeout = request.snmp_timeout
            if request.ssh_timeout is not None:
                options.ssh_timeout = request.ssh_timeout
            if request.kind == "poll":
                job.phase = "collect"
                result = poll(engine, vault, site=request.site, zone=request.zone, endpoints=request.endpoints,
                              triggered_by=job.triggered_by, options=options, on_started=started)  # fmt: skip
            else:
                timeout = {"nmap_timeout": request.nmap_timeout} if request.nmap_timeout is not None else {}
                result = discover(engine, vault, site=request.site, zone=request.zone, subnet=request.subnet, snmp_ports=request.snmp_ports,
                                  triggered_by=job.triggered_by, options=options, on_started=started, on_phase=phase, **timeout)  # fmt: skip
            job.status = result.status
            job.evaluation = result.evaluation
            job.state = "finished"
        except BaseException as exc:  # recorded on the job; the scan run itself is marked by the service  # noqa: BLE001
            job.error = failure_text(exc)
            job.state = "error"
        finally:
            job.finished_at = time.monotonic()
            job.settled.set()

    def _evaluate(self, job: ScanJob, engine: Engine) -> None:
        from compliance.evaluation import evaluate_scope

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            site_ids = None
            if job.params.site is not None:
                with Session(engine) as session:
                    site_id = session.execute(select(Site.id).where(Site.code == job.params.site)).scalar_one_or_none()
                if site_id is None:
                    raise ServiceError(f"unknown site {job.params.site!r}")
                site_ids = [site_id]
            job.result = evaluate_scope(engine, site_ids=site_ids, trigger="recheck", actor=job.triggered_by, progress=progress)
            job.status = job.result.get("status")
            if job.result.get("run_id") is not None:
                self.attach(job, int(job.result["run_id"]))
            job.state = "finished"
        except BaseException as exc:  # the evaluation records its own run's error
            log.exception("re-check %s failed", job.token)
            job.error = failure_text(exc)
            job.state = "error"
        finally:
            job.finished_at = time.monotonic()
            job.settled.set()


def queue_discovery(request: ScanRequest, *, origin: str, engine: Engine) -> int:
    """With workers (KIEMKE_JOBS=workers on PostgreSQL): the discovery's run, queued with its
    job for `kiemke worker` instead of run in a thread here; its id (the page follows the run
    from the database: queued, running, then its result). ServiceError for what discovery refuses."""
    from collectors.work.discoveries import DiscoveryRequest, enqueue_discovery

    wanted = DiscoveryRequest(request.site or "", request.zone, request.subnet, tuple(request.snmp_ports), request.nmap_timeout, request.snmp_timeout, request.ssh_timeout)
    return enqueue_discovery(engine, wanted, triggered_by=origin).scan_run_id


def job_progress(job: ScanJob) -> dict[str, Any]:
    """How far a job has got, from the job alone (a re-check, followed by its token)."""
    return {"token": job.token, "run_id": job.run_id, "state": "running" if job.state == "running" else "finished",
            "done": job.done, "total": job.total, "error": job.error}  # fmt: skip


def scan_progress(run: ScanRun, job: ScanJob | None) -> dict[str, Any]:
    """How far a run has got: from its job while this process runs it, else from the run row.

    "phase" is None, "sweep" (nmap: "subnets_done"/"subnets" pieces, "addresses_done"/
    "addresses", "hosts_found"), "probe" (the SNMP UDP pass of the current piece, same counts)
    or "collect" ("done"/"total" devices, "answered"/"silent" so far) - in "counts"."""
    data: dict[str, Any] = {"run_id": run.id, "status": run.status, "done": 0, "total": (run.params or {}).get("targets"), "error": None,
                            "phase": None, "counts": {}}  # fmt: skip
    if job is not None:
        data.update(done=job.done, total=job.total if job.total is not None else data["total"], error=job.error, phase=job.phase, counts=dict(job.counts))
        # The job is the authority while its thread runs (the run row is written at the end).
        data["state"] = "running" if job.state == "running" else "finished"
    else:
        # A job run waiting for a worker is followed like a running one (phase "queued").
        data["state"] = "running" if run.status in ("running", QUEUED) else "finished"
        if run.status == QUEUED:
            data["phase"] = QUEUED
    if data["state"] == "finished" and run.status != "running":
        data["done"] = max(data["done"], (run.summary or {}).get("devices", 0) or 0)
        data["total"] = data["total"] if data["total"] is not None else data["done"]
    return data


@dataclass
class ScanResults:
    run: ScanRun
    site_code: str | None
    outcomes: list[dict]  # each with its "device" (or None)
    unreachable: list[dict]  # recorded devices that did not answer
    discovered: list[dict]  # devices found that nobody recorded (yet)
    not_manageable: list[dict] = field(default_factory=list)  # a discovery: answered the sweep, no management protocol


def scan_results(session: Session, run_id: int) -> ScanResults | None:
    """A run's outcomes with their devices, sorted into what a technician acts on."""
    row = session.execute(select(ScanRun, Site.code).outerjoin(Site, Site.id == ScanRun.site_id).where(ScanRun.id == run_id)).first()
    if row is None:
        return None
    scan_run, site_code = row
    outcomes = scan_outcomes(session, run_id)
    ids = {o["device_id"] for o in outcomes if o["device_id"] is not None}
    devices = {d.id: d for d in session.execute(select(Device).where(Device.id.in_(ids))).scalars()} if ids else {}
    for o in outcomes:
        o["device"] = devices.get(o["device_id"])
    discovered_source = DeviceSource.DISCOVERED.value
    unreachable = [o for o in outcomes if o["status"] == "failed" and o["device"] is not None and o["device"].source != discovered_source]
    discovered = [o for o in outcomes if o["device"] is not None and o["device"].source == discovered_source]
    not_manageable = []
    if scan_run.kind == "discover":
        offered = set((scan_run.summary or {}).get("manageable_silent", ()))
        for o in outcomes:
            # Found by the sweep, recorded by nobody, and silent to SNMP/SSH: not an error.
            silent = o["status"] == "failed" and o["device_id"] is None and o["address"] not in offered
            o["not_manageable"] = silent and (o["error_kind"] in ("timeout", "unreachable") or o["message"] == NO_CREDENTIAL)
            if o["not_manageable"]:
                not_manageable.append(o)
    return ScanResults(scan_run, site_code, outcomes, unreachable, discovered, not_manageable)
