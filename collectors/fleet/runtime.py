"""A collector's own life: init, the air-gap files, status, and `collector run` (polls of its
zone, a discovery of its subnets every N polls, an upload after each run and every minute
between, and optionally the agents' endpoint). The collector is a full kiemke with its own
KIEMKE_HOME and database; these functions work on that database only.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from collectors import service
from collectors.fleet import identity, outbox, wire
from collectors.fleet.client import HubClient, SyncResult, batches_frame, check_hub_url, sync
from inventory import db
from inventory.atomic_file import atomic_write
from inventory.crypto import Vault
from inventory.models import CollectorIdentity
from inventory.settings import Settings

log = logging.getLogger("kiemke.collector")

# One air-gap file: compressed bodies well inside the frame's bound, and JSON well inside what the
# hub inflates (wire.MAX_INFLATED_BYTES); what does not fit goes in the next file.
EXPORT_MAX_BYTES = wire.MAX_FRAME_BYTES // 2
EXPORT_MAX_INFLATED = wire.MAX_INFLATED_BYTES // 2
UPLOAD_EVERY_SECONDS = 60


class CollectorError(ValueError):
    """What a collector command cannot do, said in one line."""


@dataclass(frozen=True)
class Initialised:
    name: str
    public_line: str
    fingerprint: str
    hub_url: str | None
    created: bool  # False: the identity was there already (the same name)


def init(settings: Settings, name: str, hub_url: str | None) -> Initialised:
    """Make this KIEMKE_HOME a collector's: the database upgraded, the key pairs made (kept if
    present), the identity row written. Running it again with the same name changes the hub URL
    only; another name is refused (the hub knows this collector by its name and keys)."""
    try:
        identity.check_name(name)
        url = check_hub_url(hub_url) if hub_url else None
    except ValueError as exc:
        raise CollectorError(str(exc)) from None
    settings.ensure_home()
    db.upgrade(settings.db_url)
    settings.credential_key  # noqa: B018 (made now, 0600, rather than at the first assignment)
    keys = identity.collector_keys(settings, name)
    engine = db.engine_for(settings.db_url)
    with db.session_scope(engine) as session:
        me = session.get(CollectorIdentity, outbox.IDENTITY_ID)
        created = me is None
        if me is None:
            session.add(CollectorIdentity(id=outbox.IDENTITY_ID, name=name, hub_url=url))
        elif me.name != name:
            raise CollectorError(f"this database is already collector {me.name!r}; a collector keeps its name (use another KIEMKE_HOME)")
        else:
            me.hub_url = url
    return Initialised(name, keys.public_line(), identity.fingerprint(keys.signing_public), url, created)


def me(engine: Engine) -> CollectorIdentity:
    with db.session_scope(engine) as session:
        found = session.get(CollectorIdentity, outbox.IDENTITY_ID)
    if found is None:
        raise CollectorError("this database is not a collector's: run `kiemke collector init --name NAME (--hub URL | --offline)` first")
    return found


def export(engine: Engine, settings: Settings, out: Path) -> int:
    """Every pending entry in one signed BATCHES file (0600) for the air gap; how many."""
    keys = identity.collector_keys(settings, me(engine).name)
    with db.session_scope(engine) as session:
        batches = outbox.pending(session, EXPORT_MAX_BYTES, max_inflated=EXPORT_MAX_INFLATED)
        status = outbox.status(session)
        left = status["pending"] - len(batches)
    data = batches_frame(keys, batches, status)
    if len(data) > wire.MAX_FRAME_BYTES:
        raise CollectorError("the pending results do not fit in one file; export again after this one is acknowledged")
    with atomic_write(Path(out), "collector export") as temporary:
        temporary.write_bytes(data)
    if left:
        log.warning("%d results did not fit in this file: export again once it is acknowledged", left)
    return len(batches)


@dataclass(frozen=True)
class Acknowledged:
    acked_seq: int
    removed: int
    refused: list[dict]


def take_ack(engine: Engine, path: Path) -> Acknowledged:
    """An acknowledgement file from the hub (`kiemke import-collector --ack-out`): the pinned
    hub key's signature checked, then the entries it names are dropped from the outbox."""
    found = me(engine)
    try:
        frame = wire.read_frame(Path(path).read_bytes(), wire.ACK, what=Path(path).name)
    except wire.WireError as exc:
        raise CollectorError(str(exc)) from None
    if found.hub_key is None:
        raise CollectorError("no hub key is pinned yet: take an assignment first (`kiemke collector assign FILE`)")
    if not identity.verify(found.hub_key, frame.payload, frame.signature):
        raise CollectorError(f"{Path(path).name} is not signed by the hub this collector is pinned to (key {identity.fingerprint(found.hub_key)})")
    try:
        document = wire.unpack_json(frame.payload, wire.ACK_FORMAT, Path(path).name)
    except wire.WireError as exc:
        raise CollectorError(str(exc)) from None
    acked, refused = document.get("acked_seq"), document.get("refused", [])
    if document.get("collector") != found.name:
        raise CollectorError(f"{Path(path).name} acknowledges another collector's results")
    if type(acked) is not int or acked < 0 or not isinstance(refused, list):
        raise CollectorError(f"{Path(path).name} has no acknowledged number")
    with db.session_scope(engine) as session:
        removed = outbox.acknowledge(session, acked)
    return Acknowledged(acked, removed, [r for r in refused if isinstance(r, dict)])


