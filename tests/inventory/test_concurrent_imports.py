"""Two imports of the same new devices at the same moment (two technicians, or the web and the
CLI): both finish, one creates the devices, the other finds them recorded; never a constraint
error (the soak benchmark saw HTTP 500s from this)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from inventory.io import importer
from inventory.io.importer import import_file
from inventory.models import Device
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db


def _devices_file(tmp_path: Path, name: str) -> Path:
    rows = ["site_code,zone,device_class,hostname,serial,mgmt_ip"]
    rows += [f"S1,internet,desktop,pc-{n},SER-{n:04d},127.1.2.{n + 10}" for n in range(20)]
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_simultaneous_imports_of_the_same_new_devices_both_finish(engine, tmp_path, monkeypatch):
    with Session(engine) as session:
        make_province(session, sites=1)
        session.commit()
    # Hold each import right after it planned, until the other one planned too (or 3 s passed):
    # without a write lock taken before planning, both plan "create" for the same serials.
    planned = threading.Barrier(2, timeout=3)
    plan = importer._DeviceImport.plan

    def plan_then_wait(self, rows, report):
        result = plan(self, rows, report)
        try:
            planned.wait()
        except threading.BrokenBarrierError:
            pass  # the other import waits for this one's commit before it plans: the fix at work
        return result

    monkeypatch.setattr(importer._DeviceImport, "plan", plan_then_wait)
    reports, failures = [], []

    def one_import(name: str) -> None:
        try:
            with Session(engine, expire_on_commit=False) as session:
                report = import_file(session, "devices", _devices_file(tmp_path, name), actor="t")
                session.commit()
                reports.append(report)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=one_import, args=(f"tech{n}.csv",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    assert sorted((r.created, r.unchanged) for r in reports) == [(0, 20), (20, 0)]
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Device)).scalar_one() == 20
