"""Tell whoever listens that committed data changed: the devices and sites a write touched.

Every path that changes what a compliance rule reads (imports, polls, discoveries, scan bundles,
adoption) calls `changed(...)` once its change is committed. The layers above subscribe (the
composition root subscribes compliance's evaluation), so the inventory layer needs to know
nothing about them. Listeners run synchronously: a caller reports done only after they did.

A listener that raises never undoes the committed change and never reaches the user as a
traceback: it is logged, and the caller reads "saved; evaluation failed: ..." from the outcome.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import Session

log = logging.getLogger("kiemke.changes")

MAX_REASON = 200
QUEUED = "queued"  # a listener's summary key: how many jobs it enqueued instead of acting here
COVERED = "covered"  # ... and how many of its jobs were already waiting in the queue (they cover this change)


@dataclass(frozen=True)
class Change:
    device_ids: frozenset[int]
    site_ids: frozenset[int]
    trigger: str  # what wrote: "import", "poll", "discover", "import-scan", "adopt", ...
    actor: str  # who: a username, "cli:<user>", "scheduler"


# A listener returns a summary of what it did (an evaluation: devices, opened, reopened, resolved).
Listener = Callable[[Engine, Change], Mapping[str, Any] | None]

_listeners: list[Listener] = []
_lock = threading.Lock()


def subscribe(listener: Listener) -> None:
    """Add `listener`; subscribing the same one again changes nothing (once per process)."""
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def listeners() -> tuple[Listener, ...]:
    with _lock:
        return tuple(_listeners)


@dataclass
class ChangeOutcome:
    """What the listeners made of one change: their summaries and their failures."""

    summaries: list[Mapping[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    @property
    def evaluated(self) -> bool:
        return any(QUEUED not in s for s in self.summaries)

    @property
    def queued(self) -> int:
        """Jobs a listener enqueued to do its work elsewhere (the evaluation, on `kiemke worker`)."""
        return self._total(QUEUED)

    def _total(self, *keys: str) -> int:
        return sum(int(s.get(key) or 0) for s in self.summaries for key in keys)

    @property
    def devices(self) -> int:
        return self._total("devices")

    @property
    def new_findings(self) -> int:
        return self._total("opened", "reopened")

    @property
    def resolved(self) -> int:
        return self._total("resolved")

    def line(self) -> str | None:
        """One line for the user, e.g. "evaluated 3 devices: 1 new findings, 0 resolved"; None
        when nobody listened (nothing to say)."""
        if self.errors:
            return "saved; evaluation failed: " + "; ".join(self.errors)
        if not self.summaries:
            return None
        parts = [f"evaluated {self.devices} devices: {self.new_findings} new findings, {self.resolved} resolved"] if self.evaluated else []
        if self.queued:
            parts.append(f"evaluation queued for the workers ({self.queued} job{'s' if self.queued != 1 else ''})")
        if covered := self._total(COVERED):
            parts.append(f"{covered} evaluation{'s' if covered != 1 else ''} already waiting for the workers cover{'s' if covered == 1 else ''} it")
        return "; ".join(parts)


def _reason(exc: BaseException) -> str:
    # A value error is the listener's own message (a bad policy file, a refused scope); any other
    # error only by its kind: a database or library message may quote SQL, addresses or worse.
    text = str(exc) if isinstance(exc, ValueError) and str(exc) else type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[:MAX_REASON] + "…"


def _change(device_ids: Collection[int], site_ids: Collection[int], trigger: str, actor: str) -> Change:
    return Change(frozenset(int(i) for i in device_ids if i is not None), frozenset(int(i) for i in site_ids if i is not None), trigger, actor)


def changed(engine: Engine, *, device_ids: Collection[int] = (), site_ids: Collection[int] = (), trigger: str, actor: str) -> ChangeOutcome:
    """Call every listener with what changed; call only AFTER the change is committed. Nothing
    touched, nothing to tell."""
    return _tell(engine, _change(device_ids, site_ids, trigger, actor))


def _tell(engine: Engine, change: Change, told: Mapping[Listener, Mapping[str, Any]] | None = None) -> ChangeOutcome:
    """`told`: the listeners that already acted inside the change's transaction, with their summaries."""
    outcome = ChangeOutcome()
    if not change.device_ids and not change.site_ids:
        return outcome
    told = told or {}
    for listener in listeners():
        if listener in told:
            outcome.summaries.append(told[listener])
            continue
        try:
            summary = listener(engine, change)
        except Exception as exc:  # the change stays committed whatever a listener does
            log.exception("after %s by %s: listener %s failed", change.trigger, change.actor, getattr(listener, "__name__", listener))
            outcome.errors.append(_reason(exc))
            continue
        if summary is not None:
            outcome.summaries.append(summary)
    return outcome


