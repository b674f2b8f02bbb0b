"""Where collectors talk to the hub over HTTPS (collectors/fleet/client.py is the other end):

- `POST /api/collector/hello`: a frame signed by the collector (its outbox status); the answer is
  its current assignment, signed by the hub (204 when it holds that version already). A hello
  whose sent_at is more than 10 minutes off the hub's clock is refused (an old one replayed);
- `POST /api/collector/batches`: a batches frame, the same bytes as an air-gap file; the answer is
  JSON {"acked_seq", "stored", "duplicates", "refused": [{"seq", "reason"}]}.

No session and no CSRF token: a collector has neither. Every request is authenticated by its
signature (collectors.fleet.receive.authenticate: unknown or revoked collector, or a signature
that is not its registered key's → 401/403 and the security event collector_refused), so a
signed-in browser's cookie is worth nothing here. Bodies have a bound of their own.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from collectors.fleet import wire
from collectors.fleet.assign_give import issue
from collectors.fleet.receive import Refused, authenticate, contact, receive
from inventory import db
from inventory.models import Collector
from web.access import collector_signature
from web.throttle import Attempt, LoginThrottle

log = logging.getLogger("kiemke.collectors.fleet")

bp = Blueprint("collectors_api", __name__, url_prefix="/api/collector")

HELLO = "KIEMKE-COLLECTOR-HELLO/1"  # as collectors/fleet/client.py sends it
HELLO_FORMAT = "kiemke-collector-hello/1"
MAX_HELLO_BYTES = 1024 * 1024
MAX_BATCHES_BYTES = wire.MAX_FRAME_BYTES  # 256 MiB
CLOCK_SKEW = timedelta(minutes=10)
THROTTLE = "kiemke.collector_throttle"
# Refused requests (not signed by an active collector's key) per address: each one is a security
# event, so an address that keeps sending them is told to wait instead of filling the feed.
MAX_REFUSED = 20
WINDOW_SECONDS = 15 * 60


@bp.record_once
def _setup(state) -> None:
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)  # collectors carry no CSRF token; only the signature authenticates here
    state.app.extensions.setdefault(THROTTLE, LoginThrottle(MAX_REFUSED, WINDOW_SECONDS))


def _problem(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _read_body(limit: int) -> bytes | Response:
    too_large = _problem(413, f"body larger than {limit} bytes: refused")
    if request.content_length is not None and request.content_length > limit:
        return too_large  # refused before a byte is read
    request.max_content_length = limit  # this view's bound, not the app's form limit
    parts: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            part = request.stream.read(min(1024 * 1024, limit + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
    except RequestEntityTooLarge:
        return too_large
    except ClientDisconnected:
        return _problem(400, "body shorter than its Content-Length: the upload was cut off")
    return too_large if size > limit else b"".join(parts)


def _engine():
    return current_app.extensions["kiemke.engine"]


def _attempt() -> Attempt | Response:
    """This address's turn, or 429 while it has too many refused requests behind it."""
    attempt = current_app.extensions[THROTTLE].acquire(("collector", request.remote_addr or ""))
    if not attempt.allowed:
        wait = math.ceil(attempt.retry_after)
        response = _problem(429, f"too many refused requests from this address; retry in {wait} seconds")
        response.headers["Retry-After"] = str(wait)
        return response
    return attempt


@bp.route("/hello", methods=["POST"])
@collector_signature
def hello():
    attempt = _attempt()
    if isinstance(attempt, Response):
        return attempt
    with attempt:
        body = _read_body(MAX_HELLO_BYTES)
        if isinstance(body, Response):
            attempt.release()
            return body
        try:
            frame, collector = authenticate(_engine(), body, HELLO, via="https", what="collector hello")
        except Refused as exc:
            attempt.failed()
            return _problem(exc.status, str(exc))
        attempt.succeeded()
    try:
        document = wire.unpack_json(frame.payload, HELLO_FORMAT, "collector hello")
        sent_at = wire.parse_time(document.get("sent_at"), "sent_at")
    except wire.WireError as exc:
        return _problem(400, str(exc))
    if document.get("collector") != collector.name:
        return _problem(400, "the hello names another collector than the one that signed it")
    if abs(datetime.now(UTC) - sent_at) > CLOCK_SKEW:
        log.warning("collector %s: hello refused, sent_at %s is more than %s off the hub's clock", collector.name, sent_at.isoformat(), CLOCK_SKEW)
        return _problem(403, "sent_at is more than 10 minutes off the hub's clock (an old hello, or the collector's clock is wrong)")
    settings = current_app.extensions["kiemke.settings"]
    with db.session_scope(_engine()) as session:
        row = session.get(Collector, collector.id)
        contact(row, document.get("status") if isinstance(document.get("status"), dict) else {}, "https")
        issued = issue(session, settings, current_app.extensions["kiemke.vault"], row, actor=f"collector:{collector.name}")
    held = document.get("assignment_version")
    if type(held) is int and held == issued.version:
        return Response(status=204, headers={"Cache-Control": "no-store"})
    return Response(issued.frame, status=200, content_type="application/octet-stream", headers={"Cache-Control": "no-store"})


@bp.route("/batches", methods=["POST"])
@collector_signature
def batches():
    attempt = _attempt()
    if isinstance(attempt, Response):
        return attempt
    with attempt:
        body = _read_body(MAX_BATCHES_BYTES)
        if isinstance(body, Response):
            attempt.release()
            return body
        try:
            receipt = receive(_engine(), current_app.extensions["kiemke.settings"], body, via="https", actor="https")
        except Refused as exc:
            attempt.failed()
            return _problem(exc.status, str(exc))
        attempt.succeeded()
    response = jsonify(receipt.as_dict())
    response.headers["Cache-Control"] = "no-store"
    return response
