"""Every path that changes what a rule reads ends in fresh findings, without `kiemke check`:
the CLI import, a scan bundle (import-scan), a poll, adoption, the scheduler's daily run (which
also reopens findings whose waiver expired); a listener that fails leaves the change committed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import Session

from collectors.records import DeviceFacts, Target
from collectors.runner import Outcome
from inventory import changes
from inventory.models import Device, Finding
from tests.inventory.factories import make_province
from web.main import main
from web.recheck import evaluate_change

pytestmark = pytest.mark.db

ORIGIN = "origin.allowed"
TELNET_CONFIG = "hostname r-telnet\nline vty 0 4\n transport input telnet ssh\n"


@pytest.fixture
def subscribed():
    """Compliance listens, as in every kiemke process (main() and create_app subscribe it)."""
    changes.subscribe(evaluate_change)
    return evaluate_change


@pytest.fixture
def failing_listener(subscribed):
    def broken_policy(_engine, _change):
        raise ValueError("policy file broken")

    changes.subscribe(broken_policy)
    yield broken_policy
    changes.unsubscribe(broken_policy)


@pytest.fixture
def province(engine):
    with Session(engine) as session:
        return make_province(session, sites=2)


@pytest.fixture
def vault():
    from cryptography.fernet import Fernet

    from inventory.crypto import Vault

    return Vault(SecretStr(Fernet.generate_key().decode()))


def open_findings(engine, rule_id: str, device_id: int) -> list[Finding]:
    with Session(engine) as session:
        return list(session.execute(select(Finding).where(Finding.rule_id == rule_id, Finding.device_id == device_id, Finding.status == "open")).scalars())


def device_by_serial(engine, serial: str) -> Device:
    with Session(engine) as session:
        return session.execute(select(Device).where(Device.serial == serial)).scalar_one()


def test_subscribing_twice_subscribes_once(subscribed):
    changes.subscribe(subscribed)
    assert changes.listeners().count(subscribed) == 1


def test_the_cli_import_evaluates_what_it_imported(kiemke_env, engine, province, subscribed, tmp_path):
    source = tmp_path / "thiet-bi.csv"
    source.write_text("Mã đơn vị,Loại thiết bị,Tên máy,Số sê-ri,Xuất xứ\nS1,laptop,lt-cn,SN-CN-1,CN\nS1,laptop,lt-vn,SN-VN-1,VN\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "devices", str(source)])
    assert result.exit_code == 0, result.output
    assert "evaluated" in result.output and "new findings" in result.output
    assert len(open_findings(engine, ORIGIN, device_by_serial(engine, "SN-CN-1").id)) == 1
    assert open_findings(engine, ORIGIN, device_by_serial(engine, "SN-VN-1").id) == []


def test_a_failing_listener_leaves_the_import_committed_and_says_so(kiemke_env, engine, province, failing_listener, tmp_path):
    source = tmp_path / "thiet-bi.csv"
    source.write_text("Mã đơn vị,Loại thiết bị,Tên máy,Số sê-ri,Xuất xứ\nS2,desktop,pc-1,SN-PC-1,VN\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "devices", str(source)])
    assert result.exit_code == 0, result.output
    assert "imported: 1 rows read, 1 created" in result.output
    assert "saved; evaluation failed: policy file broken" in result.output
    assert "Traceback" not in result.output
    assert device_by_serial(engine, "SN-PC-1").site_id == province["S2"]["site"]


def test_nothing_touched_tells_nobody(engine, failing_listener):
    assert changes.changed(engine, trigger="import", actor="t").line() is None


def _telnet_poll(monkeypatch, device: Device, site_code: str):
    import collectors.service as service

    target = Target(address=device.mgmt_ip, device_id=device.id, site_code=site_code, zone="party_wan", device_class=device.device_class, platform="cisco_ios")
    facts = DeviceFacts(address=device.mgmt_ip, source="ssh", sys_name="r-telnet", vendor="Cisco", running_config=TELNET_CONFIG)
    monkeypatch.setattr(service, "run_sync", lambda targets, book, options=None: [Outcome(target, (facts,), None, ("ssh",), 5)])


def test_a_poll_evaluates_the_devices_it_reached(engine, province, subscribed, vault, monkeypatch):
    from collectors.credentials import add_credential
    from collectors.service import poll

    with Session(engine, expire_on_commit=False) as session:
        router = Device(device_class="router", site_id=province["S1"]["site"], zone_id=province["S1"]["party_wan"], mgmt_ip="10.1.1.1",
                        serial="R-TELNET", vendor="Cisco", platform="cisco_ios", country_of_origin="US")  # fmt: skip
        session.add(router)
        session.commit()
        add_credential(session, vault, name="ssh", kind="ssh", secrets={"password": "pw-1"}, username="admin", actor="t")
        session.commit()
    _telnet_poll(monkeypatch, router, "S1")
    result = poll(engine, vault, site="S1", triggered_by="scheduler")
    assert result.status == "ok"
    assert result.evaluation and result.evaluation.startswith("evaluated")
    [finding] = open_findings(engine, "net.telnet_off", router.id)
    assert "telnet" in finding.evidence


def test_import_scan_evaluates_what_the_bundle_brought(engine, province, subscribed, tmp_path):
    import json

    from collectors.service import BUNDLE_FORMAT, import_bundle

    bundle = {
        "format": BUNDLE_FORMAT, "bundle_id": "b-triggers-1", "site": "S1", "subnet": "10.1.1.0/24",
        "outcomes": [{
            "target": {"address": "10.1.1.7", "site_code": "S1", "zone": "party_wan"},
            "facts": [{"address": "10.1.1.7", "source": "ssh", "sys_name": "r-field", "vendor": "Cisco", "running_config": TELNET_CONFIG}],
            "error": None, "attempts": ["ssh"], "duration_ms": 5,
        }],
    }  # fmt: skip
    with Session(engine) as session:
        router = Device(device_class="router", site_id=province["S1"]["site"], zone_id=province["S1"]["party_wan"], mgmt_ip="10.1.1.7",
                        serial="R-FIELD", vendor="Cisco", platform="cisco_ios", country_of_origin="US")  # fmt: skip
        session.add(router)
        session.commit()
        router_id = router.id
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = import_bundle(engine, path)
    assert result.evaluation and result.evaluation.startswith("evaluated"), result
    assert len(open_findings(engine, "net.telnet_off", router_id)) == 1


def test_adoption_evaluates_the_device_once_committed(engine, province, subscribed):
    from collectors.adopt import adopt_device

    with Session(engine) as session:
        stranger = Device(device_class="other", site_id=province["S1"]["site"], zone_id=province["S1"]["internet"], mgmt_ip="10.1.2.50",
                          serial="SN-STRANGER", source="discovered", country_of_origin="CN")  # fmt: skip
        session.add(stranger)
        session.commit()
        device_id = stranger.id
    with Session(engine) as session:
        adopt_device(session, device_id, device_class="desktop", hostname="pc-adopted", actor="u_technician")
        assert open_findings(engine, ORIGIN, device_id) == []  # not before the commit
        session.commit()
    assert len(open_findings(engine, ORIGIN, device_id)) == 1


def test_the_daily_job_evaluates_the_fleet_and_reopens_expired_waivers(engine, province, subscribed):
    from collectors.scheduler import daily_evaluation_job

    with Session(engine) as session:
        laptop = Device(device_class="laptop", site_id=province["S2"]["site"], serial="SN-WAIVED", country_of_origin="CN")
        session.add(laptop)
        session.commit()
        device_id = laptop.id
    first = daily_evaluation_job(engine)
    assert first is not None and first["waivers_expired"] == 0
    assert first["snapshots"] == len(province)  # the day's trend point, one per site
    [finding] = open_findings(engine, ORIGIN, device_id)
    with Session(engine) as session:
        row = session.get(Finding, finding.id)
        row.status, row.waiver_reason, row.waived_by, row.waiver_expires = "waived", "thay trong Q1", "u_so", date.today() - timedelta(days=1)
        session.commit()
    second = daily_evaluation_job(engine)
    assert second["waivers_expired"] == 1
    assert [f.id for f in open_findings(engine, ORIGIN, device_id)] == [finding.id]


def test_the_scheduler_has_a_daily_evaluation(engine, vault):
    from apscheduler.schedulers.background import BackgroundScheduler

    from collectors.scheduler import DAILY_EVALUATION_JOB, build_scheduler

    scheduler = build_scheduler(engine, vault, scheduler=BackgroundScheduler(timezone="UTC"))
    job = scheduler.get_job(DAILY_EVALUATION_JOB)
    assert job is not None and job.coalesce and job.max_instances == 1
    assert str(job.trigger).startswith("cron[") and "hour='1'" in str(job.trigger)
