"""Scans in the background without the web: the run id comes from the service as soon as the
`running` row is committed, progress is followed from the job, results and adoption from the
database. The collectors are stand-ins, so nothing goes on the network."""

from __future__ import annotations

import asyncio
import threading

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlmodel import Session, select

from collectors.adopt import AlreadyRecorded, UnknownDevice, adopt_device
from collectors.credentials import add_credential
from collectors.records import Unreachable
from collectors.runner import RunOptions
from collectors.scanjobs import ScanJobs, ScanRequest, scan_progress, scan_results
from collectors.service import ServiceError, failure_text, poll
from inventory.crypto import Vault
from inventory.models import AuditLog, Device, ScanOutcome, ScanRun
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db


class GatedCollector:
    """Answers nothing: each device is unreachable, once the test opens the gate."""

    name = "snmp"

    def __init__(self) -> None:
        self.gate = threading.Event()

    async def collect(self, target, credential, timeout):
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        raise Unreachable(f"{target.address} does not answer")


@pytest.fixture
def vault() -> Vault:
    return Vault(SecretStr(Fernet.generate_key().decode()))


@pytest.fixture
def province(engine, vault):
    with Session(engine) as session:
        ids = make_province(session, sites=2)
        s2 = ids["S2"]
        session.add_all([
            Device(device_class="router", site_id=s2["site"], zone_id=s2["internet"], mgmt_ip="192.0.2.1", serial="R-S2-1", hostname="r1"),
            Device(device_class="firewall", site_id=s2["site"], zone_id=s2["internet"], mgmt_ip="192.0.2.2", serial="FW-S2-1", hostname="fw1"),
        ])  # fmt: skip
        session.commit()
        add_credential(session, vault, name="v2", kind="snmp_v2c", secrets={"community": "c0mmunity-x"}, actor="test")
        session.commit()
    return ids


def test_the_run_id_comes_while_the_devices_are_still_being_collected(engine, vault, province):
    collector = GatedCollector()
    jobs = ScanJobs()
    job = jobs.start(ScanRequest("poll", site="S2"), origin="web:lan", engine=engine, vault=vault,
                     options=lambda: RunOptions(use_ssh=False, collectors={"snmp": collector}))  # fmt: skip
    run_id = job.wait_for_run(10)
    assert run_id is not None and jobs.get(run_id) is job and jobs.running() == [job]
    with Session(engine) as session:
        run = session.get(ScanRun, run_id)
        assert run.status == "running" and run.triggered_by == f"web:lan#{job.token}"
        progress = scan_progress(run, job)
        assert {k: progress[k] for k in ("run_id", "status", "state", "done", "total", "error")} == {
            "run_id": run_id, "status": "running", "state": "running", "done": 0, "total": 2, "error": None,
        }  # fmt: skip
        assert progress["phase"] == "collect" and progress["counts"].get("total", 2) == 2  # polls have no sweep
    collector.gate.set()
    job.thread.join(30)
    assert (job.state, job.status, job.done, job.total, job.error) == ("finished", "failed", 2, 2, None)
    assert jobs.running() == []
    with Session(engine) as session:
        run = session.get(ScanRun, run_id)
        assert scan_progress(run, job)["state"] == "finished" and scan_progress(run, None)["done"] == 2
        results = scan_results(session, run_id)
        assert results.site_code == "S2" and len(results.outcomes) == 2 and results.discovered == []
        assert sorted(o["device"].hostname for o in results.unreachable) == ["fw1", "r1"]
    assert scan_results(Session(engine), 999999) is None


