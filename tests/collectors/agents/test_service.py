"""The POST answer over a real database: basic auth, storage, repeats and refusals."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collectors.agents.accounts import add_account
from collectors.agents.service import answer_post
from inventory.models import Device, Observation
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db
FIXTURES = Path(__file__).with_name("fixtures")


def _auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _post(engine, body: bytes, authorization: str | None) -> tuple:
    stored = []
    reply = answer_post(engine, body, authorization=authorization, agent_id=None, report_stored=lambda s, name: stored.append(s))
    return reply, stored


def test_an_inventory_is_stored_once_and_refused_without_the_right_account(session, engine):
    make_province(session, sites=20)  # the laptop's address 10.20.1.42 is in S20's Party WAN
    own = add_account(session, "s20-agents", site="S20", actor="t")
    other = add_account(session, "s1-agents", site="S1", zone="internet", actor="t")
    session.commit()
    body = zlib.compress((FIXTURES / "windows11_laptop.json").read_bytes())

    reply, _ = _post(engine, body, None)
    assert reply.status == 401 and reply.headers["WWW-Authenticate"].startswith("Basic")
    reply, _ = _post(engine, body, _auth(own.name, own.password + "x"))
    assert reply.status == 401

    reply, stored = _post(engine, body, _auth(own.name, own.password))
    assert reply.status == 200 and reply.body[:2] == b"\x78\x9c"  # answered compressed, as asked
    assert json.loads(zlib.decompress(reply.body))["status"] == "ok"
    device = session.get(Device, stored[0].device_id)
    assert stored[0].created and device.site_id == own_site(session, "S20") and device.mgmt_ip == "10.20.1.42"
    observations = session.execute(select(func.count()).select_from(Observation).where(Observation.device_id == device.id)).scalar_one()
    assert observations > 5

    reply, again = _post(engine, body, _auth(own.name, own.password))
    assert reply.status == 200 and again[0].repeated and again[0].device_id == device.id
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Observation).where(Observation.device_id == device.id)).scalar_one() == observations

    reply, stored = _post(engine, body, _auth(other.name, other.password))  # a machine of another site
    assert reply.status == 403 and not stored
    assert b"another site" in zlib.decompress(reply.body)


def own_site(session, code: str) -> int:
    from inventory.models import Site

    return session.execute(select(Site.id).where(Site.code == code)).scalar_one()


def test_a_refused_login_never_logs_what_may_be_a_password(session, engine, caplog):
    make_province(session, sites=1)
    account = add_account(session, "s1-agents", site="S1", zone="internet", actor="t")
    session.commit()
    body = zlib.compress((FIXTURES / "windows11_laptop.json").read_bytes())
    with caplog.at_level("WARNING", logger="kiemke"):
        assert _post(engine, body, _auth(account.password, account.name))[0].status == 401  # typed the wrong way round
        assert _post(engine, body, _auth(account.name, "not-it"))[0].status == 401
    assert account.password not in caplog.text
    assert "unknown account" in caplog.text and "wrong password, or account disabled (s1-agents)" in caplog.text
