"""The endpoint under waitress, as `kiemke serve` runs it: an oversized body is refused, with a
Content-Length or chunked (no Content-Length), concurrent agents are answered, and the server
answers after each refusal."""

from __future__ import annotations

import http.client
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import waitress
from sqlalchemy import func, select
from sqlmodel import Session

from collectors.agents.wire import MAX_BODY_BYTES
from inventory.models import Device
from tests.web.agents.conftest import fixture_bytes

pytestmark = pytest.mark.db


@pytest.fixture
def live(app, agent):
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8, ident="kiemke-test")

    def run() -> None:
        try:
            server.run()
        except (OSError, ValueError):  # its socket closed under the loop at teardown
            pass

    thread = threading.Thread(target=run, name="waitress", daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        server.close()
        thread.join(timeout=5)


def _post(port: int, body, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/inventory", body=body, headers=headers, encode_chunked="Content-Length" not in headers)
        response = connection.getresponse()
        return response.status, response.read()
    except (BrokenPipeError, ConnectionResetError):  # the server may close before all was sent
        return 413, b"connection closed by the server"
    finally:
        connection.close()


def _concurrently(port: int, agent, body: bytes, times: int) -> list[int]:
    headers = agent.auth | {"Content-Length": str(len(body))}
    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(lambda _: _post(port, body, headers)[0], range(times)))


def test_bodies_are_bounded_under_waitress_and_agents_are_answered_together(live, agent, engine):
    # (waitress reads a whole body before the app runs, so the body sent is the one announced)
    too_big = b"{" + b" " * MAX_BODY_BYTES
    announced = _post(live, too_big, agent.auth | {"Content-Length": str(len(too_big))})
    assert announced[0] == 413

    def chunks():
        piece = b"{" + b" " * (1024 * 1024 - 1)
        for _ in range(MAX_BODY_BYTES // len(piece) + 2):
            yield piece
            piece = b" " * (1024 * 1024)

    assert _post(live, chunks(), dict(agent.auth))[0] == 413

    body = zlib.compress(fixture_bytes("windows11_laptop.json"))
    chunked = _post(live, iter([body[:1000], body[1000:]]), dict(agent.auth))
    assert chunked[0] == 200 and zlib.decompress(chunked[1]).startswith(b"{")

    assert _concurrently(live, agent, zlib.compress(fixture_bytes("fusion_prolog.xml")), 12) == [200] * 12
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Device).where(Device.serial == "5B7QKQ3")).scalar_one() == 1


def test_one_machine_reporting_concurrently_is_one_device(live, agent, engine):
    assert _concurrently(live, agent, zlib.compress(fixture_bytes("windows10_desktop.json")), 6) == [200] * 6
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Device)).scalar_one() == 3  # the seed's two and this one
