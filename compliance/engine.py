"""Evaluate the whole fleet: load subjects from the inventory, run every applicable rule, and
return the failures. Pure evaluation (`evaluate`) is separate from loading, so a benchmark can
feed it synthetic subjects.

Every check is called through `_failures`: a check that raises leaves that subject "not
evaluated" for its rule (logged, counted in `Evaluation.check_errors`, listed in
`Evaluation.not_evaluated`), and the run goes on.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import queue
import threading
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

import compliance.checks  # noqa: F401  (registers every check)
from compliance.checks.base import CheckResult, get_check
from compliance.checks.network import voiding_gaps
from compliance.configparse import NetworkConfigFacts, parse_config
from compliance.policy import Policy, Rule
from compliance.subjects import DeviceSubject, SiteSubject
from inventory.models import ConfigSnapshot, Device, DeviceMac, MacSighting, Site, Subnet, Zone
from inventory.platforms import platform_for
from inventory.repository import zone_subnets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Violation:
    rule_id: str
    severity: str
    subject_key: str
    device_id: int | None
    site_id: int | None
    expected: str
    actual: str
    evidence: tuple[str, ...] = ()


def _violation(
    rule_id: str,
    severity: str,
    subject_key: str,
    device_id: int | None,
    site_id: int | None,
    expected: str,
    actual: str,
    evidence: tuple[str, ...],
    _new: Callable[..., Any] = object.__new__,
    _set: Callable[..., None] = object.__setattr__,
) -> Violation:
    """`Violation(...)` at half the cost: a frozen dataclass's __init__ sets each field through
    object.__setattr__, and a full run builds hundreds of thousands of them. Same object (its
    fields are its __dict__): equal, hashed, shown and pickled alike."""
    v = _new(Violation)
    _set(v, "__dict__", {
        "rule_id": rule_id, "severity": severity, "subject_key": subject_key, "device_id": device_id, "site_id": site_id,
        "expected": expected, "actual": actual, "evidence": evidence,
    })  # fmt: skip
    return v


@dataclass
class Evaluation:
    violations: list[Violation] = field(default_factory=list)
    devices: int = 0
    sites: int = 0
    checks_run: int = 0
    failing_devices: set[int] = field(default_factory=set)
    # rule id -> how many subjects its check raised on; those (rule id, subject key) pairs are
    # not evaluated: their findings must be left as they are, neither opened nor resolved.
    check_errors: Counter[str] = field(default_factory=Counter)
    not_evaluated: set[tuple[str, str]] = field(default_factory=set)
    # Those of `not_evaluated` left so because of configuration lines the parser could not read.
    unread: set[tuple[str, str]] = field(default_factory=set)
    # device id -> why its running-config could not be parsed (configs given as `ConfigTexts`:
    # parsed where the device is evaluated, in this process or a worker).
    config_errors: dict[int, str] = field(default_factory=dict)


class ConfigTexts(Mapping[int, NetworkConfigFacts]):
    """Running-configs as collected, `{device id: (text, platform)}`, parsed when asked for; a
    text that does not parse answers None and its reason is kept in `errors`. Handed to
    `evaluate` instead of parsed facts, the configs are parsed in the process that evaluates
    their device, so a large run parses on every core, and only the parse errors travel back
    from a worker (its parsed facts would cost more to pickle than to parse). The facts are not
    kept: the engine asks once per device, and a whole fleet's would only fill memory."""

    def __init__(self, texts: Mapping[int, tuple[str, str]]):
        self._texts = texts
        self.errors: dict[int, str] = {}

    def get(self, device_id: int, default: Any = None) -> Any:  # type: ignore[override]
        raw = self._texts.get(device_id)
        if raw is None or device_id in self.errors:
            return default
        try:
            return parse_config(*raw)
        except ValueError as exc:  # unsupported platform, or a text the parser refuses
            self.errors[device_id] = str(exc)
            return default

    def __getitem__(self, device_id: int) -> NetworkConfigFacts:
        facts = self.get(device_id)
        if facts is None:
            raise KeyError(device_id)
        return facts

    def __iter__(self) -> Iterator[int]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


