"""A full disk while the web writes a file for the user (an export to its temporary directory) is a
clear 507 page, nothing left behind, and the next page loads; never a 500."""

from __future__ import annotations

import resource
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import Session

from inventory.models import Device

LIMIT = 16 * 1024  # bytes a file written during the request may reach


@contextmanager
def file_size_limit(limit: int):
    """Writes that would grow a file past `limit` fail with EFBIG, as on a full disk (SIGXFSZ
    ignored, so the write returns the error instead of killing the process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_on_a_full_disk_is_a_clear_507(login_as, seed, engine, tmp_path, monkeypatch, fmt):
    with Session(engine) as session:
        switch = session.get(Device, seed.device_id)
        session.add_all(Device(device_class="desktop", site_id=switch.site_id, zone_id=switch.zone_id, hostname=f"pc-{n:04d}-" + "x" * 60, serial=f"FULL-{n:05d}") for n in range(600))
        session.commit()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    client = login_as("security_officer")
    assert len(client.get(f"/devices/export.{fmt}").data) > LIMIT  # with room, the file is bigger than the limit
    with file_size_limit(LIMIT):
        response = client.get(f"/devices/export.{fmt}")
    assert response.status_code == 507
    assert "hết chỗ trống" in response.get_data(as_text=True)
    assert list(Path(scratch).rglob("*")) == []  # no partial file, no temporary directory
    assert client.get("/devices/").status_code == 200
