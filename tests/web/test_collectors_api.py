"""The collectors' API: hello answers the signed assignment (204 when held already), batches are
stored and acknowledged; bad signatures, strangers, revoked collectors and stale hellos refused;
no session or CSRF needed, and a signed-in browser's cookie is no credential."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from collectors.fleet import wire
from collectors.fleet.identity import collector_keys, hub_key, hub_public, verify
from collectors.fleet.registry import revoke
from inventory import db
from inventory.models import Event, ScanRun
from inventory.settings import Settings
from tests.collectors.fleet.hubkit import batch, collector, frame, make_hub, poll_body

pytestmark = pytest.mark.db

HELLO = "KIEMKE-COLLECTOR-HELLO/1"
SITE = "CT1"


@pytest.fixture
def hub(engine, tmp_path):
    return make_hub(engine, tmp_path / "home", site_code=SITE, province_code="PX")


def _hello(keys, *, sent_at=None, held=None) -> bytes:
    document = {"format": "kiemke-collector-hello/1", "collector": keys.name, "sent_at": sent_at or datetime.now(UTC), "status": {"pending": 3, "acked_seq": 0}}
    if held is not None:
        document["assignment_version"] = held
    payload = wire.pack_json(document)
    return wire.Frame(HELLO, keys.name, keys.sign(payload), payload).to_bytes()


def _post(client, path: str, body: bytes):
    return client.post(path, data=body, content_type="application/octet-stream")


def test_hello_answers_the_assignment(client, hub, tmp_path):
    keys = collector(hub, tmp_path / "c1", "c1", "internet", site=SITE)
    response = _post(client, "/api/collector/hello", _hello(keys))
    assert response.status_code == 200, response.get_data(as_text=True)
    assignment = wire.read_frame(response.data, wire.ASSIGNMENT, what="a")
    assert verify(hub_public(hub_key(hub.settings)), assignment.payload, assignment.signature)
    document = json.loads(assignment.payload)
    assert document["collector"] == "c1" and document["zone"] == "internet" and document["site"]["code"] == SITE
    assert json.loads(keys.open_sealed(document["credentials"]))
    assert _post(client, "/api/collector/hello", _hello(keys, held=document["version"])).status_code == 204
    # Stale (an old hello replayed) or from the future: refused.
    assert _post(client, "/api/collector/hello", _hello(keys, sent_at=datetime.now(UTC) - timedelta(minutes=11))).status_code == 403
    assert _post(client, "/api/collector/hello", _hello(keys, sent_at=datetime.now(UTC) + timedelta(minutes=11))).status_code == 403


def test_hello_and_batches_refuse_bad_signatures(client, hub, engine, tmp_path):
    keys = collector(hub, tmp_path / "c1", "c1", "internet", site=SITE)
    stranger = collector_keys(Settings(home=tmp_path / "x"), "stranger")
    assert _post(client, "/api/collector/hello", _hello(stranger)).status_code == 401
    tampered = bytearray(_hello(keys))
    tampered[-3] ^= 1
    assert _post(client, "/api/collector/hello", bytes(tampered)).status_code == 401
    assert _post(client, "/api/collector/batches", frame(stranger, [batch(1, poll_body(["10.2.0.5"]))])).status_code == 401
    assert _post(client, "/api/collector/batches", b"not a frame").status_code == 400
    with db.session_scope(engine) as session:
        revoke(session, "c1", "test")
    assert _post(client, "/api/collector/hello", _hello(keys)).status_code == 403
    assert _post(client, "/api/collector/batches", frame(keys, [batch(1, poll_body(["10.2.0.5"]))])).status_code == 403
    with db.session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(ScanRun)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Event).where(Event.kind == "collector_refused")).scalar_one() == 6


def test_batches_are_stored_once_and_acknowledged(client, hub, engine, tmp_path):
    keys = collector(hub, tmp_path / "c1", "c1", "internet", site=SITE)
    body = frame(keys, [batch(1, poll_body(["10.2.0.5"])), batch(2, poll_body(["10.2.0.6"])), batch(4, poll_body(["10.2.0.7"]))])
    response = _post(client, "/api/collector/batches", body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"acked_seq": 2, "stored": 3, "duplicates": 0, "refused": []}
    again = _post(client, "/api/collector/batches", body).get_json()
    assert again == {"acked_seq": 2, "stored": 0, "duplicates": 3, "refused": []}
    outside = _post(client, "/api/collector/batches", frame(keys, [batch(3, poll_body(["10.1.0.1"]))])).get_json()
    assert outside["acked_seq"] == 4 and [r["seq"] for r in outside["refused"]] == [3]
    with db.session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(ScanRun).where(ScanRun.kind == "collector-poll")).scalar_one() == 3


def test_a_signed_in_browser_is_no_collector(login_as, hub):
    client = login_as("admin")
    assert _post(client, "/api/collector/hello", b"").status_code == 400
    assert client.get("/api/collector/hello").status_code == 405


def test_an_address_that_keeps_being_refused_is_told_to_wait(client, hub, tmp_path):
    from web.collectors_api import MAX_REFUSED

    stranger = collector_keys(Settings(home=tmp_path / "x"), "stranger")
    body = _hello(stranger)
    for _ in range(MAX_REFUSED):
        assert _post(client, "/api/collector/hello", body).status_code == 401
    waited = _post(client, "/api/collector/batches", b"anything")
    assert waited.status_code == 429 and int(waited.headers["Retry-After"]) > 0
