"""The hub's collector commands: add, list, revoke, assignment, import-collector (twice: the
second changes nothing), and a refused file exits 1 writing no acknowledgement."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from collectors.fleet import wire
from collectors.fleet.identity import collector_keys, fingerprint, hub_key, hub_public, verify
from inventory import db
from inventory.models import AuditLog, ScanRun
from inventory.settings import Settings
from tests.collectors.fleet.hubkit import batch, frame, make_hub, poll_body

pytestmark = pytest.mark.db


@pytest.fixture
def run(kiemke_cli):
    return kiemke_cli


def test_collector_commands_end_to_end(run, engine, kiemke_env, tmp_path):
    hub = make_hub(engine, tmp_path / "home")
    keys = collector_keys(Settings(home=tmp_path / "c1"), "c1")
    result = run("collectors", "add", "--site", "S1", "--zone", "internet", keys.public_line())
    assert result.exit_code == 0, result.output
    assert run("collectors", "add", "--site", "S1", "--zone", "internet", keys.public_line()).exit_code == 1
    assert run("collectors", "add", "--site", "NOPE", "--zone", "internet", "x").exit_code == 1

    out = tmp_path / "c1.assignment"
    result = run("collectors", "assignment", "c1", "--out", out)
    assert result.exit_code == 0, result.output
    assignment = wire.read_frame(out.read_bytes(), wire.ASSIGNMENT, what="a")
    assert verify(hub_public(hub_key(hub.settings)), assignment.payload, assignment.signature)
    assert (out.stat().st_mode & 0o077) == 0

    upload = tmp_path / "c1.batches"
    upload.write_bytes(frame(keys, [batch(1, poll_body(["10.2.0.5"])), batch(2, poll_body(["10.2.0.6"]))]))
    result = run("import-collector", upload)
    assert result.exit_code == 0, result.output
    assert "2 batches stored" in result.output and "#2" in result.output
    ack = wire.read_frame((tmp_path / "c1.batches.ack").read_bytes(), wire.ACK, what="ack")
    assert json.loads(ack.payload)["acked_seq"] == 2
    result = run("import-collector", upload, "--json", "--ack-out", tmp_path / "again.ack")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["duplicates"] == 2 and json.loads(result.output)["stored"] == 0
    with db.session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(ScanRun).where(ScanRun.kind == "collector-poll")).scalar_one() == 2

    with db.session_scope(engine) as session:
        imports = session.execute(select(AuditLog.actor, AuditLog.after).where(AuditLog.entity == "collector_batches").order_by(AuditLog.id)).all()
    assert [a["stored"] for _, a in imports] == [2, 0] and all(actor.startswith("cli") for actor, _ in imports)
    listed = json.loads(run("collectors", "list", "--json").output)
    assert listed[0]["name"] == "c1" and listed[0]["acked_seq"] == 2 and listed[0]["last_contact_via"] == "file"
    listing = run("collectors", "list").output
    assert "c1" in listing and fingerprint(hub_public(hub_key(hub.settings))) in listing

    assert run("collectors", "revoke", "c1").exit_code == 0
    refused = tmp_path / "late.batches"
    refused.write_bytes(frame(keys, [batch(3, poll_body(["10.2.0.7"]))]))
    result = run("import-collector", refused)
    assert result.exit_code == 1 and "revoked" in result.output
    assert not (tmp_path / "late.batches.ack").exists()
    assert run("collectors", "assignment", "c1", "--out", out).exit_code == 1


def test_a_scan_bundle_is_read_by_import_collector_as_a_special_case(run, engine, kiemke_env, tmp_path):
    """`kiemke scan` is retired; the bundles technicians still carry are read by import-collector
    as import-scan reads them (once: the second time changes nothing)."""
    make_hub(engine, tmp_path / "home")
    bundle = {"format": "kiemke-scan-bundle/1", "bundle_id": "6f1c0a4e-0000-4000-8000-000000000001", "site": "S1", "subnet": "10.2.0.0/24",
              "outcomes": poll_body(["10.2.0.7"])["outcomes"]}  # fmt: skip
    path = tmp_path / "visit.json"
    path.write_text(json.dumps(bundle))
    result = run("import-collector", path)
    assert result.exit_code == 0, result.output
    assert "scan bundle" in result.output and "retired" in result.output
    assert not (tmp_path / "visit.json.ack").exists()  # unsigned: nothing to acknowledge
    result = run("import-collector", path, "--json")
    assert result.exit_code == 0 and json.loads(result.output)["status"] == "already-imported"
    with db.session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(ScanRun).where(ScanRun.kind == "import-scan")).scalar_one() == 1
    path.write_text('{"format": "kiemke-scan-bundle/1"')
    result = run("import-collector", path)
    assert result.exit_code == 1 and "scan bundle" in result.output
