"""`kiemke collector init|assign|status|export|ack|run`: the commands on a collector's own home."""

from __future__ import annotations

import json
import stat
from types import SimpleNamespace

import pytest

from collectors.fleet import identity, outbox
from inventory import db
from inventory.settings import Settings
from tests.collectors.fleet.collector_kit import FakeHub

pytestmark = pytest.mark.db


@pytest.fixture
def run(kiemke_cli):
    return kiemke_cli


def test_a_collector_from_init_to_acknowledgement(run, engine, tmp_path):
    assert run("collector", "init", "--name", "c-cli").exit_code == 1  # neither --hub nor --offline
    assert "http is allowed only to a loopback" in run("collector", "init", "--name", "c-cli", "--hub", "http://10.1.2.3").output
    result = run("collector", "init", "--name", "c-cli", "--offline")
    assert result.exit_code == 0, result.output
    line = next(part for part in result.output.split('"') if part.startswith(identity.LINE_PREFIX))
    public = identity.parse_public_line(line)
    settings = Settings()
    keys = identity.collector_keys(settings, "c-cli")
    assert public.signing_key == keys.signing_public and identity.fingerprint(keys.signing_public) in result.output
    for name in (identity.SIGNING_KEY_FILE, identity.BOX_KEY_FILE):
        assert stat.S_IMODE((settings.home / name).stat().st_mode) == 0o600
    assert run("collector", "init", "--name", "c-cli", "--offline").exit_code == 0  # again: the same keys
    assert identity.collector_keys(settings, "c-cli").signing_public == keys.signing_public
    other = run("collector", "init", "--name", "c-else", "--offline")
    assert other.exit_code == 1 and "already collector 'c-cli'" in other.output

    hub = FakeHub()
    assignment = tmp_path / "c-cli.assignment"
    assignment.write_bytes(hub.assignment(SimpleNamespace(keys=keys)))
    result = run("collector", "assign", assignment)
    assert result.exit_code == 0, result.output
    assert "version 1 taken: site XA01, zone internet" in result.output and identity.fingerprint(hub.public) in result.output
    assert "already the one held" in run("collector", "assign", assignment).output

    with db.session_scope(engine) as session:
        outbox.append(session, "poll", {"n": 1})
    out = tmp_path / "c-cli.kcb"
    result = run("collector", "export", "--out", out)
    assert result.exit_code == 0 and "1 results written" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    ack = tmp_path / "c-cli.kcb.ack"
    ack.write_bytes(FakeHub().ack("c-cli", 1))
    refused = run("collector", "ack", ack)
    assert refused.exit_code == 1 and "not signed by the hub" in refused.output
    ack.write_bytes(hub.ack("c-cli", 1))
    result = run("collector", "ack", ack)
    assert result.exit_code == 0 and "acknowledged up to 1: 1 results removed" in result.output

    state = json.loads(run("collector", "status", "--json").output)
    assert (state["name"], state["site"], state["zone"], state["assignment_version"]) == ("c-cli", "XA01", "internet", 1)
    assert state["outbox"]["pending"] == 0 and state["outbox"]["acked_seq"] == 1 and state["hub_key"] == identity.fingerprint(hub.public)

    # Offline, one cycle: this assignment carried no credential, which is said; nothing is uploaded.
    result = run("collector", "run", "--once", "--discover-every", "0")
    assert result.exit_code == 0, result.output
    assert "poll: no device credentials are stored" in result.output and "upload" not in result.output


def test_collector_commands_on_a_database_that_is_not_a_collectors(run):
    assert run("init").exit_code == 0
    result = run("collector", "status")
    assert result.exit_code == 1 and "not a collector's" in result.output
