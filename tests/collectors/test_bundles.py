"""Offline scan bundles: masked configs, a private file, and one clear line for a damaged bundle."""

from __future__ import annotations

import json
import stat

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from collectors.records import DeviceFacts, Target
from collectors.runner import Outcome
from inventory import db
from inventory.models import ConfigSnapshot, Device, ScanRun
from inventory.redact import mask_config
from web.main import main

pytestmark = pytest.mark.db

CONFIG = """hostname bundle-r1
username admin secret 5 $1$abc
snmp-server community s3cr3t RO
snmp-server user v3user v3grp v3 auth sha AuthKey123 priv aes 128 PrivKey456
interface Gi0/1
 ip address 10.9.9.1 255.255.255.0
"""
SECRETS = ("$1$abc", "s3cr3t", "AuthKey123", "PrivKey456")


@pytest.fixture
def run(kiemke_env):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(a) for a in args])

    assert invoke("init").exit_code == 0
    assert invoke("demo-data").exit_code == 0
    return invoke


@pytest.fixture
def site(engine):
    from inventory.models import Site

    with db.session_scope(engine) as session:
        return session.execute(select(Site.code).order_by(Site.id)).scalars().first()


def _fake_scan(monkeypatch, site):
    import collectors.service as service

    target = Target(address="10.9.9.1", site_code=site, zone="internal")
    facts = DeviceFacts(address="10.9.9.1", source="ssh", sys_name="bundle-r1", vendor="Cisco", running_config=CONFIG)
    monkeypatch.setattr(service, "discovery_targets", lambda *a, **k: ([target], {"subnets": ["10.9.9.0/24"], "hosts_found": 1}))
    monkeypatch.setattr(service, "run_sync", lambda targets, book, options=None: [Outcome(target, (facts,), None, ("lab-ssh",), 5)])


def test_a_bundle_holds_no_device_secret_is_private_and_imports_masked(run, site, engine, monkeypatch, tmp_path):
    _fake_scan(monkeypatch, site)
    out = tmp_path / "bundle.json"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o644)  # an older file in the way is made private too
    result = run("scan", "--site", site, "--subnet", "10.9.9.0/24", "--out", out)
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in raw
    assert b"<redacted>" in raw and b"hostname bundle-r1" in raw
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    fresh = tmp_path / "fresh.json"
    assert run("scan", "--site", site, "--subnet", "10.9.9.0/24", "--out", fresh).exit_code == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600

    result = run("import-scan", out)
    assert result.exit_code == 0, result.output
    assert "evaluated " in result.output  # the merged devices' findings are fresh before it reports done
    with db.session_scope(engine) as session:
        device = session.execute(select(Device).where(Device.mgmt_ip == "10.9.9.1")).scalar_one()
        snapshot = session.execute(select(ConfigSnapshot).where(ConfigSnapshot.device_id == device.id)).scalar_one()
        assert snapshot.text == mask_config(CONFIG)  # what a direct poll stores; masking twice is harmless


DAMAGED = {
    "not-json.json": "{ this is not json",
    "a-list.json": "[1, 2, 3]",
    "no-format.json": json.dumps({"site": "x"}),
    "no-site.json": json.dumps({"format": "kiemke-scan-bundle/1", "bundle_id": "b1", "outcomes": []}),
    "no-id.json": json.dumps({"format": "kiemke-scan-bundle/1", "site": "SITE", "outcomes": []}),
    "site-a-list.json": json.dumps({"format": "kiemke-scan-bundle/1", "bundle_id": "b2", "site": ["x"], "outcomes": []}),
    "outcomes-text.json": json.dumps({"format": "kiemke-scan-bundle/1", "bundle_id": "b3", "site": "SITE", "outcomes": "abc"}),
    "outcome-a-number.json": json.dumps({"format": "kiemke-scan-bundle/1", "bundle_id": "b4", "site": "SITE", "outcomes": [1]}),
    "target-no-address.json": json.dumps({"format": "kiemke-scan-bundle/1", "bundle_id": "b5", "site": "SITE", "outcomes": [{"target": {}, "facts": []}]}),
    "facts-a-string.json": json.dumps({"format": "kiemke-scan-bundle/1", "bundle_id": "b6", "site": "SITE", "outcomes": [{"target": {"address": "10.9.9.2"}, "facts": ["x"]}]}),
    "name-a-number.json": json.dumps(
        {
            "format": "kiemke-scan-bundle/1",
            "bundle_id": "b7",
            "site": "SITE",
            "outcomes": [{"target": {"address": "10.9.9.2"}, "facts": [{"address": "10.9.9.2", "source": "snmp", "sys_name": 7, "interfaces": [{"bogus": 1}]}]}],
        }
    ),  # fmt: skip
    "error-a-string.json": json.dumps({"format": "kiemke-scan-bundle/1", "bundle_id": "b8", "site": "SITE", "outcomes": [{"target": {"address": "10.9.9.2"}, "facts": [], "error": "boom"}]}),
    "config-a-number.json": json.dumps(
        {
            "format": "kiemke-scan-bundle/1",
            "bundle_id": "b9",
            "site": "SITE",
            "outcomes": [{"target": {"address": "10.9.9.2"}, "facts": [{"address": "10.9.9.2", "source": "ssh", "running_config": 5}]}],
        }
    ),  # fmt: skip
}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_a_damaged_bundle_is_one_line_and_changes_nothing(run, site, engine, tmp_path, name):
    path = tmp_path / name
    path.write_text(DAMAGED[name].replace('"SITE"', json.dumps(site)), encoding="utf-8")
    with db.session_scope(engine) as session:
        before = (session.scalar(select(func.count()).select_from(ScanRun)), session.scalar(select(func.count()).select_from(Device)))
    result = run("import-scan", path)
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.output.startswith("error: ") and result.output.count("error: ") == 1, result.output  # one message (the console wraps it)
    assert name in result.output or "scan bundle" in result.output
    with db.session_scope(engine) as session:
        after = (session.scalar(select(func.count()).select_from(ScanRun)), session.scalar(select(func.count()).select_from(Device)))
    assert after == before
