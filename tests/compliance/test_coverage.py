"""Coverage per site and zone on a hand-built fleet: polled within the site's interval or overdue,
answering or silent, configuration and endpoint facts collected, last evaluation; silent devices
with how long they have been silent. Disposed devices are counted nowhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from compliance.coverage import coverage, share, silent_devices, site_totals
from inventory.models import ConfigSnapshot, Device, DeviceCompliance, Observation, Site
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _fleet(session: Session) -> dict[str, int]:
    p = make_province(session, sites=2)
    s1, s2 = p["S1"], p["S2"]
    session.get(Site, s1["site"]).poll_interval_minutes = 60
    session.get(Site, s2["site"]).poll_interval_minutes = 24 * 60  # a day: 5 hours ago is on time there

    def dev(site, zone, name, cls, **kw):
        return Device(device_class=cls, site_id=site["site"], zone_id=site[zone], hostname=name, **kw)

    ago = lambda **kw: NOW - timedelta(**kw)  # noqa: E731
    devices = {
        # S1 party_wan: on time and answering; polled on time but silent 3 hours; overdue and silent 2 days
        "sw-ok": dev(s1, "party_wan", "sw-ok", "access_switch", last_polled=ago(minutes=10), last_seen=ago(minutes=10), reachable=True),
        "fw-silent": dev(s1, "party_wan", "fw-silent", "firewall", last_polled=ago(minutes=5), last_seen=ago(hours=3), reachable=False),
        "sw-overdue": dev(s1, "party_wan", "sw-overdue", "access_switch", last_polled=ago(days=2), last_seen=ago(days=2), reachable=True),
        # S1 internet: an endpoint with host facts, one polled but never answered, one never polled
        "pc-facts": dev(s1, "internet", "pc-facts", "desktop", last_polled=ago(minutes=30), last_seen=ago(minutes=30), reachable=True),
        "pc-never": dev(s1, "internet", "pc-never", "laptop", last_polled=ago(minutes=30), reachable=False),
        "pc-unpolled": dev(s1, "internet", "pc-unpolled", "laptop"),
        "pc-disposed": dev(s1, "internet", "pc-disposed", "laptop", status="disposed", last_polled=ago(days=9), last_seen=ago(days=9)),
        # S2: 5 hours ago is within its one-day interval
        "sw-s2": dev(s2, "party_wan", "sw-s2", "access_switch", last_polled=ago(hours=5), last_seen=ago(hours=5), reachable=True),
    }
    session.add_all(devices.values())
    session.flush()
    ids = {name: d.id for name, d in devices.items()}
    session.add_all([
        ConfigSnapshot(device_id=ids["sw-ok"], taken_at=ago(minutes=10), sha256="a" * 64, text="hostname sw-ok"),
        ConfigSnapshot(device_id=ids["sw-s2"], taken_at=ago(hours=5), sha256="b" * 64, text="hostname sw-s2"),
        ConfigSnapshot(device_id=ids["pc-disposed"], taken_at=ago(days=9), sha256="c" * 64, text="x"),
        Observation(device_id=ids["pc-facts"], source="agent", key="host.cpu_cores", value="4"),
        Observation(device_id=ids["pc-never"], source="snmp", key="sysDescr", value="not a host fact"),
        DeviceCompliance(device_id=ids["sw-ok"], state="compliant", evaluated_at=ago(hours=1)),
        DeviceCompliance(device_id=ids["fw-silent"], state="unknown", evaluated_at=ago(minutes=20)),
        DeviceCompliance(device_id=ids["pc-facts"], state="non_compliant", evaluated_at=ago(hours=2)),
    ])  # fmt: skip
    session.commit()
    return {**ids, "S1": s1["site"], "S2": s2["site"]}


def test_coverage_per_site_and_zone(session):
    ids = _fleet(session)
    rows = {(r["site_id"], r["zone"]): r for r in coverage(session, now=NOW)}
    assert set(rows) == {(ids["S1"], "party_wan"), (ids["S1"], "internet"), (ids["S2"], "party_wan")}
    wan = rows[(ids["S1"], "party_wan")]
    assert {k: wan[k] for k in ("devices", "polled_on_time", "answering", "network", "config_collected", "endpoints", "facts_collected", "evaluated")} == {
        "devices": 3, "polled_on_time": 2, "answering": 1, "network": 3, "config_collected": 1, "endpoints": 0, "facts_collected": 0, "evaluated": 2,
    }  # fmt: skip
    assert wan["last_evaluated"] == NOW - timedelta(minutes=20)
    lan = rows[(ids["S1"], "internet")]  # the disposed laptop is counted nowhere
    assert (lan["devices"], lan["polled_on_time"], lan["answering"], lan["endpoints"], lan["facts_collected"], lan["evaluated"]) == (3, 2, 1, 3, 1, 1)
    assert (lan["network"], lan["config_collected"]) == (0, 0)
    s2 = rows[(ids["S2"], "party_wan")]  # its own, longer interval
    assert (s2["devices"], s2["polled_on_time"], s2["answering"], s2["config_collected"], s2["evaluated"], s2["last_evaluated"]) == (1, 1, 1, 1, 0, None)


def test_site_totals_and_scope(session):
    ids = _fleet(session)
    rows = coverage(session, site_ids=[ids["S1"]], now=NOW)
    assert {r["site_id"] for r in rows} == {ids["S1"]}
    total = site_totals(rows)[ids["S1"]]
    assert (total["devices"], total["polled_on_time"], total["answering"], total["evaluated"]) == (6, 4, 2, 3)
    assert total["last_evaluated"] == NOW - timedelta(minutes=20)
    assert share(total["answering"], total["devices"]) == 33.3 and share(0, 0) is None
    assert coverage(session, site_ids=[], now=NOW) == []


def test_silent_devices_longest_first(session):
    ids = _fleet(session)
    silent = silent_devices(session, ids["S1"], NOW)
    assert [d["hostname"] for d in silent] == ["pc-never", "sw-overdue", "fw-silent"]  # never answered, then longest silent
    assert silent[0]["silent_for"] is None
    assert silent[1]["silent_for"] == timedelta(days=2) and silent[2]["silent_for"] == timedelta(hours=3)
    assert silent[2]["zone"] == "party_wan"
    assert silent_devices(session, ids["S2"], NOW) == []  # 5 hours within a one-day interval
    assert silent_devices(session, ids["S2"], NOW + timedelta(days=1))[0]["hostname"] == "sw-s2"
    assert silent_devices(session, 999_999, NOW) == []
    # The whole province: each site's own interval decides (S2's switch is silent a day later only).
    province = silent_devices(session, None, NOW)
    assert [(d["hostname"], d["site_id"]) for d in province] == [(d["hostname"], ids["S1"]) for d in silent]
    later = [d["hostname"] for d in silent_devices(session, None, NOW + timedelta(days=1))]
    assert "sw-s2" in later and set(later) >= {"pc-never", "sw-overdue", "fw-silent"}


def test_agent_reported_counts_endpoints_an_agent_reported(session):
    ids = _fleet(session)
    session.add_all([
        Observation(device_id=ids["pc-unpolled"], source="import", key="host.tpm_version", value="2.0"),  # facts, not an agent's
        Observation(device_id=ids["pc-never"], source="agent", key="agent.version", value="2.6"),  # an agent, no host.* fact yet
        Observation(device_id=ids["sw-ok"], source="agent", key="host.cores", value="2"),  # not an endpoint: not counted
        Observation(device_id=ids["pc-disposed"], source="agent", key="host.cores", value="2"),  # disposed: counted nowhere
    ])  # fmt: skip
    session.commit()
    rows = {(r["site_id"], r["zone"]): r for r in coverage(session, now=NOW)}
    lan = rows[(ids["S1"], "internet")]
    assert (lan["endpoints"], lan["facts_collected"], lan["agent_reported"]) == (3, 2, 2)  # pc-facts and pc-never
    assert rows[(ids["S1"], "party_wan")]["agent_reported"] == 0
    assert site_totals(list(rows.values()))[ids["S1"]]["agent_reported"] == 2
