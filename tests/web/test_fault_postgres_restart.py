"""A PostgreSQL restart under a running `kiemke serve` and `kiemke scheduler`.

The test runs its own throw-away PostgreSQL (own data directory, own loopback port; never the
shared test server), so it is not marked `db` and runs once, in the SQLite pass. Requests during
the outage answer 503 quickly; both processes stay up; once PostgreSQL is back the same processes
answer 200 and the scheduler's job records its run again.
"""

from __future__ import annotations

import logging
import socket
import sys
from contextlib import closing
from pathlib import Path

from collectors.scheduler import poll_site_job
from inventory import db
from inventory.crypto import Vault
from inventory.settings import Settings

KIEMKE = str(Path(sys.executable).with_name("kiemke"))
PASSWORD = "mat-khau-thu-123"
OUTAGE_BOUND = 15.0  # seconds a request may take while the database is down


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_scheduled_job_survives_an_unreachable_database(tmp_path, caplog):
    """No server on the port: the job logs one line and returns; no exception escapes to APScheduler."""
    engine = db.make_engine(f"postgresql+psycopg://kiemke@127.0.0.1:{free_port()}/kiemke")
    vault = Vault(Settings(home=tmp_path / "home").credential_key)
    with caplog.at_level(logging.ERROR, logger="kiemke.scheduler"):
        assert poll_site_job(engine, vault, "S1", 60) is None
    assert "site S1: database unavailable, poll skipped until the next run" in caplog.text
    assert "Traceback" not in caplog.text
    engine.dispose()
