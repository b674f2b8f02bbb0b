"""Credentials at rest and in order; the scheduler records every job run."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from sqlalchemy import select, text

from collectors.credentials import CredentialBook, CredentialError, Scope, add_credential
from collectors.records import Target
from inventory.crypto import Vault
from inventory.models import Device, ScanRun
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db


@pytest.fixture
def vault():
    from cryptography.fernet import Fernet

    return Vault(SecretStr(Fernet.generate_key().decode()))


def test_secrets_are_encrypted_at_rest_and_tried_most_specific_first(session, vault):
    ids = make_province(session)
    add_credential(session, vault, name="global", kind="snmp_v2c", secrets={"community": "plain-community-1"}, priority=1, actor="t")
    add_credential(session, vault, name="site", kind="snmp_v2c", secrets={"community": "plain-community-2"}, priority=50, scope=Scope(site_id=ids["S1"]["site"]), actor="t")
    add_credential(
        session, vault, name="switches", kind="snmp_v2c", secrets={"community": "plain-community-3"}, priority=90, scope=Scope(site_id=ids["S1"]["site"], device_class="access_switch"), actor="t"
    )
    session.commit()
    raw = session.execute(text("SELECT secret_token FROM credential")).scalars().all()
    assert all(b"plain-community" not in bytes(token) for token in raw)
    audit = json.dumps([row for row in session.execute(text("SELECT before, after FROM audit_log")).all()], default=str)
    assert "plain-community" not in audit

    book = CredentialBook(session, vault)
    order = [c.name for c in book.snmp(Target("10.1.2.3", site_code="S1", device_class="access_switch"))]
    assert order == ["switches", "site", "global"]
    assert [c.name for c in book.snmp(Target("10.2.2.3", site_code="S2"))] == ["global"]
    credential = book.snmp(Target("10.1.2.3", site_code="S1"))[0]
    assert credential.community.get_secret_value() == "plain-community-2" and "plain" not in repr(credential)


def test_bad_credentials_are_refused(session, vault):
    with pytest.raises(CredentialError, match="needs: community"):
        add_credential(session, vault, name="x", kind="snmp_v2c", secrets={}, actor="t")
    with pytest.raises(CredentialError, match="at least 8"):
        add_credential(session, vault, name="y", kind="snmp_v3", secrets={"auth_key": "short", "priv_key": "short"}, username="u", actor="t")


def test_credential_cli_never_prints_the_secret(kiemke_env):
    from web.main import main

    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    added = runner.invoke(main, ["credential", "add", "ssh-admin", "--kind", "ssh", "--username", "admin"], input="s3cret-password\nen-secret-1\n")
    assert added.exit_code == 0, added.output
    listing = runner.invoke(main, ["credential", "list", "--json"])
    assert "ssh-admin" in listing.output and "s3cret" not in listing.output and "en-secret" not in listing.output


def test_scheduler_records_each_job_run_and_polls_only_due_devices(session, engine, vault):
    from apscheduler.schedulers.background import BackgroundScheduler

    from collectors.scheduler import build_scheduler
    from collectors.service import poll_targets

    ids = make_province(session, sites=1)
    # Nothing listens at this loopback address: the poll fails fast, and is still a recorded run.
    device = Device(device_class="router", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], mgmt_ip="127.250.99.1", serial="R1")
    session.add(device)
    session.commit()
    add_credential(session, vault, name="v2", kind="snmp_v2c", secrets={"community": "c0mmunity"}, port=1, actor="t")
    session.commit()

    scheduler = build_scheduler(engine, vault, scheduler=BackgroundScheduler(timezone="UTC"))
    # One poll job per site, the daily evaluation (then the trend snapshot), the evaluation after a
    # policy change, events and their delivery (issue 12).
    assert [job.id for job in scheduler.get_jobs()] == ["poll:S1", "evaluate:daily", "retention:prune", "evaluate:policy-changed", "events:silence-and-waivers", "events:deliver"]
    job = scheduler.get_job("poll:S1")
    assert job.coalesce and job.max_instances == 1
    policy_job = scheduler.get_job("evaluate:policy-changed")
    assert policy_job.coalesce and policy_job.max_instances == 1 and policy_job.trigger.interval.total_seconds() == 5 * 60
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = session.execute(select(ScanRun).where(ScanRun.triggered_by == "scheduler", ScanRun.finished_at.is_not(None))).scalars().all()
            # The poll, then the evaluation of what it touched (issue 12), each a recorded run; and,
            # at start, the whole fleet under a policy no whole-fleet run has used yet.
            triggers = {(run.kind, run.params.get("trigger")) for run in runs}
            if triggers >= {("poll", None), ("evaluate", "poll"), ("evaluate", "policy-change")}:
                break
            time.sleep(0.2)
            session.expire_all()
    finally:
        scheduler.shutdown(wait=True)
    polls = [run for run in runs if run.kind == "poll"]
    assert len(polls) == 1 and polls[0].status == "failed" and polls[0].summary["devices"] == 1
    after_poll = [run for run in runs if run.kind == "evaluate" and run.params["trigger"] == "poll"]
    assert len(after_poll) == 1 and after_poll[0].params["scope"]["fleet"] is False
    policy_runs = [run for run in runs if run.kind == "evaluate" and run.params["trigger"] == "policy-change"]
    assert len(policy_runs) == 1 and policy_runs[0].status == "ok" and policy_runs[0].params["scope"]["fleet"] is True
    assert len(runs) == 3
    session.refresh(device)
    assert device.reachable is False and device.last_polled is not None
    # Polled just now: not due again within the site's interval.
    from datetime import timedelta

    from inventory.models import utcnow

    assert poll_targets(session, site="S1", due_before=utcnow() - timedelta(minutes=60)) == []
    assert len(poll_targets(session, site="S1")) == 1