_PENDING = "kiemke.changes.pending"
_DONE = "kiemke.changes.done"


@dataclass
class _Pending:
    change: Change
    told: dict[Listener, Mapping[str, Any]] = field(default_factory=dict)  # listeners that acted in the transaction


def changed_on_commit(session: Session, *, device_ids: Collection[int] = (), site_ids: Collection[int] = (), trigger: str, actor: str) -> None:
    """Call `changed(...)` once `session` commits (for callers that commit a session they were
    handed, e.g. a web view); a rollback drops it. The outcome is logged, and kept for the caller
    to show: `committed_outcomes(session)`.

    A listener with an `in_transaction(session, change)` method is first offered the change just
    before the commit, inside the transaction (e.g. to enqueue its work there: a rolled-back
    change leaves no job, a committed one never lacks it). A summary back means it acted there
    and is not called again after the commit; None, that it waits for the commit as usual. It
    raising fails the commit: the change is not committed without what it had to do."""
    session.info.setdefault(_PENDING, []).append(_Pending(_change(device_ids, site_ids, trigger, actor)))
    if not event.contains(session, "after_commit", _after_commit):
        event.listen(session, "before_commit", _before_commit)
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_rollback)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the outer transaction may still roll back
        return
    for pending in session.info.get(_PENDING, []):
        if not pending.change.device_ids and not pending.change.site_ids:
            continue
        for listener in listeners():
            hook = getattr(listener, "in_transaction", None)
            if hook is None or listener in pending.told:
                continue
            summary = hook(session, pending.change)
            if summary is not None:
                pending.told[listener] = summary


def _after_commit(session: Session) -> None:
    engine = session.get_bind()
    for pending in session.info.pop(_PENDING, []):
        outcome = _tell(engine, pending.change, pending.told)
        session.info.setdefault(_DONE, []).append(outcome)
        line = outcome.line()
        if line:
            log.info("after %s by %s: %s", pending.change.trigger, pending.change.actor, line)


def committed_outcomes(session: Session) -> list[ChangeOutcome]:
    """The outcomes of the changes `session`'s last commits announced (taken: asked once)."""
    return session.info.pop(_DONE, [])


def _after_rollback(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:  # a savepoint rolled back keeps the outer change pending
        session.info.pop(_PENDING, None)


class ChangeBatcher:
    """Changes announced within `delay` seconds of each other, told as one change from a thread
    of their own: for a source that writes one device at a time and often (endpoint agents
    posting the province's daily inventories), so that one evaluation covers many reports and
    no writer waits for it. `flush()` tells what is pending now (tests, shutdown)."""

    def __init__(self, engine: Engine, *, trigger: str, delay: float = 2.0) -> None:
        self.engine = engine
        self.trigger = trigger
        self.delay = delay
        self._pending: set[int] = set()
        self._actors: set[str] = set()
        self._wake = threading.Condition()
        self._telling = threading.Lock()  # one tell at a time: a flush waits for the thread's
        self._thread: threading.Thread | None = None
        self.last: ChangeOutcome | None = None

    def add(self, device_ids: Collection[int], *, actor: str) -> None:
        with self._wake:
            self._pending.update(device_ids)
            self._actors.add(actor)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=f"kiemke-{self.trigger}-changes", daemon=True)
                self._thread.start()
            self._wake.notify()

    def pending(self) -> int:
        with self._wake:
            return len(self._pending)

    def flush(self) -> ChangeOutcome | None:
        with self._telling:
            with self._wake:
                devices, actors = self._pending, self._actors
                self._pending, self._actors = set(), set()
            if not devices:
                return None
            actor = ", ".join(sorted(actors))
            self.last = changed(self.engine, device_ids=devices, trigger=self.trigger, actor=actor if len(actor) <= 100 else actor[:99] + "…")
            return self.last

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending:
                    if not self._wake.wait(timeout=60):
                        self._thread = None  # idle for a minute: the next add starts another
                        return
            time.sleep(self.delay)  # let the reports of the next seconds join this one
            try:
                self.flush()
            except Exception:  # never lose the thread to one failure; `changed` logs listeners' own
                log.exception("telling the changes of %s failed", self.trigger)
