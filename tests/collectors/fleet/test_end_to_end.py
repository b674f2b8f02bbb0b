"""Issue 17 end to end on loopback: a hub (waitress on 127.0.0.1, SQLite) and two collectors, each
a `kiemke collector` process with its own KIEMKE_HOME and SQLite, one per zone of site XA05, each
polling its own slice of a lab (a switch per zone, whose forwarding tables both hold one machine's
MAC). Results of both zones land once; with the hub stopped the outbox grows, and once it is back
everything lands exactly once; an air-gap file applied twice changes nothing; the cross-zone MAC
is found although each zone came from its own collector."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collectors.credentials import Scope, add_credential
from collectors.lab import spec
from compliance.coverage import coverage
from compliance.evaluation import evaluate_scope
from inventory import db
from inventory.crypto import Vault
from inventory.models import Collector, CollectorBatch, Device, DeviceMac, Finding, Province, ScanRun, Site, Subnet, Zone
from inventory.settings import Settings
from tests.lab import snmp_devices as kinds
from tests.lab.support import run_port

pytestmark = [pytest.mark.db, pytest.mark.lab]

KIEMKE = str(Path(sys.executable).with_name("kiemke"))
SITE = "XA05"
NETWORKS = {"party_wan": "127.247.5", "internet": "127.247.6"}
PORT = run_port(45)
HUB_PORT = run_port(47)
COMMUNITY = "Kk-end-to-end"
ROGUE_MAC = "3c:52:82:dd:00:01"  # the machine on the Internet zone, also learnt by the party WAN switch
SWITCHES = [
    kinds.lab_device(1, NETWORKS[zone], spec.SnmpAccess(PORT, COMMUNITY, "kiemke1", "auth-secret-1x", "priv-secret-1x"), key=f"e2e-{zone}", site_code=SITE,
                     zone=zone, hostname=f"xa05-sw-{zone}", serial=f"JAE5{n:07d}", interfaces=kinds.SWITCH_INTERFACES[:3],
                     fdb=(spec.FdbEntry(ROGUE_MAC, 2),))
    for n, zone in enumerate(NETWORKS, start=1)
]  # fmt: skip


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from collectors.lab.snmp_agents import SnmpLab

    lab = SnmpLab(SWITCHES, tmp_path_factory.mktemp("e2e-lab"))
    lab.start(timeout=60)
    yield lab
    lab.stop()


class Hub:
    """The hub's web server (waitress) in this process; stopped and started again on the same port."""

    def __init__(self, settings: Settings) -> None:
        from web import create_app

        self.app = create_app(settings)
        self.url = f"http://127.0.0.1:{HUB_PORT}"
        self.server = None

    def start(self) -> None:
        import waitress

        self.server = waitress.create_server(self.app, host="127.0.0.1", port=HUB_PORT, threads=4, max_request_body_size=300 * 1024 * 1024)
        threading.Thread(target=self.server.run, daemon=True).start()
        time.sleep(0.2)

    def stop(self) -> None:
        self.server.close()
        self.server = None


def _hub_data(engine, settings: Settings) -> int:
    """Site XA05: a recorded switch per zone, the machine on the Internet zone, one SNMP credential; its id."""
    vault = Vault(settings.credential_key)
    with db.session_scope(engine) as session:
        province = Province(code="P5", name="Tỉnh Năm")
        session.add(province)
        session.flush()
        site = Site(province_id=province.id, code=SITE, name="Xã Năm", kind="commune")
        session.add(site)
        session.flush()
        for zone_kind, network in NETWORKS.items():
            zone = Zone(site_id=site.id, kind=zone_kind)
            session.add(zone)
            session.flush()
            session.add(Subnet(zone_id=zone.id, cidr=f"{network}.0/24"))
            switch = next(s for s in SWITCHES if s.zone == zone_kind)
            session.add(Device(device_class="access_switch", site_id=site.id, zone_id=zone.id, hostname=switch.hostname, mgmt_ip=switch.address, serial=switch.serial,
                               vendor="Cisco"))  # fmt: skip
            if zone_kind == "internet":
                machine = Device(device_class="desktop", site_id=site.id, zone_id=zone.id, hostname="xa05-pc1", mgmt_ip=f"{network}.50")
                session.add(machine)
                session.flush()
                session.add(DeviceMac(device_id=machine.id, mac=ROGUE_MAC))
        add_credential(session, vault, name="xa05-v2c", kind="snmp_v2c", secrets={"community": COMMUNITY}, port=PORT, scope=Scope(site_id=site.id), actor="test")
        return machine.id


