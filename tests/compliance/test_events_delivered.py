"""Events raised by their real sources are queued to the notification channels in the same
transaction, and an evaluation that opens many critical findings at once raises one digest."""

from __future__ import annotations

from datetime import date

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from compliance import events
from compliance.channels import ChannelInput, save_channel
from compliance.evaluation import evaluate_scope
from compliance.policy import load_policy
from inventory import db
from inventory.crypto import Vault
from inventory.models import Device, Event, EventDelivery
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

TODAY = date(2026, 11, 22)


def old_laptops(session, site, n: int) -> None:
    """Laptops on Windows 7: ep.os_supported fails on each, a critical finding per laptop."""
    session.add_all(
        Device(site_id=site["site"], zone_id=site["internet"], serial=f"W7-{k}", device_class="laptop", os_name="Windows 7", mgmt_ip=f"10.1.2.{k + 10}")
        for k in range(n)
    )  # fmt: skip


@pytest.fixture
def channel(session):
    vault = Vault(SecretStr(Fernet.generate_key().decode()))
    save_channel(session, vault, ChannelInput(name="soc", kind="webhook", url="http://127.0.0.1:9/hook", secret="k" * 32, min_severity="high"), actor="test")
    session.commit()


def evaluate(engine) -> None:
    assert evaluate_scope(engine, trigger="test", actor="tester", today=TODAY, policy=load_policy())["status"] == "ok"


def critical_events_and_deliveries(engine) -> tuple[list[Event], list[EventDelivery]]:
    with db.session_scope(engine) as session:
        raised = list(session.execute(select(Event).where(Event.kind == "new_critical_finding")).scalars())
        return raised, list(session.execute(select(EventDelivery)).scalars())


def test_each_new_critical_finding_is_queued_to_the_channel(engine, session, channel):
    site = make_province(session, sites=1)["S1"]
    old_laptops(session, site, 2)
    session.commit()
    evaluate(engine)
    raised, queued = critical_events_and_deliveries(engine)
    assert len([e for e in raised if e.data.get("rule_id") == "ep.os_supported"]) == 2 and all(e.finding_id for e in raised)
    assert sorted(d.event_id for d in queued) == sorted(e.id for e in raised)
    assert {d.status for d in queued} == {"pending"}


def test_many_at_once_are_one_digest(engine, session, channel):
    site = make_province(session, sites=1)["S1"]
    old_laptops(session, site, events.DIGEST_ABOVE + 5)
    session.commit()
    evaluate(engine)
    raised, queued = critical_events_and_deliveries(engine)
    assert len(raised) == 1 and raised[0].finding_id is None
    assert raised[0].data["count"] > events.DIGEST_ABOVE and raised[0].data["rules"]
    assert [d.event_id for d in queued] == [raised[0].id]