def status(engine: Engine, settings: Settings) -> dict:
    found = me(engine)
    keys = identity.collector_keys(settings, found.name)
    with db.session_scope(engine) as session:
        box = outbox.status(session)
    return {
        "name": found.name, "fingerprint": identity.fingerprint(keys.signing_public), "hub_url": found.hub_url,
        "hub_key": identity.fingerprint(found.hub_key) if found.hub_key else None, "site": found.site_code, "zone": found.zone_kind,
        "assignment_version": found.assignment_version, "outbox": box, "outbox_cap_mb": settings.outbox_max_mb,
        "last_upload_at": found.last_upload_at.isoformat() if found.last_upload_at else None, "last_upload_error": found.last_upload_error,
    }  # fmt: skip


# -- collector run -------------------------------------------------------------------------------


@dataclass
class RunOptions:
    interval_minutes: float = 5.0
    discover_every: int = 12  # polls between discoveries of the assigned subnets; 0: never
    ca_file: str | None = None
    once: bool = False


@dataclass
class CycleResult:
    poll: service.RunResult | None = None
    discover: service.RunResult | None = None
    sync: SyncResult | None = None
    problems: list[str] | None = None


class Collector:
    """`kiemke collector run`: one cycle after another (or one, `--once`)."""

    def __init__(self, engine: Engine, settings: Settings, options: RunOptions, *, collect_options=None) -> None:
        self.engine, self.settings, self.options = engine, settings, options
        self.collect_options = collect_options  # collectors.runner.RunOptions (tests: short timeouts, lab ports)
        self.vault = Vault(settings.credential_key)
        self.cycles = 0
        self._stop = threading.Event()

    def client(self) -> HubClient | None:
        url = me(self.engine).hub_url
        return HubClient(url, self.options.ca_file) if url else None

    def upload(self, *, with_hello: bool = True) -> SyncResult | None:
        client = self.client()
        return sync(self.engine, self.settings, client, with_hello=with_hello) if client else None

    def cycle(self) -> CycleResult:
        result = CycleResult(problems=[])
        result.sync = self.upload()  # a newer assignment first
        found = me(self.engine)
        if not found.site_code:
            result.problems.append("no assignment yet: `kiemke collector assign FILE`, or wait for the hub")
            log.warning("collector %s: %s", found.name, result.problems[-1])
            return result
        where = {"site": found.site_code, "zone": found.zone_kind, "triggered_by": f"collector:{found.name}", "options": self.collect_options}
        try:
            result.poll = service.poll(self.engine, self.vault, **where)
        except service.ServiceError as exc:
            result.problems.append(f"poll: {exc}")
            log.warning("collector %s: poll: %s", found.name, exc)
        every = self.options.discover_every
        if every and self.cycles % every == 0:
            try:
                result.discover = service.discover(self.engine, self.vault, **where, snmp_ports=(self.settings.snmp_port,))
            except service.ServiceError as exc:
                result.problems.append(f"discover: {exc}")
                log.warning("collector %s: discover: %s", found.name, exc)
        self.cycles += 1
        if result.poll or result.discover:
            result.sync = self.upload(with_hello=False) or result.sync
        return result

    def run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            if self.options.once:
                self.cycle()
                return
            _safely(self.cycle, "collector cycle")
            next_cycle = started + self.options.interval_minutes * 60
            while not self._stop.is_set() and time.monotonic() < next_cycle:
                self._stop.wait(min(UPLOAD_EVERY_SECONDS, max(0.0, next_cycle - time.monotonic())))
                if not self._stop.is_set() and time.monotonic() < next_cycle:
                    _safely(lambda: self.upload(with_hello=False), "collector upload")

    def stop(self) -> None:
        self._stop.set()


def _safely(work, what: str) -> None:
    """A collector out in a commune keeps going (a database hiccup, a bug in one run): the error
    is logged and the next cycle or upload tries again."""
    try:
        work()
    except Exception:
        log.exception("%s failed", what)
