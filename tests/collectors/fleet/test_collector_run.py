"""`collector run` against a lab of its own (snmpsim agents on 127.247.1.x): a poll of the
assigned zone on the collector's database writes exactly one outbox entry, in the run's own
transaction, holding the outcomes the hub will apply."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from collectors.fleet import outbox
from collectors.fleet.assign_take import take
from collectors.fleet.runtime import Collector, RunOptions
from collectors.lab import spec
from collectors.outcome_json import outcome_from_json
from collectors.runner import RunOptions as CollectOptions
from inventory import db
from inventory.models import OutboxEntry, ScanRun
from tests.collectors.fleet.collector_kit import FakeHub, credential, make_collector, snmp_lab
from tests.lab import snmp_devices as kinds
from tests.lab.support import run_port

pytestmark = [pytest.mark.db, pytest.mark.lab]

NETWORK = "127.247.1"
PORT = run_port(31)
COMMUNITY = "Kk-collector-ro"


def _access(n: int) -> spec.SnmpAccess:
    return spec.SnmpAccess(PORT, COMMUNITY, f"kiemke{n}", f"auth-secret-{n}x", f"priv-secret-{n}x")


DEVICES = [
    kinds.lab_device(1, NETWORK, _access(1), key="col1", interfaces=kinds.SWITCH_INTERFACES[:4]),
    kinds.lab_device(2, NETWORK, _access(2), key="col2", device_class="firewall", hostname="xa01-fw2", serial="FGT100F0002", **kinds.FORTIGATE_100F),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with snmp_lab(DEVICES, tmp_path_factory.mktemp("collector-lab")) as running:
        yield running


@pytest.fixture
def assigned(engine, db_url, tmp_path):
    kit = make_collector(engine, db_url, tmp_path / "collector")
    devices = [{"address": d.address, "hostname": d.hostname, "device_class": d.device_class, "serial": d.serial, "vendor": d.vendor} for d in DEVICES]
    lab_v2c = credential("lab-v2c", port=PORT, secrets={"community": COMMUNITY})
    take(engine, kit.settings, FakeHub().assignment(kit, zone="party_wan", subnets=[f"{NETWORK}.0/24"], devices=devices, credentials=[lab_v2c]))
    return kit


def _collector(kit) -> Collector:
    return Collector(kit.engine, kit.settings, RunOptions(once=True, discover_every=0), collect_options=CollectOptions(use_ssh=False, snmp_timeout=3))


def test_a_poll_on_the_collector_queues_exactly_one_entry_with_its_outcomes(lab, assigned):
    kit = assigned
    result = _collector(kit).cycle()
    assert result.problems == [] and result.sync is None  # offline: nothing uploaded
    assert result.poll.status == "ok", result.poll.summary
    with db.session_scope(kit.engine) as session:
        assert session.execute(select(func.count()).select_from(OutboxEntry)).scalar_one() == 1
        [batch] = outbox.pending(session, 10**9)
        run = session.get(ScanRun, result.poll.scan_run_id)
        assert run.triggered_by == "collector:c-test"
    assert batch["seq"] == 1 and batch["kind"] == "poll"
    body = batch["body"]
    assert body["run"]["kind"] == "poll" and body["run"]["status"] == "ok" and body["run"]["params"]["zone"] == "party_wan"
    assert "owner" not in body["run"]["params"]  # this machine's pid stays here
    outcomes = [outcome_from_json(o) for o in body["outcomes"]]
    assert sorted(o.target.address for o in outcomes) == [d.address for d in DEVICES]
    assert all(o.ok for o in outcomes)
    by_address = {o.target.address: o for o in outcomes}
    assert by_address[DEVICES[1].address].facts[0].serial == "FGT100F0002"
    assert {o.target.site_code for o in outcomes} == {"XA01"} and {o.target.zone for o in outcomes} == {"party_wan"}

    # The next cycle's poll is the next number.
    assert _collector(kit).cycle().poll.status == "ok"
    with db.session_scope(kit.engine) as session:
        assert list(session.execute(select(OutboxEntry.seq).order_by(OutboxEntry.seq)).scalars()) == [1, 2]


def test_the_entry_is_in_the_runs_transaction(lab, assigned, monkeypatch):
    """A failure after the entry is written, before the run's commit: neither is kept, and the
    number is not used up."""
    kit = assigned
    real = outbox.record_run

    def then_fail(session, scan_run, outcomes):
        assert real(session, scan_run, outcomes) == 1
        raise RuntimeError("the run's transaction fails after queueing")

    monkeypatch.setattr(outbox, "record_run", then_fail)
    with pytest.raises(RuntimeError):
        _collector(kit).cycle()
    with db.session_scope(kit.engine) as session:
        assert session.execute(select(func.count()).select_from(OutboxEntry)).scalar_one() == 0
        assert session.execute(select(ScanRun.status).order_by(ScanRun.id.desc())).scalars().first() == "error"
    monkeypatch.setattr(outbox, "record_run", real)
    assert _collector(kit).cycle().poll.status == "ok"
    with db.session_scope(kit.engine) as session:
        assert list(session.execute(select(OutboxEntry.seq)).scalars()) == [1]


def test_a_discovery_of_the_assigned_subnet_is_queued_as_discover(lab, assigned):
    kit = assigned
    settings = kit.settings.model_copy(update={"snmp_port": PORT})
    runner = Collector(kit.engine, settings, RunOptions(once=True, discover_every=1), collect_options=CollectOptions(use_ssh=False, snmp_timeout=3))
    result = runner.cycle()
    assert result.discover is not None and result.discover.status in ("ok", "partial"), result.discover.summary
    with db.session_scope(kit.engine) as session:
        batches = outbox.pending(session, 10**9)
    assert [(b["seq"], b["kind"]) for b in batches] == [(1, "poll"), (2, "discover")]
    found = {o["target"]["address"] for o in batches[1]["body"]["outcomes"]}
    assert {d.address for d in DEVICES} <= found
    assert batches[1]["body"]["run"]["params"]["zone"] == "party_wan"
