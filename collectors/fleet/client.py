"""A collector talking to its hub over HTTPS (collector side; the hub answers in
web/collectors_api.py).

- hello: `POST {hub}/api/collector/hello` with a frame signed by the collector (its name and the
  state of its outbox); the hub answers its current assignment (an ASSIGNMENT frame, taken when
  newer than the one held) or 204 while it has none.
- upload: `POST {hub}/api/collector/batches` with the outbox's pending entries (BATCHES frames of
  at most ~8 MiB, signed); the hub answers JSON {"acked_seq": N, "refused": [{"seq", "reason"}]}
  and the collector drops what the hub acknowledged.

HTTPS with the system's CAs or a CA file; plain http only to a loopback address (tests, a hub on
the same machine). No proxy from the environment and no redirects: a collector talks to the URL
it was given and nothing else. A hub that cannot be reached or fails is one log line and
`last_upload_error`; the outbox is left as it was. No secret is ever logged: the URL is shown as
its host only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import Engine

from collectors.fleet import identity, outbox, wire
from collectors.fleet.assign_take import AssignmentError, Taken, take
from inventory import db
from inventory.models import CollectorIdentity, utcnow
from inventory.settings import Settings

log = logging.getLogger("kiemke.collector")

HELLO = "KIEMKE-COLLECTOR-HELLO/1"
HELLO_FORMAT = "kiemke-collector-hello/1"
HELLO_PATH = "/api/collector/hello"
BATCHES_PATH = "/api/collector/batches"
REQUEST_BYTES = 8 * 1024 * 1024  # compressed bodies per upload request
REQUEST_INFLATED = 128 * 1024 * 1024  # and their JSON: well inside what the hub inflates
TIMEOUT_SECONDS = 60.0
MAX_JSON_ANSWER = 1024 * 1024


class HubError(Exception):
    """The hub could not be reached, or answered something else than expected (one line)."""


class HubUnreachable(HubError):
    """No answer at all: nothing else is tried until the next upload."""


class AssignmentRefused(HubError):
    """The hub answered an assignment this collector does not take: its results still go up."""


def check_hub_url(url: str) -> str:
    """The hub's base URL, or ValueError: https, or http to a loopback address only; no user or
    password in it (it would end up in logs and in the database)."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("the hub URL must be https://HOST[:PORT][/PATH]")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("the hub URL must not carry a user, password, query or fragment")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError("plain http is allowed only to a loopback address (127.0.0.0/8, ::1); use https")
    return url.strip().rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def hub_label(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ARG002 (a redirect is an error here)
        return None


@dataclass
class HubClient:
    url: str
    ca_file: str | None = None
    timeout: float = TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        self.url = check_hub_url(self.url)
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect(), urllib.request.HTTPSHandler(context=context))

    def post(self, path: str, body: bytes, limit: int) -> tuple[int, bytes]:
        # The URL is https, or http to loopback (check_hub_url): never file: or another scheme.
        request = urllib.request.Request(self.url + path, data=body, method="POST", headers={"Content-Type": "application/octet-stream"})  # noqa: S310
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, data = response.status, response.read(limit + 1)
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace").strip().splitlines()
            raise HubError(f"the hub answered {exc.code}{': ' + detail[0][:200] if detail else ''}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise HubUnreachable(f"the hub at {hub_label(self.url)} cannot be reached: {type(reason).__name__}: {str(reason)[:200]}") from None
        if len(data) > limit:
            raise HubError("the hub's answer is larger than expected")
        return status, data


def batches_frame(keys: identity.CollectorKeys, batches: list[dict], status: dict) -> bytes:
    """A signed BATCHES frame (the upload's body and the air-gap file)."""
    payload = wire.pack_batches(keys.name, batches, status, datetime.now(UTC))
    return wire.Frame(wire.BATCHES, keys.name, keys.sign(payload), payload).to_bytes()


def hello_frame(keys: identity.CollectorKeys, status: dict) -> bytes:
    document = {"format": HELLO_FORMAT, "collector": keys.name, "sent_at": datetime.now(UTC), "status": status, "assignment_version": status.get("assignment_version", 0)}
    payload = wire.pack_json(document)
    return wire.Frame(HELLO, keys.name, keys.sign(payload), payload).to_bytes()


@dataclass
class SyncResult:
    taken: Taken | None = None
    sent: int = 0
    acked_seq: int | None = None
    refused: list[dict] = field(default_factory=list)
    error: str | None = None


def _me(engine: Engine) -> CollectorIdentity:
    with db.session_scope(engine) as session:
        me = session.get(CollectorIdentity, outbox.IDENTITY_ID)
    if me is None:
        raise HubError("this database is not a collector's: run `kiemke collector init` first")
    if not me.hub_url:
        raise HubError("this collector is offline (no hub URL): use `kiemke collector export`")
    return me


def hello(engine: Engine, settings: Settings, client: HubClient) -> Taken | None:
    me = _me(engine)
    keys = identity.collector_keys(settings, me.name)
    with db.session_scope(engine) as session:
        status = outbox.status(session)
    code, answer = client.post(HELLO_PATH, hello_frame(keys, status), wire.MAX_FRAME_BYTES)
    if code == 204 or not answer:
        return None
    try:
        return take(engine, settings, answer)
    except AssignmentError as exc:
        raise AssignmentRefused(f"the hub's assignment was refused: {exc}") from None


def upload(engine: Engine, settings: Settings, client: HubClient, result: SyncResult, *, request_bytes: int = REQUEST_BYTES) -> None:
    """Send the pending entries, a request at a time, until none is left or the hub stops
    acknowledging more (a refusal it wants looked at, or a gap on its side)."""
    me = _me(engine)
    keys = identity.collector_keys(settings, me.name)
    while True:
        with db.session_scope(engine) as session:
            batches = outbox.pending(session, request_bytes, max_inflated=REQUEST_INFLATED)
            status = outbox.status(session)
        if not batches:
            return
        code, answer = client.post(BATCHES_PATH, batches_frame(keys, batches, status), MAX_JSON_ANSWER)
        acked, refused = _acknowledgement(answer)
        result.sent += len(batches)
        result.refused += refused
        for item in refused:
            log.warning("the hub refused batch %s: %s", item.get("seq"), str(item.get("reason"))[:200])
        with db.session_scope(engine) as session:
            outbox.acknowledge(session, acked)
        result.acked_seq = acked
        if acked < batches[-1]["seq"]:
            return  # the hub did not take all of it: try again at the next upload


def _acknowledgement(answer: bytes) -> tuple[int, list[dict]]:
    try:
        data = json.loads(answer)
    except (UnicodeDecodeError, ValueError):
        raise HubError("the hub's answer to the batches is not JSON") from None
    acked = data.get("acked_seq") if isinstance(data, dict) else None
    refused = data.get("refused", []) if isinstance(data, dict) else []
    if type(acked) is not int or acked < 0 or not isinstance(refused, list):
        raise HubError("the hub's answer to the batches has no acknowledged number")
    return acked, [r for r in refused if isinstance(r, dict)]


def sync(engine: Engine, settings: Settings, client: HubClient, *, with_hello: bool = True) -> SyncResult:
    """Hello (the assignment if newer) and upload. A failure is one log line and the collector's
    `last_upload_error`; the outbox keeps everything not acknowledged."""
    result = SyncResult()
    try:
        if with_hello:
            try:
                result.taken = hello(engine, settings, client)
            except AssignmentRefused as exc:  # the hub is there: the results still go up
                result.error = str(exc)
                log.warning("collector hello: %s", exc)
            if result.taken is not None and not result.taken.already:
                log.info("assignment version %d taken from the hub: site %s, zone %s, %d devices", result.taken.version, result.taken.site, result.taken.zone, result.taken.devices)
        upload(engine, settings, client, result)
    except HubError as exc:
        result.error = str(exc) if result.error is None else f"{result.error}; {exc}"
        log.warning("collector upload: %s", exc)
    with db.session_scope(engine) as session:
        me = session.get(CollectorIdentity, outbox.IDENTITY_ID)
        if me is not None:
            me.last_upload_error = result.error
            if result.error is None:
                me.last_upload_at = utcnow()
    return result
