"""The collector's client against the hub's real web endpoints (web/collectors_api.py) served on
127.0.0.1: hello takes the assignment, an upload lands once and is acknowledged; with the hub
stopped the outbox keeps everything, and once it is back everything lands exactly once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from collectors.fleet import client, outbox, registry, runtime
from inventory import db
from inventory.models import CollectorBatch, ScanRun
from inventory.settings import Settings
from tests.collectors.fleet.hubkit import DEVICES, make_hub, poll_body

pytest.importorskip("web.collectors_api")
pytestmark = pytest.mark.db


class ServedHub:
    def __init__(self, app) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _queue_poll(engine) -> None:
    with db.session_scope(engine) as session:
        outbox.append(session, "poll", poll_body([DEVICES["internet"][0]], serial_of=lambda _a: DEVICES["internet"][2]))


def test_online_through_an_outage(engine, db_url, tmp_path):
    from web import create_app

    hub = make_hub(engine, tmp_path / "hub")
    settings = Settings(home=tmp_path / "collector")
    made = runtime.init(settings, "c-online", "http://127.0.0.1:1")
    collector_engine = db.engine_for(settings.db_url)
    with db.session_scope(engine) as session:
        registry.register(session, made.public_line, "S1", "internet", "test")
    served = ServedHub(create_app(Settings(home=hub.settings.home, database_url=db_url), {"TESTING": True}))
    try:
        with db.session_scope(collector_engine) as session:
            session.get(runtime.CollectorIdentity, 1).hub_url = served.url
        _queue_poll(collector_engine)
        first = client.sync(collector_engine, settings, client.HubClient(served.url))
        assert first.error is None, first.error
        assert first.taken.version == 1 and first.taken.zone == "internet" and first.acked_seq == 1
        # The poll applied on the hub changed the device (its hostname, model): a new version.
        assert client.sync(collector_engine, settings, client.HubClient(served.url)).taken.version == 2
        assert client.sync(collector_engine, settings, client.HubClient(served.url)).taken is None  # 204: held already
        served.stop()

        _queue_poll(collector_engine)
        _queue_poll(collector_engine)
        down = client.sync(collector_engine, settings, client.HubClient(served.url, timeout=5))
        assert down.error and "cannot be reached" in down.error
        with db.session_scope(collector_engine) as session:
            assert outbox.status(session)["pending"] == 2

        served = ServedHub(create_app(Settings(home=hub.settings.home, database_url=db_url), {"TESTING": True}))
        with db.session_scope(collector_engine) as session:
            session.get(runtime.CollectorIdentity, 1).hub_url = served.url
        back = client.sync(collector_engine, settings, client.HubClient(served.url))
        assert back.error is None and back.acked_seq == 3
        with db.session_scope(collector_engine) as session:
            assert outbox.status(session)["pending"] == 0
        with db.session_scope(engine) as session:
            assert sorted(session.execute(select(CollectorBatch.seq)).scalars()) == [1, 2, 3]
            assert session.execute(select(func.count()).select_from(ScanRun).where(ScanRun.kind == "collector-poll")).scalar_one() == 3
    finally:
        served.stop()
        collector_engine.dispose()
