"""A collector's endpoint for its zone's agents: answered as the hub answers them, each stored
report queued for the hub (the message as it arrived, decompressed)."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select

from collectors.agents.accounts import add_account
from collectors.fleet import outbox
from collectors.fleet.agent_relay import serve_in_background
from collectors.fleet.assign_take import take
from inventory import db
from inventory.models import Device
from tests.collectors.fleet.collector_kit import FakeHub, make_collector

pytestmark = pytest.mark.db

FIXTURES = Path(__file__).parents[1] / "agents" / "fixtures"


@pytest.fixture
def endpoint(engine, db_url, tmp_path):
    kit = make_collector(engine, db_url, tmp_path / "collector")
    take(engine, kit.settings, FakeHub().assignment(kit, subnets=["10.0.0.0/8"]))
    with db.session_scope(engine) as session:
        account = add_account(session, "xa01-agents", site="XA01", zone="internet", actor="test")
    server = serve_in_background(engine, "127.0.0.1", 0)
    yield kit, f"http://127.0.0.1:{server.server_port}/inventory", (account.name, account.password)
    server.shutdown()
    server.server_close()


def _post(url: str, body: bytes, user: str | None, password: str | None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/x-compress-zlib"}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_stored_report_is_queued_and_a_refused_one_is_not(endpoint):
    kit, url, (user, password) = endpoint
    message = (FIXTURES / "fusion_linux_inventory.xml").read_bytes()
    assert _post(url, zlib.compress(message), user, "wrong")[0] == 401
    assert _post(url, zlib.compress(message), None, None)[0] == 401
    with db.session_scope(kit.engine) as session:
        assert outbox.pending(session, 10**9) == []
    status, _ = _post(url, zlib.compress(message), user, password)
    assert status == 200
    with db.session_scope(kit.engine) as session:
        [batch] = outbox.pending(session, 10**9)
        assert session.execute(select(Device).where(Device.source != "recorded")).scalars().first() is not None
    assert batch["kind"] == "agent" and batch["seq"] == 1
    assert base64.b64decode(batch["body"]["message"]) == message and batch["body"]["account"] == user
    assert batch["body"]["received_at"]
    # The same report again: stored as a repeat, queued again (the hub sees the machine is there).
    assert _post(url, zlib.compress(message), user, password)[0] == 200
    with db.session_scope(kit.engine) as session:
        assert [b["seq"] for b in outbox.pending(session, 10**9)] == [1, 2]


def test_only_the_inventory_paths_answer(endpoint):
    _kit, url, (user, password) = endpoint
    assert _post(url.replace("/inventory", "/admin"), b"x", user, password)[0] == 404


def test_a_report_that_cannot_be_queued_is_not_stored_either(endpoint, monkeypatch):
    """Stored and queued in one transaction: a failing outbox write leaves no device behind, and
    the agent is told to send again."""
    kit, url, (user, password) = endpoint
    with db.session_scope(kit.engine) as session:
        devices_before = len(session.execute(select(Device.id)).all())

    def full_disk(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(outbox, "append", full_disk)
    message = (FIXTURES / "fusion_linux_inventory.xml").read_bytes()
    status, body = _post(url, zlib.compress(message), user, password)
    assert status == 503 and b"again" in body
    with db.session_scope(kit.engine) as session:
        assert len(session.execute(select(Device.id)).all()) == devices_before
    monkeypatch.undo()
    assert _post(url, zlib.compress(message), user, password)[0] == 200
    with db.session_scope(kit.engine) as session:
        assert [e["kind"] for e in outbox.pending(session, 10**9)] == ["agent"]
        assert len(session.execute(select(Device.id)).all()) == devices_before + 1
