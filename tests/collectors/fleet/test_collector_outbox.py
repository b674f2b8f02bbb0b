"""The collector's outbox: numbers without gaps, the cap (oldest kept), acknowledgement, status."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from collectors.fleet import outbox
from inventory import db
from inventory.models import CollectorIdentity, OutboxEntry

pytestmark = pytest.mark.db


@pytest.fixture
def collector_db(engine):
    with db.session_scope(engine) as session:
        session.add(CollectorIdentity(id=1, name="c1"))
    return engine


def _seqs(engine) -> list[int]:
    with db.session_scope(engine) as session:
        return list(session.execute(select(OutboxEntry.seq).order_by(OutboxEntry.seq)).scalars())


def test_not_a_collector_database_queues_nothing(engine):
    with db.session_scope(engine) as session:
        assert outbox.append(session, "poll", {"x": 1}) is None
    assert _seqs(engine) == []


def test_numbers_are_contiguous_across_rolled_back_transactions(collector_db):
    engine = collector_db
    with db.session_scope(engine) as session:
        assert outbox.append(session, "poll", {"n": 1}) == 1
    with pytest.raises(RuntimeError), db.session_scope(engine) as session:
        assert outbox.append(session, "poll", {"n": "lost"}) == 2
        raise RuntimeError("the run's own write failed")
    with db.session_scope(engine) as session:
        assert outbox.append(session, "discover", {"n": 2}) == 2
        assert outbox.append(session, "agent", {"n": 3}) == 3
    assert _seqs(engine) == [1, 2, 3]
    with db.session_scope(engine) as session:
        batches = outbox.pending(session, 10**9)
    assert [(b["seq"], b["kind"], b["body"]) for b in batches] == [(1, "poll", {"n": 1}), (2, "discover", {"n": 2}), (3, "agent", {"n": 3})]


def test_pending_is_bounded_but_always_sends_one(collector_db):
    engine = collector_db
    with db.session_scope(engine) as session:
        for n in range(5):
            outbox.append(session, "poll", {"n": n, "pad": "x" * 50})
        sizes = [e.size_bytes for e in session.execute(select(OutboxEntry).order_by(OutboxEntry.seq)).scalars()]
        assert [b["seq"] for b in outbox.pending(session, sizes[0] + sizes[1])] == [1, 2]
        assert [b["seq"] for b in outbox.pending(session, 1)] == [1]
        # Bodies compress well: the JSON they inflate to is bounded too.
        assert [b["seq"] for b in outbox.pending(session, 10**9, max_inflated=150)] == [1, 2]
        assert [b["seq"] for b in outbox.pending(session, 10**9, max_inflated=1)] == [1]


def test_at_the_cap_the_oldest_are_kept_and_new_ones_counted_as_dropped(collector_db, caplog):
    engine = collector_db
    with db.session_scope(engine) as session:
        first = outbox.append(session, "poll", {"n": 1})
        size = outbox.pending_bytes(session)
    with caplog.at_level(logging.WARNING, logger="kiemke.collector"), db.session_scope(engine) as session:
        assert outbox.append(session, "poll", {"n": 2}, limit_bytes=size + 3) is None
        assert outbox.append(session, "poll", {"n": 3}, limit_bytes=size + 3) is None
    assert "outbox full" in caplog.text
    assert _seqs(engine) == [first]
    with db.session_scope(engine) as session:
        state = outbox.status(session)
        assert state["dropped"] == 2 and state["dropped_since"] is not None and state["pending"] == 1
        # Once acknowledged, room again; the numbers go on from where they were (no gap).
        outbox.acknowledge(session, 1)
    with db.session_scope(engine) as session:
        assert outbox.append(session, "poll", {"n": 4}, limit_bytes=size + 3) == 2


def test_acknowledge_removes_up_to_the_number_and_status_says_so(collector_db):
    engine = collector_db
    with db.session_scope(engine) as session:
        for n in range(4):
            outbox.append(session, "poll", {"n": n})
    with db.session_scope(engine) as session:
        assert outbox.acknowledge(session, 2) == 2
        assert outbox.acknowledge(session, 1) == 0  # an older acknowledgement changes nothing
    with db.session_scope(engine) as session:
        state = outbox.status(session)
        assert state["acked_seq"] == 2 and state["pending"] == 2 and state["oldest_unacked_at"] is not None
        assert outbox.acknowledge(session, 99) == 2  # only what was numbered here
        assert session.get(CollectorIdentity, 1).acked_seq == 4
    assert _seqs(engine) == []


def test_the_cap_setting_defaults_to_512_mib(monkeypatch):
    monkeypatch.delenv("KIEMKE_OUTBOX_MAX_MB", raising=False)
    assert outbox.cap_bytes() == 512 * 1024 * 1024
    monkeypatch.setenv("KIEMKE_OUTBOX_MAX_MB", "3")
    assert outbox.cap_bytes() == 3 * 1024 * 1024


def test_record_run_sends_only_what_lies_in_the_assigned_subnets(collector_db, caplog):
    from collectors.records import DeviceFacts, Target
    from collectors.runner import Outcome
    from inventory.models import ScanRun

    engine = collector_db
    outcomes = [Outcome(Target(address=a), (DeviceFacts(address=a, source="snmp"),), None, ("lab",), 3) for a in ("10.0.0.1", "10.9.9.9")]
    with db.session_scope(engine) as session:
        session.get(CollectorIdentity, 1).assignment = {"subnets": ["10.0.0.0/24"]}
        run = ScanRun(kind="poll", params={"zone": "internet", "owner": "host:123"}, status="ok")
        session.add(run)
        session.flush()
        assert outbox.record_run(session, ScanRun(kind="import-scan"), outcomes) is None  # only polls and discoveries go
        with caplog.at_level(logging.WARNING, logger="kiemke.collector"):
            assert outbox.record_run(session, run, outcomes) == 1
        [batch] = outbox.pending(session, 10**9)
    assert [o["target"]["address"] for o in batch["body"]["outcomes"]] == ["10.0.0.1"]
    assert batch["body"]["run"]["params"] == {"zone": "internet"} and "10.9.9.9" in caplog.text
