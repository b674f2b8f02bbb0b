"""The hub's register of collectors: registration refused for what is not right, revocation, status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from collectors.fleet.identity import collector_keys
from collectors.fleet.registry import RegistryError, collector_status, register, revoke
from inventory import db
from inventory.models import AuditLog, Collector, utcnow
from inventory.settings import Settings
from tests.collectors.fleet.hubkit import SITE, make_hub

pytestmark = pytest.mark.db


def test_register_and_revoke_are_checked_and_audited(engine, tmp_path):
    make_hub(engine, tmp_path / "hub")
    keys = collector_keys(Settings(home=tmp_path / "c1"), "c1")
    other = collector_keys(Settings(home=tmp_path / "c2"), "c2")
    with db.session_scope(engine) as session:
        with pytest.raises(RegistryError, match="no site"):
            register(session, keys.public_line(), "NOPE", "party_wan", "test")
        with pytest.raises(RegistryError, match="zone must be"):
            register(session, keys.public_line(), SITE, "lan", "test")
        with pytest.raises(RegistryError, match="not base64"):
            register(session, "kiemke-collector/1 c1 notakey notakey", SITE, "party_wan", "test")
        register(session, keys.public_line(), SITE, "party_wan", "admin1")
    with db.session_scope(engine) as session:
        with pytest.raises(RegistryError, match="registered already"):
            register(session, keys.public_line(), SITE, "internet", "test")
        # The same keys under another name are refused too.
        forged = keys.public_line().replace(" c1 ", " c9 ")
        with pytest.raises(RegistryError, match="registered already"):
            register(session, forged, SITE, "internet", "test")
        register(session, other.public_line(), SITE, "internet", "admin1")
    with db.session_scope(engine) as session:
        assert revoke(session, "c1", "admin1") is True
        assert revoke(session, "c1", "admin1") is False
        with pytest.raises(RegistryError):
            revoke(session, "nobody", "admin1")
    with db.session_scope(engine) as session:
        rows = {c.name: c for c in session.execute(select(Collector)).scalars()}
        assert rows["c1"].status == "revoked" and rows["c2"].status == "active" and rows["c2"].zone_kind == "internet"
        audits = session.execute(select(AuditLog.action, AuditLog.after).where(AuditLog.entity == "collector").order_by(AuditLog.id)).all()
        assert [a for a, _ in audits] == ["create", "create", "update"]
        assert audits[0][1]["site"] == SITE and keys.signing_public not in str(audits[0][1])


def test_status_says_who_is_silent(engine, tmp_path):
    make_hub(engine, tmp_path / "hub")
    with db.session_scope(engine) as session:
        for name, zone in (("c1", "party_wan"), ("c2", "internet")):
            register(session, collector_keys(Settings(home=tmp_path / name), name).public_line(), SITE, zone, "test")
    now = utcnow()
    with db.session_scope(engine) as session:
        c1 = session.execute(select(Collector).where(Collector.name == "c1")).scalar_one()
        c1.last_contact_at, c1.last_contact_via = now - timedelta(minutes=5), "https"
        c1.oldest_unacked_at, c1.reported_pending, c1.acked_seq = now - timedelta(hours=2), 7, 12
        c2 = session.execute(select(Collector).where(Collector.name == "c2")).scalar_one()
        c2.registered_at = now - timedelta(hours=3)
    with db.session_scope(engine) as session:
        rows = {r.name: r for r in collector_status(session, now, silent_minutes=30)}
    assert rows["c1"].silent is False and rows["c1"].pending == 7 and rows["c1"].acked_seq == 12
    assert abs(rows["c1"].oldest_unacked_age - timedelta(hours=2)) < timedelta(seconds=1)
    assert rows["c2"].silent is True and rows["c2"].last_contact_at is None
    with db.session_scope(engine) as session:
        later = {r.name: r for r in collector_status(session, now + timedelta(minutes=40), silent_minutes=30)}
    assert later["c1"].silent is True
