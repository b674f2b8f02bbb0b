"""The collector side against the hub's own code (assign_give, receive, write_ack), across the air
gap: the hub's assignment taken, the zone's lab polled on the collector's own SQLite, the export
applied on the hub once (twice changes nothing), the hub's acknowledgement taken back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from collectors.credentials import Scope, add_credential
from collectors.fleet import assign_give, outbox, receive, registry, runtime
from collectors.fleet.assign_take import take
from collectors.lab import spec
from collectors.runner import RunOptions as CollectOptions
from inventory import db
from inventory.crypto import Vault
from inventory.models import Collector, Device, Province, ScanRun, Site, Subnet, Zone
from inventory.settings import Settings
from tests.collectors.fleet.collector_kit import snmp_lab
from tests.lab import snmp_devices as kinds
from tests.lab.support import run_port

pytestmark = [pytest.mark.db, pytest.mark.lab]

NETWORK = "127.247.2"
PORT = run_port(33)
COMMUNITY = "Kk-hub-collector"
DEVICES = [
    kinds.lab_device(n, NETWORK, spec.SnmpAccess(PORT, COMMUNITY, f"kiemke{n}", f"auth-secret-{n}x", f"priv-secret-{n}x"), key=f"hc{n}", site_code="XA02",
                     zone="internet", hostname=f"xa02-sw{n}", serial=f"JAE9{n:07d}", interfaces=kinds.SWITCH_INTERFACES[:3])
    for n in (1, 2)
]  # fmt: skip


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with snmp_lab(DEVICES, tmp_path_factory.mktemp("hub-collector-lab")) as running:
        yield running


def _hub(engine, home) -> tuple[Settings, Vault]:
    """A hub whose site XA02 has an Internet zone it cannot reach itself: the lab's two switches."""
    settings = Settings(home=home, database_url=engine.url.render_as_string(hide_password=False))
    vault = Vault(settings.credential_key)
    with db.session_scope(engine) as session:
        province = Province(code="P2", name="Tỉnh Hai")
        session.add(province)
        session.flush()
        site = Site(province_id=province.id, code="XA02", name="Xã Hai", kind="commune")
        session.add(site)
        session.flush()
        zone = Zone(site_id=site.id, kind="internet")
        session.add(zone)
        session.flush()
        session.add(Subnet(zone_id=zone.id, cidr=f"{NETWORK}.0/24"))
        for d in DEVICES:
            session.add(Device(device_class=d.device_class, site_id=site.id, zone_id=zone.id, hostname=d.hostname, mgmt_ip=d.address, serial=d.serial, vendor="Cisco"))
        add_credential(session, vault, name="xa02-v2c", kind="snmp_v2c", secrets={"community": COMMUNITY}, port=PORT, scope=Scope(site_id=site.id), actor="test")
    return settings, vault


def test_air_gap_round_trip_with_the_hub(lab, engine, tmp_path):
    hub_settings, hub_vault = _hub(engine, tmp_path / "hub")
    collector_settings = Settings(home=tmp_path / "collector")  # its own SQLite in its own home
    made = runtime.init(collector_settings, "xa02-inet", None)
    collector_engine = db.engine_for(collector_settings.db_url)
    with db.session_scope(engine) as session:
        registered = registry.register(session, made.public_line, "XA02", "internet", "test")
        issued = assign_give.issue(session, hub_settings, hub_vault, registered, actor="test")

    taken = take(collector_engine, collector_settings, issued.frame)
    assert (taken.version, taken.site, taken.zone, taken.devices, taken.credentials) == (1, "XA02", "internet", 2, 1)

    cycle = runtime.Collector(collector_engine, collector_settings, runtime.RunOptions(once=True, discover_every=0),
                              collect_options=CollectOptions(use_ssh=False)).cycle()  # fmt: skip
    assert cycle.poll.status == "ok", cycle.poll.summary
    export = tmp_path / "xa02-inet.kcb"
    assert runtime.export(collector_engine, collector_settings, export) == 1

    receipt = receive.receive(engine, hub_settings, export.read_bytes(), via="file", actor="test")
    assert (receipt.acked_seq, receipt.stored, receipt.applied, receipt.refused) == (1, 1, 1, [])
    again = receive.receive(engine, hub_settings, export.read_bytes(), via="file", actor="test")
    assert (again.stored, again.duplicates) == (0, 1)
    with db.session_scope(engine) as session:
        runs = list(session.execute(select(ScanRun).where(ScanRun.kind == "collector-poll")).scalars())
        assert len(runs) == 1 and runs[0].summary.get("ok") == 2
        polled = session.execute(select(Device.hostname, Device.last_polled).where(Device.mgmt_ip.like(f"{NETWORK}.%"))).all()
        assert len(polled) == 2 and all(last is not None for _, last in polled)
        hub_row = session.execute(select(Collector).where(Collector.name == "xa02-inet")).scalar_one()
        assert hub_row.acked_seq == 1 and hub_row.last_contact_via == "file"

    ack = tmp_path / "xa02-inet.kcb.ack"
    ack.write_bytes(receive.write_ack(hub_settings, receipt, "xa02-inet"))
    done = runtime.take_ack(collector_engine, ack)
    assert (done.acked_seq, done.removed) == (1, 1)
    with db.session_scope(collector_engine) as session:
        assert outbox.status(session)["pending"] == 0
    collector_engine.dispose()


def test_the_readme_air_gap_steps_with_both_commands(lab, engine, db_url, tmp_path):
    """The README's offline steps, command by command: the hub's home and database, the
    collector's own home and SQLite."""
    from click.testing import CliRunner

    from web.main import main

    _hub(engine, tmp_path / "hub")
    hub_env = {"KIEMKE_HOME": str(tmp_path / "hub"), "DATABASE_URL": db_url}
    collector_env = {"KIEMKE_HOME": str(tmp_path / "collector"), "DATABASE_URL": None}
    runner = CliRunner()

    def on(env, *args):
        result = runner.invoke(main, [str(a) for a in args], env=env)
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())  # the terminal's line breaks

    printed = on(collector_env, "collector", "init", "--name", "xa02-inet", "--offline")
    line = next(part for part in printed.split('"') if part.startswith("kiemke-collector/1"))
    assert "kiemke collectors add --site SITE --zone ZONE" in printed
    on(hub_env, "collectors", "add", "--site", "XA02", "--zone", "internet", line)
    on(hub_env, "collectors", "assignment", "xa02-inet", "--out", tmp_path / "xa02.assignment")
    assert "2 devices, 1 credentials" in on(collector_env, "collector", "assign", tmp_path / "xa02.assignment")
    assert "poll: scan run #" in on(collector_env, "collector", "run", "--once", "--discover-every", "0")
    on(collector_env, "collector", "export", "--out", tmp_path / "usb" / "xa02.kcb")
    on(hub_env, "import-collector", tmp_path / "usb" / "xa02.kcb")
    on(hub_env, "import-collector", tmp_path / "usb" / "xa02.kcb")  # twice: nothing changes
    assert "acknowledged up to 1: 1 results removed" in on(collector_env, "collector", "ack", tmp_path / "usb" / "xa02.kcb.ack")
    with db.session_scope(engine) as session:
        runs = list(session.execute(select(ScanRun.summary).where(ScanRun.kind == "collector-poll")).scalars())
        assert len(runs) == 1 and runs[0].get("ok") == 2