@dataclass
class _CheckErrors:
    """The checks that raised in one part of a run (picklable, so a worker can send it back)."""

    counts: Counter[str] = field(default_factory=Counter)
    subjects: set[tuple[str, str]] = field(default_factory=set)
    first: dict[str, str] = field(default_factory=dict)  # rule id -> traceback of its first error
    # (rule id, subject key) that passed on a config with lines it reads but the parser could
    # not understand: not evaluated either (what was left passed; the rest might not have).
    unread: set[tuple[str, str]] = field(default_factory=set)

    def add(self, rule_id: str, subject_key: str) -> None:
        """Record the exception being handled."""
        self.counts[rule_id] += 1
        self.subjects.add((rule_id, subject_key))
        if rule_id not in self.first:
            self.first[rule_id] = traceback.format_exc()

    def merge(self, other: _CheckErrors) -> None:
        self.counts.update(other.counts)
        self.subjects |= other.subjects
        self.unread |= other.unread
        for rule_id, text in other.first.items():
            self.first.setdefault(rule_id, text)


# A check as the engine runs it: (rule id, severity, check function, params, verdict or None,
# check name, key or None).
_Planned = tuple[str, str, Callable[..., CheckResult], Mapping[str, Any], Callable[..., Any] | None, str, Callable[[Any], Any] | None]

# Keyed answers of one run: rule id -> {check key: its failing result, or None (not failed)}.
# Valid while every subject of the run is alive (keys may hold a policy's identity).
_Answers = dict[str, dict[Any, CheckResult | None]]
_UNSEEN = object()


def _answers_for(plan: Mapping[str, tuple[tuple[_Planned, ...], tuple[_Planned, ...]]]) -> _Answers:
    return {check[0]: {} for families in plan.values() for checks in families for check in checks if check[6] is not None}


def _failures(checks: Iterable[_Planned], subject: Any, owner: Any, errors: _CheckErrors, answers: _Answers | None = None) -> list[tuple[_Planned, CheckResult]]:
    """The one way the engine calls checks: each of `checks` on `subject`, and the ones it fails
    with their results. A check that raises is recorded in `errors` under the subject key of
    `owner` (that subject is not evaluated for its rule) and the others still run. `owner` is
    the device whose rules run (its key is only spelled out on an error: this runs for every
    device of the fleet) or a ready subject key. A keyed check (see compliance.checks.base) is
    run once per distinct key and its answer kept in `answers`; an error is never kept, so each
    subject that raises is recorded."""
    failed = _NONE_FAILED
    for check in checks:
        try:
            if check[6] is not None and answers is not None:
                known = answers[check[0]]
                key = check[6](subject)
                outcome = known.get(key, _UNSEEN)
                if outcome is _UNSEEN:
                    verdict = check[4]
                    if verdict is not None and verdict(subject, check[3]) is not False:
                        outcome = None
                    else:
                        outcome = check[2](subject, check[3])
                        if outcome.passed is not False:
                            outcome = None
                    known[key] = outcome
                if outcome is None:
                    continue
            else:
                verdict = check[4]
                if verdict is not None and verdict(subject, check[3]) is not False:
                    continue  # passed or not applicable: no need for the texts
                outcome = check[2](subject, check[3])
        except Exception:  # noqa: BLE001 (one broken rule must not sink the run)
            errors.add(check[0], owner if isinstance(owner, str) else f"device:{owner.id}")
            continue
        if outcome.passed is False:
            if failed is _NONE_FAILED:
                failed = []
            failed.append((check, outcome))
    return failed


_NONE_FAILED: list = []  # shared and never appended to: most subjects fail nothing


