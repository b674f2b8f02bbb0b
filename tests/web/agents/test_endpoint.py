"""POST /inventory (and /front/inventory.php) on the web app: basic auth, not the session;
bodies bounded; every refusal a clear status; the device stored and its evaluation batched."""

from __future__ import annotations

import gzip
import json
import logging
import zlib

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from collectors.agents.wire import MAX_BODY_BYTES
from inventory.models import AgentAccount, Device, Observation, ScanRun
from tests.web.agents.conftest import basic, fixture_bytes
from web.agents_endpoint import BATCHER, THROTTLE
from web.throttle import LoginThrottle

pytestmark = pytest.mark.db

COMPRESS = {"zlib": zlib.compress, "gzip": gzip.compress, "plain": lambda data: data}
DECOMPRESS = {"zlib": zlib.decompress, "gzip": gzip.decompress, "plain": lambda data: data}
LAPTOP_SERIAL = "5B7QKQ3"


def _device(engine, serial: str) -> Device | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.execute(select(Device).where(Device.serial == serial)).scalar_one_or_none()


def _agent_facts(engine, device_id: int) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.execute(select(Observation.key, Observation.value).where(Observation.device_id == device_id, Observation.source == "agent"))
        return dict(rows.all())


@pytest.mark.parametrize("encoding", sorted(COMPRESS))
def test_an_inventory_is_stored_answered_in_its_encoding_and_evaluated_in_a_batch(app, client, engine, agent, encoding):
    body = COMPRESS[encoding](fixture_bytes("windows11_laptop.json"))
    response = client.post("/inventory", data=body, headers=agent.auth | {"Content-Type": "application/x-compress-zlib", "GLPI-Agent-ID": "3a1f0e4c-6b7d-4e2a-9c1b-0d2e3f4a5b6c"})
    assert response.status_code == 200, response.data
    assert json.loads(DECOMPRESS[encoding](response.data))["status"] == "ok"
    assert response.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in response.headers  # no session for agents

    device = _device(engine, LAPTOP_SERIAL)
    assert device is not None and device.vendor and device.os_name
    facts = _agent_facts(engine, device.id)
    assert len(facts) > 5 and any("cpu" in key for key in facts)

    batcher = app.extensions[BATCHER]
    assert batcher.pending() == 1  # the device waits for the batch's evaluation, the answer did not
    outcome = batcher.flush()
    assert outcome is not None and outcome.evaluated and not outcome.failed and outcome.devices >= 1
    with Session(engine) as session:
        run = session.execute(select(ScanRun).where(ScanRun.kind == "evaluate").order_by(ScanRun.id.desc())).scalars().first()
        assert run is not None and "agent:s1-agents" in (run.triggered_by or "")
        account = session.execute(select(AgentAccount).where(AgentAccount.name == "s1-agents")).scalar_one()
        assert account.reports == 1 and account.last_used_at is not None

    again = client.post("/inventory", data=body, headers=agent.auth)  # the same report again: nothing to evaluate
    assert again.status_code == 200 and batcher.pending() == 0


def test_the_glpi_path_speaks_the_legacy_xml_protocol(app, client, engine, agent):
    prolog = client.post("/front/inventory.php", data=zlib.compress(fixture_bytes("fusion_prolog.xml")), headers=agent.auth | {"Content-Type": "application/x-compress"})
    assert prolog.status_code == 200
    reply = zlib.decompress(prolog.data)
    assert b"<PROLOG_FREQ>" in reply and b"<RESPONSE>SEND</RESPONSE>" in reply

    inventory = client.post("/front/inventory.php", data=fixture_bytes("fusion_linux_inventory.xml"), headers=agent.auth | {"Content-Type": "application/xml"})
    assert inventory.status_code == 200 and inventory.data.startswith(b"<?xml") and b"<REPLY>" in inventory.data
    device = _device(engine, "PC2ABCDE")
    assert device is not None and _agent_facts(engine, device.id)
    assert app.extensions[BATCHER].flush().evaluated


def test_credentials_are_required_and_a_signed_in_session_is_not_one(login_as, client, engine, agent):
    body = zlib.compress(fixture_bytes("windows11_laptop.json"))
    for path in ("/inventory", "/front/inventory.php"):
        anonymous = client.post(path, data=body)
        assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
    wrong = client.post("/inventory", data=body, headers={"Authorization": basic(agent.account.name, agent.account.password + "x")})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic")
    unknown = client.post("/inventory", data=body, headers={"Authorization": basic("nobody", agent.account.password)})
    assert unknown.status_code == 401

    admin = login_as("admin")  # a browser's session cookie authenticates no agent report
    assert admin.post("/inventory", data=body).status_code == 401
    assert _device(engine, LAPTOP_SERIAL) is None
    # ... and the CSRF token an admin's form would need is not asked of an agent.
    assert admin.post("/inventory", data=body, headers=agent.auth).status_code == 200


