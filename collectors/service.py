"""Poll, discover, offline scan and bundle import: the operations the CLI, the web UI and the
scheduler share. Each one is recorded as a scan run with one outcome per device.

A run is committed as `running` before any device is contacted (so pages can show it live),
collection happens outside any transaction, and the results go in in one transaction.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, or_, select

from collectors.credentials import CredentialBook
from collectors.fleet import outbox
from collectors.outcome_json import DamagedOutcome, outcome_from_json, outcome_to_json
from collectors.reconcile import Reconciler
from collectors.records import (
    Target,
)
from collectors.runner import Outcome, RunOptions, run_sync
from collectors.vendors import canonical_vendor
from compliance import events
from inventory import db
from inventory.changes import changed
from inventory.choices import NETWORK_CLASSES, DeviceClass
from inventory.crypto import Vault
from inventory.io.sandbox import UnreadableFile, load_json_limited
from inventory.models import Device, ScanOutcome, ScanRun, Site, Subnet, Zone, utcnow
from inventory.platforms import platform_for
from inventory.repository import in_inventory, zone_subnets
from inventory.runs import current_owner, mark_interrupted

log = logging.getLogger("kiemke.collectors")

POLLED_BY_DEFAULT = frozenset({*(c.value for c in NETWORK_CLASSES), DeviceClass.SERVER.value})
BUNDLE_FORMAT = "kiemke-scan-bundle/1"
# A bundle of a /24 with every device's masked config is a few MB; far above that is not a bundle.
MAX_BUNDLE_BYTES = 128 * 1024 * 1024
NO_CREDENTIALS = "no device credentials are stored: add one with `kiemke credential add`"  # a poll refused

Progress = Callable[[int, int, Outcome], None]
RunStarted = Callable[[int], None]  # told the scan run's id once its `running` row is committed


class ServiceError(ValueError):
    pass


def failure_text(exc: BaseException) -> str:
    """What a user reads of a failed operation: the services' own messages; for any other error
    only its kind (a library's message might carry an address or worse)."""
    from collectors.credentials import CredentialError
    from collectors.records import CollectorError
    from inventory.crypto import CredentialKeyError

    if isinstance(exc, (ServiceError, CredentialError, CredentialKeyError)):
        return str(exc)
    if isinstance(exc, CollectorError):
        return f"{exc.kind}: {exc.message}"
    return type(exc).__name__


@dataclass
class RunResult:
    scan_run_id: int
    status: str
    summary: dict[str, Any]
    evaluation: str | None = None  # what re-evaluating the devices the run touched found (one line)


def poll_targets(session, *, site: str | None = None, zone: str | None = None, endpoints: bool = False, due_before: datetime | None = None,
                 device_ids: list[int] | None = None) -> list[Target]:  # fmt: skip
    """Recorded devices to poll: network devices (and endpoints on request) with an address;
    `device_ids`: only these (a worker's job polls one device, collectors/work/polls.py)."""
    query = select(Device, Site.code, Zone.kind).join(Site, Site.id == Device.site_id).outerjoin(Zone, Zone.id == Device.zone_id).where(Device.mgmt_ip.is_not(None), in_inventory()).order_by(Device.id)
    if not endpoints:
        query = query.where(Device.device_class.in_(POLLED_BY_DEFAULT))
    if site:
        query = query.where(Site.code == site)
    if zone:
        query = query.where(Zone.kind == zone)
    if device_ids is not None:
        query = query.where(Device.id.in_(device_ids))
    if due_before is not None:
        # LibreNMS-style: a device is due when it was never polled or polled before the cut-off.
        query = query.where(or_(Device.last_polled.is_(None), Device.last_polled < due_before))
    return [
        Target(
            address=d.mgmt_ip,
            device_id=d.id,
            site_code=code,
            zone=kind,
            device_class=d.device_class,
            platform=d.platform or platform_for(canonical_vendor(d.vendor), d.os_name),
            hostname=d.hostname,
        )
        for d, code, kind in session.execute(query)
    ]


def _start_run(engine: Engine, kind: str, *, site: str | None, params: dict, triggered_by: str, on_started: RunStarted | None = None) -> int:
    with db.session_scope(engine) as session:
        # Runs left `running` by a process that died are closed first (a cheap query), and this
        # one records its owner, so that it is closed the same way if this process dies.
        mark_interrupted(session)
        site_id = session.execute(select(Site.id).where(Site.code == site)).scalar_one_or_none() if site else None
        scan_run = ScanRun(kind=kind, site_id=site_id, params=params | {"owner": current_owner()}, triggered_by=triggered_by)
        session.add(scan_run)
        session.flush()
        run_id = scan_run.id
    if on_started is not None:
        try:
            on_started(run_id)
        except BaseException as exc:
            _fail_run(engine, run_id, exc)
            raise
    return run_id


def _finish_run(engine: Engine, run_id: int, outcomes: list[Outcome], extra: dict | None = None, *, announce_failure: bool = True,
                judge: Callable[[Any], tuple[str, str | None]] | None = None) -> RunResult:  # fmt: skip
    """`announce_failure` False: a failure here is not an event (the caller deletes the run).
    `judge` (a discovery): the run's status and error from the reconcile summary, instead of
    "any failed outcome"."""
    try:
        with db.session_scope(engine) as session:
            scan_run = session.get(ScanRun, run_id)
            summary = Reconciler(session, scan_run).apply(outcomes)
            scan_run.finished_at = utcnow()
            scan_run.status = "ok" if summary.failed == 0 else "partial" if summary.ok else "failed"
            if judge is not None:
                scan_run.status, scan_run.error = judge(summary)
            scan_run.summary = summary.as_dict() | {"devices": len(outcomes)} | (extra or {})
            outbox.record_run(session, scan_run, outcomes)  # a collector's database: the results also wait for the hub
            result = RunResult(run_id, scan_run.status, scan_run.summary)
    except Exception as exc:
        _fail_run(engine, run_id, exc, announce=announce_failure)
        raise
    # After the commit, each in a transaction of its own that never raises.
    if result.summary.get("created"):
        events.raise_discovered_devices(engine, run_id)
    if result.status == "failed":
        events.raise_run_failed(engine, run_id)
    return result


def _evaluate_touched(engine: Engine, result: RunResult, *, trigger: str, actor: str) -> RunResult:
    """After a run is committed: whoever listens (compliance) re-evaluates the devices it
    reached or tried, and their sites, before the run reports done. A failure there leaves the
    run as it is and is said in `result.evaluation`."""
    try:
        with db.session_scope(engine) as session:
            rows = session.execute(select(ScanOutcome.device_id, Device.site_id).join(Device, Device.id == ScanOutcome.device_id).where(ScanOutcome.scan_run_id == result.scan_run_id)).all()
    except Exception as exc:  # the run is committed; only its evaluation is lost
        log.exception("scan run #%s: touched devices not read", result.scan_run_id)
        result.evaluation = f"saved; evaluation failed: {type(exc).__name__}"
        return result
    outcome = changed(engine, device_ids={d for d, _ in rows}, site_ids={s for _, s in rows if s is not None}, trigger=trigger, actor=actor)
    result.evaluation = outcome.line()
    return result


def _fail_run(engine: Engine, run_id: int, exc: BaseException, *, announce: bool = True) -> None:
    with db.session_scope(engine) as session:
        scan_run = session.get(ScanRun, run_id)
        scan_run.status = "error"
        scan_run.finished_at = utcnow()
        scan_run.error = f"{type(exc).__name__}: {exc}"[:2000]
    if announce:
        events.raise_run_failed(engine, run_id)  # after the commit; never raises


def poll(
    engine: Engine,
    vault: Vault,
    *,
    site: str | None = None,
    zone: str | None = None,
    endpoints: bool = False,
    due_only_minutes: int | None = None,
    triggered_by: str = "cli",
    options: RunOptions | None = None,
    on_started: RunStarted | None = None,
) -> RunResult:
    with db.session_scope(engine) as session:
        if site and session.execute(select(Site.id).where(Site.code == site)).first() is None:
            raise ServiceError(f"unknown site {site!r}")
        due = utcnow() - timedelta(minutes=due_only_minutes) if due_only_minutes else None
        targets = poll_targets(session, site=site, zone=zone, endpoints=endpoints, due_before=due)
        book = CredentialBook(session, vault)
    if not book:
        raise ServiceError(NO_CREDENTIALS)
    run_id = _start_run(engine, "poll", site=site, params={"zone": zone, "endpoints": endpoints, "targets": len(targets)}, triggered_by=triggered_by,
                        on_started=on_started)  # fmt: skip
    try:
        outcomes = run_sync(targets, book, options)
    except BaseException as exc:
        _fail_run(engine, run_id, exc)
        raise
    return _evaluate_touched(engine, _finish_run(engine, run_id, outcomes), trigger="poll", actor=triggered_by)


# -- discovery ----------------------------------------------------------------------------------


def site_scope(session, site: str | None = None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The allow-list: every zone subnet (of one site, or all) plus loopback."""
    query = select(Subnet.cidr).join(Zone, Zone.id == Subnet.zone_id).join(Site, Site.id == Zone.site_id)
    if site:
        query = query.where(Site.code == site)
    nets = [ipaddress.ip_network(c) for c in session.execute(query).scalars()]
    return nets + [ipaddress.ip_network("127.0.0.0/8")]


NMAP_TIMEOUT = 60.0  # seconds per swept piece (a subnet up to a /24)
Phase = Callable[[str, dict], None]  # told the phase ("sweep", "probe") and its counts so far
_LOST_ANSWER_KINDS = ("timeout", "unreachable")
NO_CREDENTIAL = "no credential applies to this device"  # the runner's message when none applies


@dataclass
class _Sweep:
    """What the nmap sweep of a discovery found, piece by piece, and which pieces failed."""

    pieces: int
    addresses: int
    pieces_done: int = 0
    addresses_done: int = 0
    hosts_found: int = 0
    failures: list[dict] = field(default_factory=list)  # {"subnet", "kind", "message"}

    def counts(self) -> dict:
        return {"subnets_done": self.pieces_done, "subnets": self.pieces, "addresses_done": self.addresses_done, "addresses": self.addresses,
                "hosts_found": self.hosts_found, "subnets_failed": len(self.failures)}  # fmt: skip


def _discovery_plan(session, site: str, zone: str | None, subnet: str | None) -> tuple[Site, list[tuple[str, str]]]:
    site_row = session.execute(select(Site).where(Site.code == site)).scalar_one_or_none()
    if site_row is None:
        raise ServiceError(f"unknown site {site!r}")
    zones = {z.kind: z for z in session.execute(select(Zone).where(Zone.site_id == site_row.id)).scalars()}
    subnets_by_zone = zone_subnets(session)
    plan: list[tuple[str, str]] = []
    for kind, zone_row in zones.items():
        if zone and kind != zone:
            continue
        for cidr in subnets_by_zone.get(zone_row.id, []):
            if subnet is None or ipaddress.ip_network(subnet).subnet_of(ipaddress.ip_network(cidr)):
                plan.append((kind, subnet or cidr))
    if subnet and not plan:
        raise ServiceError(f"{subnet} is not inside any zone subnet of site {site}; kiemke scans only those")
    return site_row, plan


def discovery_targets(session, site: str, zone: str | None, subnet: str | None, *, netns: str | None = None, snmp_ports=(161,), timeout: float = NMAP_TIMEOUT,
                      on_phase: Phase | None = None) -> tuple[list[Target], dict]:  # fmt: skip
    """Addresses found on a site's zone subnets (or one subnet inside them) by nmap.

    Each subnet is swept in pieces (a /24 at most): a piece that times out or fails is recorded
    in the returned info's "subnet_errors" and the others are still swept, so one slow piece
    loses only its own hosts. "manageable" lists the addresses that offered SNMP or SSH."""
    from collectors.nmap import NmapDiscovery, Scope, sweep_pieces
    from collectors.records import CollectorError

    site_row, plan = _discovery_plan(session, site, zone, subnet)
    scanner = NmapDiscovery(Scope(site_scope(session, site)))
    known = {d.mgmt_ip: d for d in session.execute(select(Device).where(Device.site_id == site_row.id, Device.mgmt_ip.is_not(None))).scalars()}
    pieces = [(kind, piece) for kind, cidr in plan for piece in sweep_pieces(cidr)]
    sweep = _Sweep(pieces=len(pieces), addresses=sum(p.num_addresses for _, p in pieces))
    targets: list[Target] = []
    manageable: list[str] = []

    def tell(phase: str) -> None:
        if on_phase is not None:
            on_phase(phase, sweep.counts())

    for n, (kind, piece) in enumerate(pieces):
        try:
            found = scanner.scan(str(piece), netns=netns, timeout=timeout, snmp_ports=snmp_ports, on_pass=tell)
        except CollectorError as exc:  # this piece is lost; the others still count
            sweep.failures.append({"subnet": str(piece), "kind": exc.kind, "message": exc.message})
            log.warning("discovery of %s: %s: %s", piece, exc.kind, exc.message)
            if exc.message.startswith("cannot run nmap"):  # every other piece would fail the same way
                sweep.failures += [{"subnet": str(p), "kind": "skipped", "message": "not swept: nmap cannot run"} for _, p in pieces[n + 1 :]]
                break
            found = []
        for facts in found:
            device = known.get(facts.address)
            if not facts.open_ports and device is None:
                continue  # up but offering nothing (every loopback address is "up")
            sweep.hosts_found += 1
            if any(port < 0 for port in facts.open_ports) or any(name == "ssh" for _, name in facts.services):
                manageable.append(facts.address)
            targets.append(
                Target(address=facts.address, device_id=device.id if device else None, site_code=site, zone=kind,
                       device_class=device.device_class if device else None, platform=(device.platform or platform_for(canonical_vendor(device.vendor), device.os_name)) if device else None,
                       hostname=device.hostname if device else None)
            )  # fmt: skip
        sweep.pieces_done += 1
        sweep.addresses_done += piece.num_addresses
        tell("sweep")
    info = {"subnets": [c for _, c in plan], "hosts_found": sweep.hosts_found, "manageable": manageable}
    if len(pieces) != len(plan):
        info["pieces"] = len(pieces)
    if sweep.failures:
        info["subnet_errors"] = sweep.failures
    return targets, info


def discovery_tally(outcomes: list[Outcome], manageable: set[str]) -> dict:
    """A discovery's silent addresses, sorted: recorded devices that did not answer
    ("unreachable": a real failure), addresses that answered the sweep but offered no
    management protocol kiemke could use ("not_manageable": found, not an error) and real
    errors (refused credentials, protocol errors, a management port that went silent)."""
    tally = {"answered": 0, "unreachable": 0, "not_manageable": 0, "errors": 0}
    for outcome in outcomes:
        if outcome.ok:
            tally["answered"] += 1
            continue
        kind = outcome.error.kind if outcome.error else None
        message = outcome.error.message if outcome.error else ""
        if outcome.target.device_id is not None and kind in _LOST_ANSWER_KINDS:
            tally["unreachable"] += 1
        elif outcome.target.device_id is None and outcome.target.address not in manageable and (kind in _LOST_ANSWER_KINDS or message == NO_CREDENTIAL):
            tally["not_manageable"] += 1
        else:
            tally["errors"] += 1
    return tally


def _discovery_judge(tally: dict, subnet_errors: list[dict], swept_any: bool) -> Callable[[Any], tuple[str, str | None]]:
    """A discovery's status: addresses that are merely not manageable fail nothing; a swept
    piece that failed makes the run partial (failed when no piece could be swept)."""
    reason = None
    if subnet_errors:
        shown = "; ".join(f"{e['subnet']}: {e['kind']}: {e['message']}" for e in subnet_errors[:3])
        more = f" (+{len(subnet_errors) - 3} more)" if len(subnet_errors) > 3 else ""
        reason = f"{len(subnet_errors)} subnet piece(s) not swept: {shown}{more}"[:2000]

    def judge(_summary: Any) -> tuple[str, str | None]:
        problems = tally["unreachable"] + tally["errors"]
        if not swept_any:
            return "failed", reason
        if problems == 0 and not subnet_errors:
            return "ok", None
        if tally["answered"] or tally["not_manageable"] or subnet_errors:  # a piece was swept: what it found is kept
            return "partial", reason
        return "failed", reason

    return judge


def discover(
    engine: Engine,
    vault: Vault,
    *,
    site: str,
    zone: str | None = None,
    subnet: str | None = None,
    triggered_by: str = "cli",
    options: RunOptions | None = None,
    snmp_ports=(161,),
    on_started: RunStarted | None = None,
    nmap_timeout: float = NMAP_TIMEOUT,
    on_phase: Phase | None = None,
) -> RunResult:
    """Sweep, probe and collect a site's subnets. A piece of the sweep that fails is recorded
    (the run's summary "subnet_errors", its status partial and its error the reason) while
    the hosts found elsewhere are still collected and reconciled."""
    options = options or RunOptions()
    params = {"zone": zone, "subnet": subnet, "nmap_timeout": nmap_timeout, "snmp_timeout": options.snmp_timeout, "ssh_timeout": options.ssh_timeout}
    run_id = _start_run(engine, "discover", site=site, params=params, triggered_by=triggered_by, on_started=on_started)
    return discover_into(engine, vault, run_id, site=site, zone=zone, subnet=subnet, triggered_by=triggered_by, options=options, snmp_ports=snmp_ports,
                         nmap_timeout=nmap_timeout, on_phase=on_phase)  # fmt: skip


def discover_into(engine: Engine, vault: Vault, run_id: int, *, site: str, zone: str | None, subnet: str | None, triggered_by: str, options: RunOptions,
                  snmp_ports=(161,), nmap_timeout: float = NMAP_TIMEOUT, on_phase: Phase | None = None) -> RunResult:  # fmt: skip
    """A discovery carried out into a run already written (by `discover`, or queued for a worker:
    collectors/work/discoveries.py): a failure closes the run and is raised."""
    try:
        with db.session_scope(engine) as session:
            targets, scan_info = discovery_targets(session, site, zone, subnet, snmp_ports=snmp_ports, timeout=nmap_timeout, on_phase=on_phase)
            book = CredentialBook(session, vault)
        if on_phase is not None:
            on_phase("collect", {"hosts_found": len(targets)})
        outcomes = run_sync(targets, book, options)
    except BaseException as exc:
        _fail_run(engine, run_id, exc)
        raise
    manageable = set(scan_info.pop("manageable", ()))
    subnet_errors = scan_info.get("subnet_errors", [])
    tally = discovery_tally(outcomes, manageable)
    # Strangers that offered SNMP/SSH and yet did not answer it: errors, named so the results page agrees.
    tally["manageable_silent"] = [o.target.address for o in outcomes if not o.ok and o.target.device_id is None and o.target.address in manageable]
    swept_any = len(subnet_errors) < scan_info.get("pieces", len(scan_info.get("subnets", []))) or not scan_info.get("subnets")
    judge = _discovery_judge(tally, subnet_errors, swept_any)
    result = _finish_run(engine, run_id, outcomes, scan_info | tally, judge=judge)
    return _evaluate_touched(engine, result, trigger="discover", actor=triggered_by)


# -- offline technician mode -----------------------------------------------------------------------


def scan_to_bundle(engine: Engine, vault: Vault, *, site: str, subnet: str, options: RunOptions | None = None, snmp_ports=(161,)) -> dict:
    """Discover and collect one subnet of a site without touching the inventory: a bundle."""
    started = datetime.now(UTC)
    with db.session_scope(engine) as session:
        targets, scan_info = discovery_targets(session, site, None, subnet, snmp_ports=snmp_ports)
        book = CredentialBook(session, vault)
    outcomes = run_sync(targets, book, options)
    bundle = {
        "format": BUNDLE_FORMAT,
        "bundle_id": str(uuid.uuid4()),
        "site": site,
        "subnet": subnet,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "scan": scan_info,
        "outcomes": [outcome_to_json(o) for o in outcomes],
    }
    # Plain JSON all the way down (dates as ISO text), so the bundle can be written as it is.
    return json.loads(json.dumps(bundle, default=lambda value: value.isoformat()))


def _damaged(path: Path, why: str) -> ServiceError:
    return ServiceError(f"{Path(path).name}: damaged scan bundle ({why})")


def _outcomes_from_bundle(path: Path, bundle: dict) -> list[Outcome]:
    """The bundle's outcomes, every value checked for its kind: a damaged bundle is one error."""
    for key in ("bundle_id", "site"):
        if not isinstance(bundle.get(key), str) or not bundle[key]:
            raise _damaged(path, f"{key} missing or not text")
    if not isinstance(bundle.get("outcomes"), list):
        raise _damaged(path, "outcomes missing or not a list")
    try:
        return [outcome_from_json(item) for item in bundle["outcomes"]]
    except DamagedOutcome as exc:
        raise _damaged(path, str(exc)) from None


def import_bundle(engine: Engine, path: Path, *, triggered_by: str = "cli") -> RunResult:
    """Merge an offline scan bundle. Importing the same bundle twice changes nothing; a damaged
    bundle is one ServiceError and changes nothing either."""
    try:
        # A bundle comes from a laptop in the field: decoded in a child process with limits.
        bundle = load_json_limited(Path(path), MAX_BUNDLE_BYTES)
    except UnreadableFile as exc:
        raise ServiceError(f"not a readable scan bundle: {exc}") from None
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise ServiceError(f"{Path(path).name}: not a kiemke scan bundle (format {BUNDLE_FORMAT} expected)")
    outcomes = _outcomes_from_bundle(path, bundle)
    with db.session_scope(engine) as session:
        for scan_run in session.execute(select(ScanRun).where(ScanRun.kind == "import-scan")).scalars():
            if scan_run.params.get("bundle_id") == bundle["bundle_id"]:
                return RunResult(scan_run.id, "already-imported", scan_run.summary)
        if session.execute(select(Site.id).where(Site.code == bundle["site"])).first() is None:
            raise ServiceError(f"bundle is for unknown site {bundle['site']!r}")
    subnet, started = bundle.get("subnet"), bundle.get("started_at")
    params = {"bundle_id": bundle["bundle_id"], "subnet": subnet if isinstance(subnet, str) else None, "scanned_at": started if isinstance(started, str) else None}
    run_id = _start_run(engine, "import-scan", site=bundle["site"], params=params, triggered_by=triggered_by)
    try:
        result = _finish_run(engine, run_id, outcomes, announce_failure=False)
    except Exception as exc:  # noqa: BLE001 (any failure of the merge is a damaged bundle here)
        # Values the checks above let through but the merge could not take: the merge was rolled
        # back; the run row goes too, so the bundle can be imported once it is mended.
        with db.session_scope(engine) as session:
            session.delete(session.get(ScanRun, run_id))
        raise _damaged(path, type(exc).__name__) from None
    return _evaluate_touched(engine, result, trigger="import-scan", actor=triggered_by)