def _rules_by_family(policy: Policy) -> dict[str, dict[str, list[tuple[Rule, object]]]]:
    """device class -> family -> (rule, check function), resolved once per evaluation."""
    out: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for rule in policy.baseline.rules:
        registered = get_check(rule.check) if rule.enabled else None
        if registered is None:
            continue
        for device_class in rule.applies_to:
            out[device_class][registered.subject].append((rule, registered.func))
    return out


# Above this many devices `evaluate` splits the device list into chunks for a pool of forked
# processes (children inherit the subjects, only their violations come back). Small fleets and
# tests stay serial.
PARALLEL_MIN_DEVICES = 20_000

_NO_CHECKS: tuple[tuple, tuple] = ((), ())


def _plan(policy: Policy) -> dict[str, tuple[tuple[_Planned, ...], tuple[_Planned, ...]]]:
    """device class -> (device checks, network_config checks)."""
    plan = {}
    for device_class, families in _rules_by_family(policy).items():
        plan[device_class] = tuple(tuple(_planned(rule, func) for rule, func in families.get(family, ())) for family in ("device", "network_config"))
    return plan  # type: ignore[return-value]


def _planned(rule: Rule, func: Callable[..., CheckResult]) -> _Planned:
    registered = get_check(rule.check)
    assert registered is not None
    return (rule.id, rule.severity, func, rule.params, registered.verdict, rule.check, registered.key)


def _site_checks(policy: Policy) -> list[_Planned]:
    """The enabled site rules, in baseline order."""
    checks = []
    for rule in policy.baseline.rules:
        registered = get_check(rule.check) if rule.enabled else None
        if registered is not None and registered.subject == "site":
            checks.append((rule.id, rule.severity, registered.func, rule.params, registered.verdict, rule.check, None))
    return checks


def evaluate(
    devices: Iterable[DeviceSubject],
    sites: Iterable[SiteSubject],
    policy: Policy,
    configs: Mapping[int, NetworkConfigFacts] | None = None,
    orphan_macs: Iterable[tuple[int, str, frozenset[str], tuple[str, ...]]] = (),
) -> Evaluation:
    """Every failing (rule, subject). `configs`: parsed running-configs by device id, or their
    texts as `ConfigTexts` (parsed where each device is evaluated; the parse errors of the
    devices whose config rules ran come back in `Evaluation.config_errors`). `orphan_macs`:
    (site id, MAC, zones, places) for MACs that no recorded device owns but that were seen at a
    site.

    From `PARALLEL_MIN_DEVICES` devices on, a pool of forked processes evaluates chunks of the
    device list (same results, same order); smaller fleets are evaluated in this process."""
    devices = devices if isinstance(devices, (list, tuple)) else list(devices)
    large = len(devices) >= PARALLEL_MIN_DEVICES
    # A large run allocates hundreds of thousands of objects (results, violations) and no
    # reference cycles: the cyclic collector's passes meanwhile would only re-walk them and the
    # inputs, so pause it (reference counting still frees the scratch objects). Freezing the
    # inputs also keeps forked workers from touching (copying) the pages a collection would walk.
    paused = large and gc.isenabled()
    frozen = paused and gc.get_freeze_count() == 0
    if paused:
        gc.disable()
        if frozen:
            gc.freeze()
    try:
        return _evaluate(devices, sites, policy, configs or {}, orphan_macs, large)
    finally:
        if paused:
            if frozen:
                # The results are long-lived: put them, with the inputs, in the oldest generation
                # (where surviving two young collections would move them) without walking them.
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _evaluate(
    devices: Sequence[DeviceSubject],
    sites: Iterable[SiteSubject],
    policy: Policy,
    configs: Mapping[int, NetworkConfigFacts],
    orphan_macs: Iterable[tuple[int, str, frozenset[str], tuple[str, ...]]],
    large: bool,
) -> Evaluation:
    plan = _plan(policy)
    workers = _workers() if large else 1
    parts = _evaluate_parallel(devices, plan, configs, workers) if workers > 1 else [_evaluate_devices(devices, plan, configs)]
    result = Evaluation()
    errors = _CheckErrors()
    for part in parts:
        result.violations.extend(part.violations)
        result.failing_devices |= part.failing
        result.checks_run += part.checks_run
        result.devices += part.devices
        result.config_errors.update(part.config_errors)
        errors.merge(part.errors)
    add = result.violations.append
    site_checks = _site_checks(policy)
    for site in sites:
        result.sites += 1
        for check in site_checks:
            rule_id, severity = check[0], check[1]
            key = f"site:{site.id}:{rule_id}"  # one subject per site and rule
            for _, outcome in _failures((check,), site, key, errors):
                add(Violation(rule_id, severity, key, None, site.id, outcome.expected, outcome.actual, tuple(outcome.evidence)))
            result.checks_run += 1
    if any(r.id == "zone.mac_both_zones" and r.enabled for r in policy.baseline.rules):
        rule = policy.rule("zone.mac_both_zones")
        for site_id, mac, zones, where in orphan_macs:
            if {"party_wan", "internet"} <= zones:
                add(
                    Violation(
                        rule.id,
                        rule.severity,
                        f"site:{site_id}:mac:{mac}",
                        None,
                        site_id,
                        "MAC seen in one zone only",
                        "an unrecorded MAC seen in both zones",
                        (f"MAC {mac} seen on the Party WAN and the Internet network", f"MAC {mac} learnt at {_where(where)}"),
                    )
                )
    for rule_id, count in errors.counts.items():
        log.error("rule %s: its check raised on %d subject(s), left not evaluated; the first error:\n%s", rule_id, count, errors.first[rule_id])
    result.check_errors = errors.counts
    result.not_evaluated = errors.subjects | errors.unread
    result.unread = errors.unread
    return result


