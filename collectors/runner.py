"""Collect many devices at once: bounded concurrency, a per-device deadline, one outcome per
device, and no device able to sink the run (nornir's runner, over asyncio).

SNMP runs on the event loop; SSH (netmiko) in worker threads. For each device the credentials
are tried in the book's order until one answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from collectors.credentials import CredentialBook
from collectors.records import AuthenticationFailed, CollectionTimeout, CollectorError, DeviceFacts, Target
from inventory.choices import SSH_COLLECTED_PLATFORMS

SSH_PLATFORMS = frozenset(SSH_COLLECTED_PLATFORMS)


@dataclass(frozen=True)
class Outcome:
    target: Target
    facts: tuple[DeviceFacts, ...] = ()
    error: CollectorError | None = None  # set when no protocol answered
    attempts: tuple[str, ...] = ()  # "snmp lab-v2c: timeout: ..." for every failed try
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.facts)

    @property
    def protocols(self) -> tuple[str, ...]:
        return tuple(f.source for f in self.facts)


@dataclass
class RunOptions:
    snmp_timeout: float = 3.0
    ssh_timeout: float = 30.0
    snmp_concurrency: int = 32
    ssh_concurrency: int = 12
    use_ssh: bool = True
    progress: Callable[[int, int, Outcome], None] | None = None
    collectors: dict = field(default_factory=dict)  # name -> collector; defaults built lazily


def _default_collectors() -> dict:
    from collectors.snmp import SnmpCollector
    from collectors.ssh import SshCollector
    from inventory.settings import Settings

    return {"snmp": SnmpCollector(v3_backend=Settings().snmp_v3_backend), "ssh": SshCollector()}


async def _try_each(collector, target: Target, credentials: Sequence, timeout: float, attempts: list[str]) -> DeviceFacts | CollectorError | None:
    """The first credential that works; else the most telling error (auth beats timeout)."""
    worst: CollectorError | None = None
    for credential in credentials:
        try:
            # The collector bounds itself; the outer wait is a backstop against a stuck library.
            return await asyncio.wait_for(collector.collect(target, credential, timeout), timeout * 3 + 5)
        except TimeoutError:
            error: CollectorError = CollectionTimeout(f"no answer from {target.address} within {timeout * 3 + 5:.0f} s")
        except CollectorError as exc:
            error = exc
        except Exception as exc:  # a collector bug must not sink the run; never echo arguments  # noqa: BLE001
            error = CollectorError(f"{collector.name} collector failed: {type(exc).__name__}")
        attempts.append(f"{collector.name} {credential.name}: {error.kind}: {error.message}")
        if worst is None or isinstance(error, AuthenticationFailed) or worst.kind == "timeout":
            worst = error
    return worst


async def collect_device(target: Target, book: CredentialBook, options: RunOptions, limits: dict[str, asyncio.Semaphore]) -> Outcome:
    collectors = options.collectors
    started = time.monotonic()
    facts: list[DeviceFacts] = []
    attempts: list[str] = []
    errors: list[CollectorError] = []
    plan = [("snmp", book.snmp(target), options.snmp_timeout)]
    if options.use_ssh and target.platform in SSH_PLATFORMS:
        plan.append(("ssh", book.ssh(target), options.ssh_timeout))
    for name, credentials, timeout in plan:
        if not credentials:
            attempts.append(f"{name}: no credential applies to this device")
            continue
        async with limits[name]:
            result = await _try_each(collectors[name], target, credentials, timeout, attempts)
        if isinstance(result, DeviceFacts):
            facts.append(result)
        elif result is not None:
            errors.append(result)
    error = None
    if not facts:
        error = next((e for e in errors if isinstance(e, AuthenticationFailed)), errors[0] if errors else CollectorError("no credential applies to this device"))
    return Outcome(target, tuple(facts), error, tuple(attempts), int((time.monotonic() - started) * 1000))


async def run(targets: Sequence[Target], book: CredentialBook, options: RunOptions | None = None) -> list[Outcome]:
    options = options or RunOptions()
    if not options.collectors:
        options.collectors = _default_collectors()
    limits = {"snmp": asyncio.Semaphore(options.snmp_concurrency), "ssh": asyncio.Semaphore(options.ssh_concurrency)}
    outcomes: list[Outcome] = []

    async def one(target: Target) -> Outcome:
        try:
            outcome = await collect_device(target, book, options, limits)
        except Exception as exc:  # last line of defence: the run goes on  # noqa: BLE001
            outcome = Outcome(target, error=CollectorError(f"unexpected {type(exc).__name__}"))
        outcomes.append(outcome)
        if options.progress:
            options.progress(len(outcomes), len(targets), outcome)
        return outcome

    results = await asyncio.gather(*(one(t) for t in targets))
    return list(results)


def run_sync(targets: Sequence[Target], book: CredentialBook, options: RunOptions | None = None) -> list[Outcome]:
    return asyncio.run(run(targets, book, options))