def test_a_scan_that_cannot_start_settles_without_a_run(engine, vault, province):
    jobs = ScanJobs()
    job = jobs.start(ScanRequest("poll", site="NOPE"), origin="web:lan", engine=engine, vault=vault,
                     options=lambda: RunOptions(use_ssh=False, collectors={"snmp": GatedCollector()}))  # fmt: skip
    assert job.wait_for_run(10) is None
    job.thread.join(10)
    assert (job.state, job.error, job.run_id) == ("error", "unknown site 'NOPE'", None)
    with Session(engine) as session:
        assert session.exec(select(ScanRun)).all() == []
    with pytest.raises(ValueError, match="unknown scan kind"):
        jobs.start(ScanRequest("rm -rf"), origin="web:lan", engine=engine, vault=vault)


def test_a_failing_run_started_callback_marks_the_run_as_an_error(engine, vault, province):
    def refuse(run_id: int) -> None:
        raise RuntimeError("listener gone")

    with pytest.raises(RuntimeError, match="listener gone"):
        poll(engine, vault, site="S2", options=RunOptions(use_ssh=False, collectors={"snmp": GatedCollector()}), on_started=refuse)
    with Session(engine) as session:
        (run,) = session.exec(select(ScanRun)).all()
        assert run.status == "error" and run.error == "RuntimeError: listener gone" and run.finished_at is not None


def test_failure_text_shows_the_services_messages_and_only_the_kind_of_anything_else():
    assert failure_text(ServiceError("unknown site 'X'")) == "unknown site 'X'"
    assert failure_text(Unreachable("10.0.0.1 does not answer")) == "unreachable: 10.0.0.1 does not answer"
    assert failure_text(OSError("secret path /root/key")) == "OSError"


@pytest.fixture
def discovered(engine, province):
    with Session(engine) as session:
        device = Device(device_class="other", site_id=province["S1"]["site"], mgmt_ip="10.1.2.77", source="discovered", vendor="Hikvision")
        recorded = Device(device_class="router", site_id=province["S1"]["site"], mgmt_ip="10.1.2.1", serial="R-S1-1")
        session.add_all([device, recorded])
        session.flush()
        run = ScanRun(kind="discover", site_id=province["S1"]["site"], status="ok", triggered_by="test", summary={"devices": 1, "created": 1})
        session.add(run)
        session.flush()
        session.add(ScanOutcome(scan_run_id=run.id, device_id=device.id, address="10.1.2.77", status="ok", protocols="snmp", created_device=True))
        session.commit()
        return run.id, device.id, recorded.id


def test_adopting_a_discovered_device_records_it_once(engine, discovered):
    run_id, device_id, recorded_id = discovered
    with Session(engine) as session:
        assert [o["device"].id for o in scan_results(session, run_id).discovered] == [device_id]
        device = adopt_device(session, device_id, device_class="printer", hostname="  IN-01 ", actor="lan")
        session.commit()
        assert (device.source, device.device_class, device.hostname) == ("recorded", "printer", "IN-01")
        entry = session.exec(select(AuditLog).where(AuditLog.action == "adopt")).one()
        assert (entry.actor, entry.entity, entry.entity_id) == ("lan", "device", str(device_id))
        assert entry.before["source"] == "discovered" and entry.after["source"] == "recorded"
        assert scan_results(session, run_id).discovered == []
        with pytest.raises(AlreadyRecorded, match=f"#{device_id} is already"):
            adopt_device(session, device_id, device_class="laptop", hostname=None, actor="lan")
        with pytest.raises(AlreadyRecorded, match=f"#{recorded_id} is already"):
            adopt_device(session, recorded_id, device_class="laptop", hostname=None, actor="lan")
        with pytest.raises(UnknownDevice, match="no device #999999"):
            adopt_device(session, 999999, device_class="laptop", hostname=None, actor="lan")
        assert session.get(Device, device_id).device_class == "printer"


def test_adopting_without_a_hostname_keeps_the_one_found(engine, discovered):
    _run_id, device_id, _recorded = discovered
    with Session(engine) as session:
        session.get(Device, device_id).hostname = "cam-77"
        session.commit()
        assert adopt_device(session, device_id, device_class="printer", hostname="   ", actor="lan").hostname == "cam-77"