@dataclass
class _Part:
    """The device rules evaluated on one run of devices."""

    violations: list  # Violation, or its fields as a tuple (cheap to pickle) from a worker
    failing: set[int]  # device ids with at least one violation
    checks_run: int
    devices: int
    errors: _CheckErrors
    config_errors: dict[int, str]  # device id -> why its config did not parse (ConfigTexts only)


def _fields(*fields: object) -> tuple:
    """A violation as the tuple of its fields (what a worker sends back: cheap to pickle)."""
    return fields


def _evaluate_devices(
    devices: Sequence[DeviceSubject],
    plan: dict[str, tuple[tuple[_Planned, ...], tuple[_Planned, ...]]],
    configs: Mapping[int, NetworkConfigFacts],
    make: Callable[..., Any] = _violation,
    answers: _Answers | None = None,
) -> _Part:
    """The device and network_config rules on `devices`, in order; `make` builds each violation.
    `answers`: the keyed answers of the run so far (a fresh set when None)."""
    if answers is None:
        answers = _answers_for(plan)
    violations: list = []
    add = violations.append
    failing: set[int] = set()
    errors = _CheckErrors()
    checks_run = 0
    get_plan = plan.get
    get_config = configs.get
    parse_errors = configs.errors if isinstance(configs, ConfigTexts) else {}
    config_errors: dict[int, str] = {}
    for device in devices:
        device_checks, config_checks = get_plan(device.device_class, _NO_CHECKS)
        failed = _failures(device_checks, device, device, errors, answers)
        checks_run += len(device_checks)
        if config_checks:
            facts = get_config(device.id)
            if facts is not None:
                more = _failures(config_checks, facts, device, errors, answers)
                if facts.unreadable:
                    more = _mark_unread(config_checks, more, facts, device.id, errors)
                if more:
                    failed = failed + more
                checks_run += len(config_checks)
            elif device.id in parse_errors:
                config_errors[device.id] = parse_errors[device.id]
        if failed:
            key = f"device:{device.id}"
            failing.add(device.id)
            for check, outcome in failed:
                add(make(check[0], check[1], key, device.id, device.site_id, outcome.expected, outcome.actual, tuple(outcome.evidence)))
    return _Part(violations, failing, checks_run, len(devices), errors, config_errors)


