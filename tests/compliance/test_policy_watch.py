"""Findings follow the policy: the scheduler's policy-change job evaluates the whole fleet when
the policy files differ from those of the last whole-fleet evaluation, and only then; a policy
that does not load evaluates nothing and is logged once."""

from __future__ import annotations

import logging
import shutil
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select
from sqlmodel import Session

from compliance import policy_watch
from compliance.evaluation import evaluate_scope
from compliance.policy import DEFAULT_POLICY_DIR, load_policy, policy_fingerprint
from compliance.policy_watch import policy_change_job
from inventory.models import Device, Finding, Observation, ScanRun
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

TODAY = date(2026, 11, 22)
EIGHT_GB_KB = str(8 * 1024 * 1024)


@pytest.fixture
def policy_dir(tmp_path, monkeypatch):
    """A copy of the shipped policy, as an administrator edits it; nothing reported yet."""
    directory = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, directory)
    monkeypatch.setattr(policy_watch, "_reported_broken", None)
    return directory


@pytest.fixture
def laptop(engine) -> int:
    """A laptop with 8 GB of RAM: enough for the shipped ep.ram (8 GB), not for 16."""
    with Session(engine) as session:
        ids = make_province(session, sites=1)
        device = Device(device_class="laptop", site_id=ids["S1"]["site"], zone_id=ids["S1"]["internet"], mgmt_ip="10.1.2.10", serial="L1", status="in_use")
        session.add(device)
        session.flush()
        session.add(Observation(device_id=device.id, source="agent", key="host.ram_kb", value=EIGHT_GB_KB))
        session.commit()
        return device.id


def _runs(engine) -> list[ScanRun]:
    with Session(engine) as session:
        return list(session.execute(select(ScanRun).where(ScanRun.kind == "evaluate").order_by(ScanRun.id)).scalars())


def _open_rules(engine, device_id: int) -> set[str]:
    with Session(engine) as session:
        return set(session.execute(select(Finding.rule_id).where(Finding.device_id == device_id, Finding.status == "open")).scalars())


def _set_min_ram(policy_dir, old: int, new: int) -> None:
    path = policy_dir / "baseline.yaml"
    text = path.read_text(encoding="utf-8")
    assert f"min_ram_gb: {old}" in text
    path.write_text(text.replace(f"min_ram_gb: {old}", f"min_ram_gb: {new}"), encoding="utf-8")


def test_every_run_records_the_policy_fingerprint(engine, laptop, policy_dir):
    policy = load_policy(policy_dir)
    assert policy.fingerprint == policy_fingerprint(policy_dir) and len(policy.fingerprint) == 64
    evaluate_scope(engine, device_ids=[laptop], trigger="test", actor="t", today=TODAY, policy=policy)
    assert _runs(engine)[-1].params["policy"] == policy.fingerprint
    # Any byte of any file changes it; the same bytes in another directory do not.
    assert load_policy(DEFAULT_POLICY_DIR).fingerprint == policy.fingerprint
    (policy_dir / "prices.yaml").write_bytes((policy_dir / "prices.yaml").read_bytes() + b"\n")
    assert policy_fingerprint(policy_dir) != policy.fingerprint


def test_a_changed_threshold_is_evaluated_without_anyone_asking(engine, laptop, policy_dir):
    # No whole-fleet run has used this policy yet: the first run evaluates the fleet.
    first = policy_change_job(engine, policy_dir, today=TODAY)
    assert first is not None and first["status"] == "ok" and first["devices"] == 1
    assert "ep.ram" not in _open_rules(engine, laptop)
    # Unchanged: nothing to do, no run recorded.
    assert policy_change_job(engine, policy_dir, today=TODAY) is None
    assert len(_runs(engine)) == 1

    _set_min_ram(policy_dir, 8, 16)
    changed = policy_change_job(engine, policy_dir, today=TODAY)
    assert changed is not None and changed["status"] == "ok" and changed["opened"] >= 1
    assert "ep.ram" in _open_rules(engine, laptop)
    runs = _runs(engine)
    assert len(runs) == 2
    assert runs[-1].params["trigger"] == "policy-change" and runs[-1].triggered_by == "scheduler"
    assert runs[-1].params["scope"]["fleet"] is True and runs[-1].params["policy"] == load_policy(policy_dir).fingerprint
    assert policy_change_job(engine, policy_dir, today=TODAY) is None

    # Back to 8 GB: the finding is resolved by the next run.
    _set_min_ram(policy_dir, 16, 8)
    assert policy_change_job(engine, policy_dir, today=TODAY)["resolved"] >= 1
    assert "ep.ram" not in _open_rules(engine, laptop)


def test_only_a_whole_fleet_run_counts_as_evaluated_under_the_policy(engine, laptop, policy_dir):
    policy = load_policy(policy_dir)
    evaluate_scope(engine, trigger="cli", actor="t", today=TODAY, policy=policy)
    assert policy_change_job(engine, policy_dir, today=TODAY) is None  # a CLI check counts too
    _set_min_ram(policy_dir, 8, 16)
    # A scoped run under the new policy (a poll's, say) does not cover the rest of the fleet.
    evaluate_scope(engine, device_ids=[laptop], trigger="poll", actor="t", today=TODAY, policy=load_policy(policy_dir))
    result = policy_change_job(engine, policy_dir, today=TODAY)
    assert result is not None and result["scope"]["fleet"] is True


def test_a_broken_policy_evaluates_nothing_and_is_logged_once(engine, laptop, policy_dir, caplog):
    assert policy_change_job(engine, policy_dir, today=TODAY) is not None
    _set_min_ram(policy_dir, 8, 16)
    baseline = policy_dir / "baseline.yaml"
    good = baseline.read_text(encoding="utf-8")
    baseline.write_text(good + "\n  - id: [unclosed\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="compliance.policy_watch"):
        assert policy_change_job(engine, policy_dir, today=TODAY) is None
        assert policy_change_job(engine, policy_dir, today=TODAY) is None
    # Fail closed: no run, the findings as they were (the threshold edit is not half-applied).
    assert len(_runs(engine)) == 1 and "ep.ram" not in _open_rules(engine, laptop)
    logged = [r for r in caplog.records if "does not load" in r.getMessage()]
    assert len(logged) == 1 and "baseline.yaml" in logged[0].getMessage()

    # Broken differently: news, logged again; fixed: evaluated.
    caplog.clear()
    baseline.write_text(good.replace("min_ram_gb: 16", "min_ram_gb: sixteen"), encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="compliance.policy_watch"):
        assert policy_change_job(engine, policy_dir, today=TODAY) is None
    assert len([r for r in caplog.records if "does not load" in r.getMessage()]) == 1
    baseline.write_text(good, encoding="utf-8")
    assert policy_change_job(engine, policy_dir, today=TODAY)["status"] == "ok"
    assert "ep.ram" in _open_rules(engine, laptop)


def test_a_database_outage_is_logged_and_skipped(tmp_path, policy_dir, caplog):
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'kiemke.sqlite3'}")
    with caplog.at_level(logging.ERROR, logger="compliance.policy_watch"):
        assert policy_change_job(unreachable, policy_dir, today=TODAY) is None
    assert any("database unavailable" in r.getMessage() for r in caplog.records)


def test_an_unchanged_policy_costs_no_evaluation(engine, laptop, policy_dir):
    policy_change_job(engine, policy_dir, today=TODAY)
    with Session(engine) as session:
        before = session.execute(select(func.count()).select_from(ScanRun)).scalar_one()
    for _ in range(3):
        assert policy_change_job(engine, policy_dir, today=TODAY) is None
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(ScanRun)).scalar_one() == before
