"""A collector's endpoint for its zone's agents (`kiemke collector run --agents-listen HOST:PORT`):
a small WSGI app (the standard library's threaded server) that answers agents exactly as the hub's `POST /inventory`
does (collectors.agents.service.answer_post: the account's basic auth, the protocols, the
storage) and puts every stored report into the outbox for the hub.

The report and its outbox entry are written in one transaction (answer_post's `in_transaction`):
stored and queued, or neither. If that transaction fails, the agent is answered 503 and sends the
report again later. Repeats are queued too: the hub sees the machine is still there.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sqlalchemy import Engine
from sqlmodel import Session

from collectors.agents.service import Reply, answer_post
from collectors.agents.store import Stored
from collectors.agents.wire import MAX_BODY_BYTES, decode_body
from collectors.fleet import outbox

log = logging.getLogger("kiemke.collector")

PATHS = ("/inventory", "/front/inventory.php")


def _text_reply(status: int, text: str, **headers: str) -> Reply:
    return Reply(status, (text + "\n").encode(), "text/plain; charset=utf-8", headers)


def _nothing_more(_stored: Stored, _account: str) -> None:
    """The collector evaluates nothing after a report: the hub does, once it has the batch."""


def relay_answer(engine: Engine, body: bytes, *, authorization: str | None, agent_id: str | None) -> Reply:
    """One agent POST: answered as the hub would, the stored report queued for the hub."""

    def queue_for_hub(session: Session, _stored: Stored, account_name: str) -> None:
        message, _encoding = decode_body(body)
        entry = {"agent_id": agent_id, "account": account_name, "received_at": datetime.now(UTC).isoformat(), "message": base64.b64encode(message).decode()}
        outbox.append(session, "agent", entry)

    try:
        return answer_post(engine, body, authorization=authorization, agent_id=agent_id, report_stored=_nothing_more, in_transaction=queue_for_hub)
    except Exception:  # neither stored nor queued: the agent is told to send again; nothing is lost
        log.exception("agent report not stored nor queued for the hub")
        return _text_reply(503, "not stored: send the report again later", **{"Retry-After": "60"})


def make_app(engine: Engine) -> Callable:
    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path not in PATHS:
            reply = _text_reply(404, "not found")
        elif method != "POST":
            reply = _text_reply(405, "kiemke collector's endpoint agents' inventory URL: agents POST their reports here", Allow="POST")
        else:
            reply = _post(engine, environ)
        headers = [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body))), ("Cache-Control", "no-store"), *reply.headers.items()]
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Answer')}", headers)
        return [reply.body]

    return app


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip


def _post(engine: Engine, environ: dict) -> Reply:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _text_reply(400, "bad Content-Length")
    if length > MAX_BODY_BYTES:
        return _text_reply(413, f"body larger than {MAX_BODY_BYTES} bytes: refused")
    body = environ["wsgi.input"].read(length) if length else b""
    try:
        return relay_answer(engine, body, authorization=environ.get("HTTP_AUTHORIZATION"), agent_id=environ.get("HTTP_GLPI_AGENT_ID"))
    except Exception:  # a database outage: the agent sends again later
        log.exception("agent report not stored")
        return _text_reply(503, "not stored: retry later", **{"Retry-After": "60"})


class _QuietHandler(WSGIRequestHandler):
    timeout = 60  # seconds a connection may stay silent: a stalled client does not hold a thread

    def log_message(self, format: str, *args) -> None:
        pass  # access lines would repeat what the relay logs, and the Authorization never goes there


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve_in_background(engine: Engine, host: str, port: int) -> _ThreadingServer:
    """Serve the agents' endpoint on HOST:PORT in a daemon thread; `.shutdown()` stops it.
    The standard library's threaded WSGI server, not waitress: the web framework and its server
    stay in the web layer (pyproject's import contracts), and an agent's POST needs no more."""
    server = make_server(host, port, make_app(engine), server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="collector-agents", daemon=True).start()
    return server