def _mark_unread(checks: Sequence[_Planned], failed: list, facts: NetworkConfigFacts, device_id: int, errors: _CheckErrors) -> list:
    """Mark not evaluated the checks whose verdict on `facts` does not stand (voiding_gaps: a pass
    beside an unreadable line of a kind it reads, a failure citing nothing where what it reads is
    absent from the file); return the failures that stand."""
    outcomes = {check[0]: outcome for check, outcome in failed}
    standing = []
    for check in checks:
        outcome = outcomes.get(check[0])
        passed, evidence = (False, outcome.evidence) if outcome is not None else (True, ())
        if voiding_gaps(check[5], facts, passed, evidence):
            errors.unread.add((check[0], f"device:{device_id}"))
        elif outcome is not None:
            standing.append((check, outcome))
    return standing


def _workers() -> int:
    """How many processes may evaluate devices: 1 (serial) unless forking is available and safe."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    if cpus < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    # Forking a process that runs other threads can deadlock the child; daemonic processes
    # may not have children.
    if threading.active_count() > 1 or multiprocessing.current_process().daemon:
        return 1
    return min(cpus, 8)


# Devices per chunk: small enough that a worker slowed by other load simply takes fewer chunks,
# large enough that handing them out costs nothing worth counting.
_CHUNK = 1000

# What a forked worker evaluates: (devices, plan, configs, chunk bounds, next-chunk counter,
# outbox), inherited from this process.
_inherited: tuple[Sequence[DeviceSubject], dict, Mapping[int, NetworkConfigFacts], list[tuple[int, int]], Any, Any] | None = None

# How long this process waits for a worker's next chunk once it has done its own share; a worker
# that died leaves its chunks to this process.
_WORKER_PATIENCE = 60.0


def _inherit(devices: Sequence[DeviceSubject], plan: dict, configs: Mapping[int, NetworkConfigFacts], bounds: list[tuple[int, int]], counter: Any, outbox: Any) -> None:
    """Worker initializer. With the fork start method its arguments are not pickled: the child
    has them already."""
    global _inherited
    _inherited = (devices, plan, configs, bounds, counter, outbox)


def _take_chunk(counter: Any, chunks: int) -> int | None:
    """The index of the next chunk nobody has taken yet (this process and the workers share the
    counter), or None when all are taken."""
    with counter.get_lock():
        index = counter.value
        if index >= chunks:
            return None
        counter.value = index + 1
        return index


def _evaluate_chunks() -> int:
    """In a worker: chunks of the inherited devices, taken one by one until none are left, each
    sent back as soon as it is done (the outbox's own thread writes it while the next one is
    evaluated); returns how many it sent. Workers take their chunks themselves, and stream their
    parts, so neither side waits on the other's busy interpreter."""
    assert _inherited is not None, "the pool's initializer sets the inherited subjects"
    devices, plan, configs, bounds, counter, outbox = _inherited
    sent = 0
    answers = _answers_for(plan)  # kept across this worker's chunks: the subjects all live on
    while (index := _take_chunk(counter, len(bounds))) is not None:
        start, stop = bounds[index]
        outbox.put((index, _evaluate_devices(devices[start:stop], plan, configs, _fields, answers)))
        sent += 1
    return sent


