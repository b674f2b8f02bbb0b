"""Where endpoint agents report: `POST /inventory`, and `POST /front/inventory.php` for agents
configured for a GLPI server (GLPI Agent, FusionInventory, OCS; see ../shared/agents.md).

The protocol, the basic-auth account check and the storage are collectors.agents.service's; this
module is only the HTTP side of it:
- no session and no CSRF token: an agent has neither. Its credential is the account's HTTP basic
  auth, checked for every request, so a signed-in browser's cookie is worth nothing here;
- a body bound of its own (the app's 2 MiB form limit is too small for a compressed inventory):
  the wire module's, checked on Content-Length before anything is read and again while reading;
- wrong passwords are throttled per (account name, address), like sign-in;
- the evaluation of the reported devices is batched (one evaluation for the reports of a few
  seconds), so an agent's answer never waits for compliance.
The Authorization header and the password are never logged.
"""

from __future__ import annotations

import logging
import math
import random
import time
from contextlib import nullcontext

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from collectors.agents.service import Reply, answer_post, basic_credentials
from collectors.agents.store import Stored
from collectors.agents.wire import MAX_BODY_BYTES
from inventory.changes import ChangeBatcher
from web.access import agent_basic_auth
from web.throttle import LoginThrottle

log = logging.getLogger("kiemke.agents")

bp = Blueprint("agents", __name__)

BATCHER = "kiemke.agent_changes"  # app.extensions key (made in create_app)
THROTTLE = "kiemke.agent_throttle"
# Agents of a commune often share one NAT address and one account: a single misconfigured agent
# should not lock its neighbours out at the login limit (5). The password is 32 random
# characters, so the limit is against noise and load, not against guessing.
AGENT_MAX_FAILURES = 30
AGENT_WINDOW_SECONDS = 15 * 60
CONFLICT_ATTEMPTS = 4


@bp.record_once
def _setup(state) -> None:
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)  # agents carry no CSRF token; nothing a browser sends alone authenticates here
    state.app.extensions.setdefault(THROTTLE, LoginThrottle(AGENT_MAX_FAILURES, AGENT_WINDOW_SECONDS))


def _plain(status: int, text: str, **headers: str) -> Response:
    response = Response(text + "\n", status=status, content_type="text/plain; charset=utf-8")
    response.headers.update(headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def _read_stream(stream, chunk: int = 256 * 1024) -> bytes:
    """Up to MAX_BODY_BYTES + 1 bytes, a chunk at a time: one read of that size would allocate
    and clear the whole bound for every report (a quarter of the server's time under load)."""
    parts: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        part = stream.read(min(chunk, MAX_BODY_BYTES + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _read_body() -> bytes | Response:
    """The request body, at most MAX_BODY_BYTES; a plain-text 4xx answer otherwise."""
    too_large = _plain(413, f"body larger than {MAX_BODY_BYTES} bytes: refused")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return too_large  # refused before a byte is read
    request.max_content_length = MAX_BODY_BYTES  # this view's bound, not the app's form limit
    try:
        body = _read_stream(request.stream)
    except RequestEntityTooLarge:
        return too_large
    except ClientDisconnected:
        return _plain(400, "body shorter than its Content-Length: the upload was cut off")
    if len(body) > MAX_BODY_BYTES:
        return too_large
    return body


def _answer_post(body: bytes, authorization: str | None, agent_id: str | None, report_stored) -> Reply:
    """answer_post, tried again (after a short random pause) when a concurrent report of the same
    machine, or of one sharing its serial or a MAC, got its insert in first: both see no machine,
    both insert it, the second fails on a unique key (or, on PostgreSQL, one of them is ended as a
    deadlock: they wait for each other's MAC and machine rows). Tried again, it finds the machine and
    updates it. A failed attempt commits nothing, and report_stored runs only after a commit.
    Still conflicting after CONFLICT_ATTEMPTS: 503 with Retry-After (agents report again later)."""
    engine = current_app.extensions["kiemke.engine"]
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return answer_post(engine, body, authorization=authorization, agent_id=agent_id, report_stored=report_stored)
        except (IntegrityError, OperationalError) as exc:
            if not _concurrent_conflict(exc):
                raise  # a database outage: the app's 503 (errors.py)
            log.warning("agent report conflicted with a concurrent one (attempt %d of %d): %s", attempt, CONFLICT_ATTEMPTS, type(exc.orig).__name__)
            if attempt < CONFLICT_ATTEMPTS:
                time.sleep(random.uniform(0.05, 0.25) * attempt)  # racers that retry at once would collide again
    return Reply(503, b"conflicting concurrent reports of this machine; retry later\n", "text/plain; charset=utf-8", {"Retry-After": "60"})


def _concurrent_conflict(exc: IntegrityError | OperationalError) -> bool:
    """A unique key another report took first (PostgreSQL 23505, SQLite's message), or PostgreSQL ending one of two reports that
    locked the same rows in opposite orders (deadlock 40P01, serialization failure 40001)."""
    state = getattr(exc.orig, "sqlstate", None)
    if isinstance(exc, IntegrityError):  # a unique key only: any other violation is a bug to see
        return state == "23505" or str(exc.orig).startswith("UNIQUE constraint failed")
    return state in ("40P01", "40001")


def _answer(reply: Reply) -> Response:
    response = Response(reply.body, status=reply.status, content_type=reply.content_type)
    response.headers.update(reply.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/inventory", methods=["GET", "POST"])
@bp.route("/front/inventory.php", methods=["GET", "POST"], endpoint="glpi_inventory")
@agent_basic_auth
def inventory():
    if request.method != "POST":  # a person trying the URL in a browser: say what it is for
        return _plain(405, "kiemke's endpoint agents' inventory URL: agents POST their reports here", Allow="POST")
    authorization = request.headers.get("Authorization")
    user, _password = basic_credentials(authorization)
    throttle: LoginThrottle = current_app.extensions[THROTTLE]
    # No credentials is an agent's normal first request (the 401 makes it send them): not a failure.
    attempt = throttle.acquire(("agent", user.casefold()[:64], request.remote_addr or "")) if user is not None else None
    if attempt is not None and not attempt.allowed:
        wait = math.ceil(attempt.retry_after)
        log.warning("agent report refused: too many wrong passwords for user %r from %s", user[:64], request.remote_addr)
        return _plain(429, f"too many failed sign-ins for this account from this address; retry in {wait} seconds", **{"Retry-After": str(wait)})
    with attempt if attempt is not None else nullcontext():
        body = _read_body()
        if isinstance(body, Response):
            if attempt is not None:
                attempt.release()  # the password was not checked
            return body
        batcher: ChangeBatcher = current_app.extensions[BATCHER]

        def report_stored(stored: Stored, account_name: str) -> None:
            if stored.created or stored.changed:  # as the offline import: a repeat is not re-evaluated
                batcher.add([stored.device_id], actor=f"agent:{account_name}")

        reply = _answer_post(body, authorization, request.headers.get("GLPI-Agent-ID"), report_stored)
        if attempt is not None and reply.status == 401:
            attempt.failed()
        elif attempt is not None:
            attempt.succeeded()
    return _answer(reply)