def test_get_is_not_allowed(client):
    for path in ("/inventory", "/front/inventory.php"):
        response = client.get(path)
        assert response.status_code == 405 and response.headers["Allow"] == "POST" and b"POST" in response.data


def test_oversized_and_garbage_bodies_are_refused_clearly_and_the_server_answers_after(client, engine, agent):
    too_big = client.post("/inventory", data=b"{" + b" " * MAX_BODY_BYTES, headers=agent.auth)
    assert too_big.status_code == 413 and b"larger than" in too_big.data
    announced = client.post("/inventory", data=b"{}", headers=agent.auth, environ_overrides={"CONTENT_LENGTH": str(MAX_BODY_BYTES + 1)})
    assert announced.status_code == 413
    assert client.post("/inventory", data=b"\x00\x01garbage", headers=agent.auth).status_code == 415
    truncated = zlib.compress(fixture_bytes("windows11_laptop.json"))[:-40]
    assert client.post("/inventory", data=truncated, headers=agent.auth).status_code == 400
    not_json = client.post("/inventory", data=b'{"action": ', headers=agent.auth)
    assert not_json.status_code == 400
    assert _device(engine, LAPTOP_SERIAL) is None

    ok = client.post("/inventory", data=gzip.compress(fixture_bytes("windows11_laptop.json")), headers=agent.auth)
    assert ok.status_code == 200 and _device(engine, LAPTOP_SERIAL) is not None


def test_repeated_wrong_passwords_are_throttled_per_account_and_address(app, client, agent):
    app.extensions[THROTTLE] = LoginThrottle(2, 900)
    body = zlib.compress(fixture_bytes("fusion_prolog.xml"))
    wrong = {"Authorization": basic(agent.account.name, "not-the-password")}
    assert [client.post("/inventory", data=body, headers=wrong).status_code for _ in range(2)] == [401, 401]
    refused = client.post("/inventory", data=body, headers=agent.auth)  # even the right one, for a while
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    elsewhere = client.post("/inventory", data=body, headers=agent.auth, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert elsewhere.status_code == 200
    # Posts without credentials (every agent's first request) are no failures.
    assert all(client.post("/inventory", data=body, environ_base={"REMOTE_ADDR": "10.8.8.8"}).status_code == 401 for _ in range(3))
    assert client.post("/inventory", data=body, headers=agent.auth, environ_base={"REMOTE_ADDR": "10.8.8.8"}).status_code == 200


def test_the_password_and_authorization_header_are_never_logged(client, agent, caplog):
    caplog.set_level(logging.DEBUG)
    body = zlib.compress(fixture_bytes("windows11_laptop.json"))
    header = basic(agent.account.name, agent.account.password)
    client.post("/inventory", data=body, headers={"Authorization": header})
    client.post("/inventory", data=body, headers={"Authorization": basic(agent.account.name, agent.account.password[:-1])})
    client.post("/inventory", data=b"\x00junk", headers={"Authorization": header})
    assert agent.account.password not in caplog.text and agent.account.password[:-1] not in caplog.text
    assert header.split()[1] not in caplog.text


def test_only_a_hash_of_the_password_is_stored(engine, agent):
    with Session(engine) as session:
        account = session.execute(select(AgentAccount).where(AgentAccount.name == agent.account.name)).scalar_one()
        assert agent.account.password not in (account.password_hash or "")
        assert session.execute(select(func.count()).select_from(AgentAccount)).scalar_one() == 1


def test_a_report_that_keeps_conflicting_is_a_503_to_retry_later(client, agent, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    import web.agents_endpoint as endpoint

    calls = []

    def conflicting(*args, **kwargs):
        calls.append(1)
        raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed: device_mac.mac"))

    monkeypatch.setattr(endpoint, "answer_post", conflicting)
    monkeypatch.setattr(endpoint.time, "sleep", lambda seconds: None)
    response = client.post("/inventory", data=zlib.compress(fixture_bytes("windows11_laptop.json")), headers=agent.auth)
    assert response.status_code == 503 and response.headers["Retry-After"] and len(calls) == endpoint.CONFLICT_ATTEMPTS


def test_the_body_is_read_in_chunks_up_to_one_byte_past_the_bound():
    import io

    from web.agents_endpoint import _read_stream

    class Counting(io.BytesIO):
        largest = 0

        def read(self, size=-1):
            Counting.largest = max(Counting.largest, size)
            return super().read(size)

    exact = Counting(b"x" * MAX_BODY_BYTES)
    assert len(_read_stream(exact)) == MAX_BODY_BYTES
    over = Counting(b"x" * (MAX_BODY_BYTES + 5000))
    assert len(_read_stream(over)) == MAX_BODY_BYTES + 1  # enough to tell "too large", no more
    assert _read_stream(Counting(b"")) == b""
    # No read asks for the whole bound at once (werkzeug allocates and clears what is asked).
    assert 0 < Counting.largest <= 256 * 1024