def _evaluate_parallel(devices: Sequence[DeviceSubject], plan: dict, configs: Mapping[int, NetworkConfigFacts], workers: int) -> list[_Part]:
    """Evaluate `devices` in chunks, in this process and in a pool of `workers - 1` forked ones
    that take chunks from one shared counter; the parts come back in device order. Between its
    own chunks this process receives the workers' parts. A chunk a worker could not deliver
    (it died) is evaluated here."""
    bounds = [(start, min(start + _CHUNK, len(devices))) for start in range(0, len(devices), _CHUNK)]
    context = multiprocessing.get_context("fork")
    try:
        counter = context.Value("i", 0)
        outbox = context.Queue()
        pool = ProcessPoolExecutor(workers - 1, mp_context=context, initializer=_inherit, initargs=(devices, plan, configs, bounds, counter, outbox))
    except (OSError, ImportError):  # no shared memory or semaphores
        return [_evaluate_devices(devices, plan, configs)]
    parts: list[_Part | None] = [None] * len(bounds)
    answers = _answers_for(plan)

    def evaluate_here(index: int) -> None:
        start, stop = bounds[index]
        parts[index] = _evaluate_devices(devices[start:stop], plan, configs, answers=answers)

    def receive(timeout: float | None) -> bool:
        try:
            index, part = outbox.get(timeout=timeout) if timeout else outbox.get_nowait()
        except queue.Empty:
            return False
        part.violations = [_violation(*row) for row in part.violations]
        parts[index] = part
        return True

    try:
        try:
            futures = [pool.submit(_evaluate_chunks) for _ in range(workers - 1)]
        except OSError:  # out of processes or file descriptors
            return [_evaluate_devices(devices, plan, configs)]
        received = 0
        while (index := _take_chunk(counter, len(bounds))) is not None:
            evaluate_here(index)
            while receive(None):
                received += 1
        sent = 0
        for future in futures:
            try:
                sent += future.result()
            except (BrokenProcessPool, OSError):
                pass  # its chunks are done below
        while received < sent and receive(_WORKER_PATIENCE):
            received += 1
        for index, part in enumerate(parts):
            if part is None:
                evaluate_here(index)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        outbox.close()
    return parts  # type: ignore[return-value]


# -- loading from the inventory -------------------------------------------------------------------


@dataclass
class Fleet:
    devices: list[DeviceSubject]
    sites: list[SiteSubject]
    # The latest running-config of each device with a config parser, parsed by `evaluate` where
    # the device is evaluated; the texts that do not parse are in `Evaluation.config_errors`.
    configs: ConfigTexts
    orphan_macs: list[tuple[int, str, frozenset[str], tuple[str, ...]]]  # site, MAC, zones, where it was learnt
    platforms: dict[int, str] = field(default_factory=dict)  # device id -> platform (config parser)


@dataclass(frozen=True)
class Scope:
    """Part of the fleet: these devices (any status: a disposed one's findings are resolved) and
    these sites (their site-level rules). Built by `resolve_scope`."""

    device_ids: frozenset[int]
    site_ids: frozenset[int]


# Ids per IN (...) list: below SQLite's variable limit, and PostgreSQL plans them well.
_IDS_PER_QUERY = 5000


def id_batches(ids: Iterable[int]) -> list[list[int]]:
    ids = sorted(ids)
    return [ids[start : start + _IDS_PER_QUERY] for start in range(0, len(ids), _IDS_PER_QUERY)]


def resolve_scope(session: Session, device_ids: Iterable[int] | None, site_ids: Iterable[int] | None) -> Scope | None:
    """The devices and sites an evaluation covers: the devices named and every device of the
    sites named; the sites named and the sites of the devices named (their site rules read the
    devices). None when both are None: the whole fleet."""
    if device_ids is None and site_ids is None:
        return None
    devices = set(device_ids or ())
    sites = set(site_ids or ())
    for batch in id_batches(sites):
        devices.update(session.execute(select(Device.id).where(Device.site_id.in_(batch))).scalars())
    for batch in id_batches(set(device_ids or ())):
        sites.update(session.execute(select(Device.site_id).where(Device.id.in_(batch))).scalars())
    return Scope(frozenset(devices), frozenset(sites))


