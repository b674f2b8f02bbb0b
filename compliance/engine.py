"""Evaluate the whole fleet: load subjects from the inventory, run every applicable rule, and
return the failures. Pure evaluation (`evaluate`) is separate from loading, so a benchmark can
feed it synthetic subjects.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

import compliance.checks  # noqa: F401  (registers every check)
from compliance.checks.base import get_check
from compliance.configparse import NetworkConfigFacts, parse_config
from compliance.policy import Policy, Rule
from compliance.subjects import DeviceSubject, SiteSubject
from inventory.models import ConfigSnapshot, Device, DeviceMac, MacSighting, Site, Zone
from inventory.repository import zone_subnets

PLATFORM_BY_VENDOR = {"Cisco": "cisco_ios", "Fortinet": "fortinet"}


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


@dataclass
class Evaluation:
    violations: list[Violation] = field(default_factory=list)
    devices: int = 0
    sites: int = 0
    checks_run: int = 0
    failing_devices: set[int] = field(default_factory=set)


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


# Above this many devices `evaluate` splits the device list across the CPUs (fork start method:
# children inherit the subjects, only their violations come back). Small fleets and tests stay serial.
PARALLEL_MIN_DEVICES = 20_000

_NO_CHECKS: tuple[tuple, tuple] = ((), ())


def _plan(policy: Policy) -> dict[str, tuple[tuple, tuple]]:
    """device class -> (device checks, network_config checks), each (rule id, severity, check
    function, params, verdict or None)."""
    plan = {}
    for device_class, families in _rules_by_family(policy).items():
        plan[device_class] = tuple(
            tuple((rule.id, rule.severity, func, rule.params, get_check(rule.check).verdict) for rule, func in families.get(family, ()))  # type: ignore[union-attr]
            for family in ("device", "network_config")
        )
    return plan  # type: ignore[return-value]


def evaluate(
    devices: Iterable[DeviceSubject],
    sites: Iterable[SiteSubject],
    policy: Policy,
    configs: dict[int, NetworkConfigFacts] | None = None,
    orphan_macs: Iterable[tuple[int, str, frozenset[str]]] = (),
) -> Evaluation:
    """Every failing (rule, subject). `orphan_macs`: (site id, MAC, zones) for MACs that no
    recorded device owns but that were seen at a site.

    From `PARALLEL_MIN_DEVICES` devices on, forked worker processes evaluate parts of the device
    list (same results, same order); smaller fleets are evaluated in this process."""
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
    configs: dict[int, NetworkConfigFacts],
    orphan_macs: Iterable[tuple[int, str, frozenset[str]]],
    large: bool,
) -> Evaluation:
    plan = _plan(policy)
    workers = _workers() if large else 1
    parts = _evaluate_parallel(devices, plan, configs, workers) if workers > 1 else [_evaluate_devices(devices, plan, configs)]
    result = Evaluation()
    for violations, failing, checks_run, count in parts:
        result.violations.extend(violations)
        result.failing_devices |= failing
        result.checks_run += checks_run
        result.devices += count
    add = result.violations.append
    site_rules = [r for r in policy.baseline.rules if r.enabled and get_check(r.check) and get_check(r.check).subject == "site"]
    for site in sites:
        result.sites += 1
        for rule in site_rules:
            outcome = get_check(rule.check).func(site, rule.params)
            result.checks_run += 1
            if outcome.passed is False:
                add(Violation(rule.id, rule.severity, f"site:{site.id}:{rule.id}", None, site.id, outcome.expected, outcome.actual, tuple(outcome.evidence)))
    if any(r.id == "zone.mac_both_zones" and r.enabled for r in policy.baseline.rules):
        rule = policy.rule("zone.mac_both_zones")
        for site_id, mac, zones in orphan_macs:
            if {"party_wan", "internet"} <= zones:
                add(Violation(rule.id, rule.severity, f"site:{site_id}:mac:{mac}", None, site_id, "MAC seen in one zone only", "an unrecorded MAC seen in both zones", (f"MAC {mac} seen on the Party WAN and the Internet network",)))
    return result


_Part = tuple[list, set[int], int, int]  # violations (or their fields), failing device ids, checks run, devices


def _fields(*fields: object) -> tuple:
    """A violation as the tuple of its fields (what a forked child sends back: cheap to pickle)."""
    return fields


def _evaluate_devices(
    devices: Sequence[DeviceSubject],
    plan: dict[str, tuple[tuple, tuple]],
    configs: Mapping[int, NetworkConfigFacts],
    make: Callable[..., Any] = Violation,
) -> _Part:
    """The device and network_config rules on `devices`, in order; `make` builds each violation."""
    violations: list = []
    add = violations.append
    failing: set[int] = set()
    checks_run = 0
    get_plan = plan.get
    get_config = configs.get
    for device in devices:
        device_checks, config_checks = get_plan(device.device_class, _NO_CHECKS)
        key = None  # subject key, once the device fails a rule
        for rule_id, severity, func, params, verdict in device_checks:
            if verdict is not None and verdict(device, params) is not False:
                continue  # passed or not applicable: no need for the texts
            outcome = func(device, params)
            if outcome.passed is False:
                if key is None:
                    key = f"device:{device.id}"
                add(make(rule_id, severity, key, device.id, device.site_id, outcome.expected, outcome.actual, tuple(outcome.evidence)))
        checks_run += len(device_checks)
        if config_checks:
            facts = get_config(device.id)
            if facts is not None:
                for rule_id, severity, func, params, verdict in config_checks:
                    if verdict is not None and verdict(facts, params) is not False:
                        continue
                    outcome = func(facts, params)
                    if outcome.passed is False:
                        if key is None:
                            key = f"device:{device.id}"
                        add(make(rule_id, severity, key, device.id, device.site_id, outcome.expected, outcome.actual, tuple(outcome.evidence)))
                checks_run += len(config_checks)
        if key is not None:
            failing.add(device.id)
    return violations, failing, checks_run, len(devices)


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


# Devices per batch. The processes take batches in turn from a shared counter (so a process
# slowed by other load simply takes fewer) and this one, between its own batches, unpickles and
# builds the violations the workers have sent so far.
_BATCH = 1000


def _evaluate_parallel(devices: Sequence[DeviceSubject], plan: dict[str, tuple[tuple, tuple]], configs: Mapping[int, NetworkConfigFacts], workers: int) -> list[_Part]:
    """Evaluate `devices` batch by batch in this process and `workers - 1` forked children; the
    parts come back in device order. A batch a child could not finish is evaluated here, and if
    a check raises here, everything is evaluated again serially (so it raises as it would there)."""
    batches = [devices[i : i + _BATCH] for i in range(0, len(devices), _BATCH)]
    context = multiprocessing.get_context("fork")
    children: list[_Worker] = []
    try:
        counter = context.Value("q", 0)  # the next batch to take
        for _ in range(workers - 1):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(sender, batches, plan, configs, counter), daemon=True)
            try:
                process.start()
            except OSError:
                receiver.close()
                break
            finally:
                sender.close()
            children.append(_Worker(process, receiver))
    except (OSError, ImportError):  # no shared memory or semaphores, out of file descriptors
        for child in children:
            child.stop()
        return [_evaluate_devices(devices, plan, configs)]
    parts: dict[int, _Part] = {}
    try:
        while (index := _take_batch(counter)) < len(batches):
            parts[index] = _evaluate_devices(batches[index], plan, configs)
            for child in children:
                child.receive(parts, wait=False)
        for child in children:
            child.receive(parts, wait=True)
    except BaseException as exc:
        for child in children:
            child.stop()
        if not isinstance(exc, Exception):  # KeyboardInterrupt and the like
            raise
        return [_evaluate_devices(devices, plan, configs)]
    return [parts[i] if i in parts else _evaluate_devices(batch, plan, configs) for i, batch in enumerate(batches)]


def _take_batch(counter: Any) -> int:
    with counter.get_lock():
        index = counter.value
        counter.value = index + 1
    return index


class _Worker:
    """A forked child evaluating batches, as seen from this process."""

    def __init__(self, process: Any, receiver: Any) -> None:
        self.process = process
        self.receiver = receiver
        self.finished = False

    def receive(self, parts: dict[int, _Part], wait: bool) -> None:
        """Add the batches it has sent to `parts` (all of them, until it finishes, if `wait`)."""
        try:
            while not self.finished and (wait or self.receiver.poll()):
                message = pickle.loads(self.receiver.recv_bytes())
                if message == "done":
                    self.stop(done=True)
                elif message is None:  # a check raised in the child
                    self.stop()
                else:
                    index, (rows, failing, checks_run, count) = message
                    parts[index] = ([Violation(*row) for row in rows], failing, checks_run, count)
        except (EOFError, OSError):
            self.stop()

    def stop(self, done: bool = False) -> None:
        """Close the pipe and reap the child (ended first, unless it has sent everything)."""
        if not self.finished:
            self.finished = True
            self.receiver.close()
            if not done and self.process.is_alive():
                self.process.terminate()
            self.process.join()


def _child(sender: Any, batches: list[Sequence[DeviceSubject]], plan: dict[str, tuple[tuple, tuple]], configs: Mapping[int, NetworkConfigFacts], counter: Any) -> None:
    """In a forked child: evaluate batches taken from `counter`, sending each result back, then
    "done" (or None when a check raised). A thread writes to the pipe so that evaluating never
    waits for the parent to read."""
    outbox: queue.SimpleQueue = queue.SimpleQueue()
    writer = threading.Thread(target=_write_all, args=(sender, outbox))
    writer.start()
    try:
        while (index := _take_batch(counter)) < len(batches):
            part = _evaluate_devices(batches[index], plan, configs, _fields)
            outbox.put(pickle.dumps((index, part), pickle.HIGHEST_PROTOCOL))
        outbox.put(pickle.dumps("done"))
    except BaseException:
        outbox.put(pickle.dumps(None))
    outbox.put(None)
    writer.join()
    sender.close()


def _write_all(sender: Any, outbox: queue.SimpleQueue) -> None:
    while (data := outbox.get()) is not None:
        sender.send_bytes(data)


# -- loading from the inventory -------------------------------------------------------------------


@dataclass
class Fleet:
    devices: list[DeviceSubject]
    sites: list[SiteSubject]
    configs: dict[int, NetworkConfigFacts]
    orphan_macs: list[tuple[int, str, frozenset[str]]]
    config_errors: dict[int, str]


def load_fleet(session: Session, policy: Policy, today: date) -> Fleet:
    from collectors.reconcile import latest_observations

    zone_kind = dict(session.execute(select(Zone.id, Zone.kind)).all())
    subnets = zone_subnets(session)
    observations = latest_observations(session)
    macs_of: dict[int, list[str]] = defaultdict(list)
    owner: dict[str, int] = {}
    for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac)):
        macs_of[device_id].append(mac)
        owner[mac] = device_id
    seen: dict[tuple[int, str], set[str]] = defaultdict(set)  # (site, mac) -> zone kinds
    for site_id, mac, zone_id in session.execute(select(MacSighting.site_id, MacSighting.mac, MacSighting.zone_id)):
        seen[(site_id, mac)].add(zone_kind[zone_id])

    devices: list[DeviceSubject] = []
    in_use: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    platforms: dict[int, str] = {}
    for d in session.execute(select(Device).where(Device.status != "disposed")).scalars():
        own_zone = zone_kind.get(d.zone_id)
        zones_seen: set[str] = set()
        multi: list[str] = []
        for mac in macs_of.get(d.id, ()):
            zones = seen.get((d.site_id, mac), set())
            zones_seen |= zones
            if len(zones | ({own_zone} if own_zone else set())) > 1:
                multi.append(mac)
        devices.append(
            DeviceSubject(
                id=d.id, device_class=d.device_class, site_id=d.site_id, zone=own_zone, status=d.status, today=today,
                policy=policy, vendor=d.vendor, model=d.model, os_name=d.os_name, os_version=d.os_version,
                country_of_origin=d.country_of_origin, purchase_date=d.purchase_date, mgmt_ip=d.mgmt_ip,
                zone_subnets=tuple(subnets.get(d.zone_id, ())), facts=observations.get(d.id, {}),
                zones_seen=frozenset(zones_seen | ({own_zone} if own_zone and zones_seen else set())), seen_macs=tuple(multi),
            )  # fmt: skip
        )
        if d.status == "in_use" and own_zone:
            in_use[d.site_id][(own_zone, d.device_class)] += 1
        platform = d.platform or PLATFORM_BY_VENDOR.get(d.vendor or "")
        if platform:
            platforms[d.id] = platform

    sites = [SiteSubject(id=s.id, code=s.code, in_use=dict(in_use[s.id])) for s in session.execute(select(Site)).scalars()]

    configs: dict[int, NetworkConfigFacts] = {}
    errors: dict[int, str] = {}
    latest = select(func.max(ConfigSnapshot.id)).group_by(ConfigSnapshot.device_id).scalar_subquery()
    for device_id, text in session.execute(select(ConfigSnapshot.device_id, ConfigSnapshot.text).where(ConfigSnapshot.id.in_(latest))):
        platform = platforms.get(device_id)
        if platform is None:
            continue
        try:
            configs[device_id] = parse_config(text, platform)
        except ValueError as exc:
            errors[device_id] = str(exc)
    orphans = [(site_id, mac, frozenset(zones)) for (site_id, mac), zones in seen.items() if mac not in owner and len(zones) > 1]
    return Fleet(devices, sites, configs, orphans, errors)


def evaluate_fleet(session: Session, policy: Policy, today: date) -> tuple[Fleet, Evaluation]:
    fleet = load_fleet(session, policy, today)
    return fleet, evaluate(fleet.devices, fleet.sites, policy, fleet.configs, fleet.orphan_macs)