def _kiemke(env: dict, *args) -> subprocess.CompletedProcess:
    done = subprocess.run([KIEMKE, *map(str, args)], env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, f"kiemke {' '.join(map(str, args))}: {done.stdout}\n{done.stderr}"
    return done


def _env(home: Path, database_url: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",) and not k.startswith("KIEMKE_")}
    env["KIEMKE_HOME"] = str(home)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _pending(env: dict) -> int:
    return json.loads(_kiemke(env, "collector", "status", "--json").stdout)["outbox"]["pending"]


def _landed(engine, name: str) -> tuple[int, int, list[int]]:
    """(collector-poll runs, stored batches, their numbers) of one collector on the hub."""
    with db.session_scope(engine) as session:
        runs = session.execute(select(func.count()).select_from(ScanRun).where(ScanRun.kind == "collector-poll", ScanRun.triggered_by == f"collector:{name}")).scalar_one()
        seqs = list(session.execute(select(CollectorBatch.seq).join(Collector).where(Collector.name == name).order_by(CollectorBatch.seq)).scalars())
    return runs, len(seqs), seqs


def test_two_collectors_an_outage_and_an_air_gap(lab, engine, db_url, tmp_path):
    hub_env = _env(tmp_path / "hub", db_url)
    hub_settings = Settings(home=tmp_path / "hub", database_url=db_url)
    machine_id = _hub_data(engine, hub_settings)
    hub = Hub(hub_settings)
    hub.start()
    try:
        envs = {}
        for zone in NETWORKS:
            name = f"xa05-{zone.replace('_', '')}"
            env = envs[zone] = _env(tmp_path / name)
            printed = _kiemke(env, "collector", "init", "--name", name, "--hub", hub.url).stdout
            line = re.search(r'"(kiemke-collector/1 [^"]+)"', printed)[1]
            _kiemke(hub_env, "collectors", "add", "--site", SITE, "--zone", zone, line)
        # One cycle each: the assignment fetched, the zone's switch polled, the result uploaded.
        for env in envs.values():
            out = _kiemke(env, "collector", "run", "--once", "--discover-every", "0").stdout
            assert "acknowledged up to 1" in out, out
            assert _pending(env) == 0
        assert _landed(engine, "xa05-partywan")[:2] == (1, 1) and _landed(engine, "xa05-internet")[:2] == (1, 1)
        with db.session_scope(engine) as session:
            switches = session.execute(select(Device.hostname, Device.last_polled).where(Device.device_class == "access_switch", Device.hostname.like("xa05-%"))).all()
        assert len(switches) == 2 and all(polled is not None for _, polled in switches)

        # The link cut: results stay in the outbox; restored: everything lands exactly once.
        inet = envs["internet"]
        hub.stop()
        for expected in (1, 2):
            out = _kiemke(inet, "collector", "run", "--once", "--discover-every", "0").stdout
            assert "acknowledged" not in out.splitlines()[-1], out
            assert _pending(inet) == expected
        assert _landed(engine, "xa05-internet")[:2] == (1, 1)
        hub.start()
        _kiemke(inet, "collector", "run", "--once", "--discover-every", "0")
        assert _pending(inet) == 0
        assert _landed(engine, "xa05-internet") == (4, 4, [1, 2, 3, 4])

        # Across the air gap: the party WAN collector's file applied twice changes nothing.
        wan = envs["party_wan"]
        hub.stop()
        _kiemke(wan, "collector", "run", "--once", "--discover-every", "0")
        carried = tmp_path / "xa05-partywan.kcb"
        _kiemke(wan, "collector", "export", "--out", carried)
        first = _kiemke(hub_env, "import-collector", carried, "--json")
        assert json.loads(first.stdout)["stored"] == 1 and json.loads(first.stdout)["acked_seq"] == 2
        second = _kiemke(hub_env, "import-collector", carried, "--json", "--ack-out", tmp_path / "second.ack")
        assert json.loads(second.stdout)["stored"] == 0 and json.loads(second.stdout)["duplicates"] == 1
        assert _landed(engine, "xa05-partywan") == (2, 2, [1, 2])
        _kiemke(wan, "collector", "ack", Path(f"{carried}.ack"))
        assert _pending(wan) == 0

        with db.session_scope(engine) as session:
            site_id = session.execute(select(Site.id).where(Site.code == SITE)).scalar_one()
            listed = {c.name: c for c in session.execute(select(Collector)).scalars()}
        assert listed["xa05-partywan"].last_contact_via == "file" and listed["xa05-internet"].last_contact_via == "https"
    finally:
        if hub.server is not None:
            hub.stop()
    # Each zone came from its own collector, and the machine's MAC was learnt in both: found.
    evaluate_scope(engine, site_ids=[site_id], trigger="test", actor="test")
    with db.session_scope(engine) as session:
        found = session.execute(select(Finding.device_id).where(Finding.rule_id == "zone.mac_both_zones", Finding.status == "open")).scalars().all()
    assert found == [machine_id]
    # Each zone shows in the hub's coverage as a zone the hub polls itself would: its switch
    # polled recently, evaluated, its compliance known.
    with db.session_scope(engine) as session:
        rows = {r["zone"]: r for r in coverage(session, [site_id])}
    for zone in NETWORKS:
        assert rows[zone]["polled_on_time"] >= 1 and rows[zone]["answering"] >= 1 and rows[zone]["evaluated"] == rows[zone]["devices"], rows[zone]