# Where each MAC was seen, with the switch that learnt it (outer join: an ARP or nmap sighting has none).
_SIGHTINGS = select(MacSighting.site_id, MacSighting.mac, MacSighting.zone_id, Device.hostname, MacSighting.port).outerjoin(Device, Device.id == MacSighting.seen_on_device_id)
_ZONE_NAMES = {"party_wan": "Party WAN", "internet": "Internet network"}


_PLACES_SHOWN = 6  # a MAC is learnt on every uplink too: the evidence names a few places, not all


def _where(places) -> str:
    unique = sorted(set(places))
    return "; ".join(unique[:_PLACES_SHOWN]) + (f"; and {len(unique) - _PLACES_SHOWN} more" if len(unique) > _PLACES_SHOWN else "")


def _place(switch: str | None, port: str, zone: str) -> str:
    return " ".join(part for part in (switch or "?", port) if part) + f" ({_ZONE_NAMES.get(zone, zone)})"


def load_fleet(session: Session, policy: Policy, today: date, scope: Scope | None = None) -> Fleet:
    """The subjects of the whole fleet, or of `scope` only (only its rows are read)."""
    from inventory.observations import latest_observations

    if scope is None:
        zone_kind = dict(session.execute(select(Zone.id, Zone.kind)).all())
        subnets = zone_subnets(session)
    else:  # the zones of its sites (its sightings' zones; its devices' zones, but for a stray one)
        zone_kind, subnets = {}, defaultdict(list)
        for batch in id_batches(scope.site_ids):
            zone_kind.update(session.execute(select(Zone.id, Zone.kind).where(Zone.site_id.in_(batch))).all())
        for batch in id_batches(zone_kind):
            for zone_id, cidr in session.execute(select(Subnet.zone_id, Subnet.cidr).where(Subnet.zone_id.in_(batch)).order_by(Subnet.id)):
                subnets[zone_id].append(cidr)
    macs_of: dict[int, list[str]] = defaultdict(list)
    owner: dict[str, int] = {}
    seen: dict[tuple[int, str], set[str]] = defaultdict(set)  # (site, mac) -> zone kinds
    places: dict[tuple[int, str], list[str]] = defaultdict(list)  # (site, mac) -> "switch port (zone)"
    if scope is None:
        observations = latest_observations(session)
        for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac)):
            macs_of[device_id].append(mac)
            owner[mac] = device_id
        for site_id, mac, zone_id, switch, port in session.execute(_SIGHTINGS):
            seen[(site_id, mac)].add(zone_kind[zone_id])
            places[(site_id, mac)].append(_place(switch, port, zone_kind[zone_id]))
        device_rows = session.execute(select(Device).where(Device.status != "disposed")).scalars()
        site_rows = list(session.execute(select(Site)).scalars())
    else:
        observations = {}
        device_rows = []
        for batch in id_batches(scope.device_ids):
            observations.update(latest_observations(session, batch))
            for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac).where(DeviceMac.device_id.in_(batch))):
                macs_of[device_id].append(mac)
            device_rows += session.execute(select(Device).where(Device.status != "disposed", Device.id.in_(batch))).scalars()
        site_rows = []
        for batch in id_batches(scope.site_ids):
            for site_id, mac, zone_id, switch, port in session.execute(_SIGHTINGS.where(MacSighting.site_id.in_(batch))):
                seen[(site_id, mac)].add(zone_kind[zone_id])
                places[(site_id, mac)].append(_place(switch, port, zone_kind[zone_id]))
            # Who owns the MACs seen there (any device, in scope or not): an owned MAC is no orphan.
            seen_here = select(MacSighting.mac).where(MacSighting.site_id.in_(batch))
            for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac).where(DeviceMac.mac.in_(seen_here))):
                owner[mac] = device_id
            site_rows += session.execute(select(Site).where(Site.id.in_(batch))).scalars()
        foreign = {d.zone_id for d in device_rows if d.zone_id is not None and d.zone_id not in zone_kind}  # a zone of another site
        if foreign:
            zone_kind.update(session.execute(select(Zone.id, Zone.kind).where(Zone.id.in_(sorted(foreign)))).all())
            for zone_id, cidr in session.execute(select(Subnet.zone_id, Subnet.cidr).where(Subnet.zone_id.in_(sorted(foreign))).order_by(Subnet.id)):
                subnets[zone_id].append(cidr)

    devices: list[DeviceSubject] = []
    in_use: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    platforms: dict[int, str] = {}
    for d in device_rows:
        own_zone = zone_kind.get(d.zone_id)
        zones_seen: set[str] = set()
        multi: list[str] = []
        seen_at: list[str] = []
        for mac in macs_of.get(d.id, ()):
            zones = seen.get((d.site_id, mac), set())
            zones_seen |= zones
            if len(zones | ({own_zone} if own_zone else set())) > 1:
                multi.append(mac)
                seen_at.append(f"MAC {mac} learnt at {_where(places.get((d.site_id, mac), ()))}")
        devices.append(
            DeviceSubject(
                id=d.id,
                device_class=d.device_class,
                site_id=d.site_id,
                zone=own_zone,
                status=d.status,
                today=today,
                policy=policy,
                vendor=d.vendor,
                model=d.model,
                os_name=d.os_name,
                os_version=d.os_version,
                country_of_origin=d.country_of_origin,
                purchase_date=d.purchase_date,
                mgmt_ip=d.mgmt_ip,
                zone_subnets=tuple(subnets.get(d.zone_id, ())),
                facts=observations.get(d.id, {}),
                zones_seen=frozenset(zones_seen | ({own_zone} if own_zone and zones_seen else set())),
                seen_macs=tuple(multi),
                seen_at=tuple(seen_at),
            )  # fmt: skip
        )
        if scope is None and d.status == "in_use" and own_zone:
            in_use[d.site_id][(own_zone, d.device_class)] += 1
        platform = d.platform or platform_for(d.vendor, d.os_name)  # inventory/data/platforms.yaml
        if platform:
            platforms[d.id] = platform
    if scope is not None:  # the site rules count every device of the site, in scope or not
        for batch in id_batches(scope.site_ids):
            counted = (
                select(Device.site_id, Zone.kind, Device.device_class, func.count()).join(Zone, Zone.id == Device.zone_id)
                .where(Device.status == "in_use", Device.site_id.in_(batch)).group_by(Device.site_id, Zone.kind, Device.device_class)
            )  # fmt: skip
            for site_id, kind, device_class, count in session.execute(counted):
                in_use[site_id][(kind, device_class)] = count

    sites = [SiteSubject(id=s.id, code=s.code, in_use=dict(in_use[s.id])) for s in site_rows]

    texts: dict[int, tuple[str, str]] = {}
    latest = select(func.max(ConfigSnapshot.id)).group_by(ConfigSnapshot.device_id)
    queries = [latest] if scope is None else [latest.where(ConfigSnapshot.device_id.in_(batch)) for batch in id_batches(platforms)]
    for query in queries:
        snapshots = select(ConfigSnapshot.device_id, ConfigSnapshot.text).where(ConfigSnapshot.id.in_(query.scalar_subquery()))
        for device_id, text in session.execute(snapshots):
            platform = platforms.get(device_id)
            if platform is not None:
                texts[device_id] = (text, platform)
    orphans = [(site_id, mac, frozenset(zones), tuple(places[(site_id, mac)])) for (site_id, mac), zones in seen.items() if mac not in owner and len(zones) > 1]
    return Fleet(devices, sites, ConfigTexts(texts), orphans, platforms)


def evaluate_fleet(session: Session, policy: Policy, today: date, scope: Scope | None = None) -> tuple[Fleet, Evaluation]:
    fleet = load_fleet(session, policy, today, scope)
    return fleet, evaluate(fleet.devices, fleet.sites, policy, fleet.configs, fleet.orphan_macs)
