"""An overview that ranks: sites ordered and coloured by compliant share and critical findings per
device (web.queries.BANDS), the three shares shown together (unknown never compliant), the sites
list sortable by each key with each site's top three failing rules, the site page's findings by
rule and its coverage; the overview's units short are the plan's shortfall."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from compliance.policy import shipped_policy
from compliance.service import plan_from_inventory
from inventory.models import ApprovedQuantity, Device, DeviceCompliance, Finding, Site, Zone
from web.overview import schedule_progress
from web.queries import BANDS, band_of, sites_with_compliance, sort_sites

pytestmark = pytest.mark.db


def _site(session: Session, code: str) -> tuple[int, int]:
    site = Site(province_id=1, code=code, name=f"Xã {code}", kind="commune", poll_interval_minutes=60)
    session.add(site)
    session.flush()
    zone = Zone(site_id=site.id, kind="internet")
    session.add(zone)
    session.flush()
    return site.id, zone.id


def _devices(session: Session, code: str, states: list[str | None], *, polled: int = 0) -> list[int]:
    """Laptops with these compliance states (None: never evaluated); the first `polled` answered just now."""
    site_id, zone_id = _site(session, code)
    now = datetime.now(UTC)
    ids = []
    for n, state in enumerate(states):
        answered = {"last_polled": now, "last_seen": now, "reachable": True} if n < polled else {}
        device = Device(device_class="laptop", site_id=site_id, zone_id=zone_id, hostname=f"{code.lower()}-{n}", **answered)
        session.add(device)
        session.flush()
        if state is not None:
            session.add(DeviceCompliance(device_id=device.id, state=state, evaluated_at=now))
        ids.append(device.id)
    return ids


def _finding(session: Session, rule: str, device_id: int, severity: str = "medium", status: str = "open") -> None:
    site_id = session.get(Device, device_id).site_id
    session.add(Finding(rule_id=rule, subject_key=f"device:{device_id}", device_id=device_id, site_id=site_id, severity=severity, status=status))


@pytest.fixture
def fleet(engine, seed):
    """The seed's S1 (2 devices never evaluated, 1 open critical finding) and S2 (no device), plus:
    S3 90% compliant, no critical (good); S5 70% compliant, 1 critical in 10 (fair);
    S4 50% compliant, 1 critical in 4 (poor). S1 is 0% compliant (bad)."""
    with Session(engine) as session:
        _devices(session, "S3", ["compliant"] * 9 + ["unknown"], polled=10)
        s4 = _devices(session, "S4", ["compliant", "compliant", "non_compliant", None], polled=1)
        _finding(session, "ep.av_present", s4[2], "critical")
        s5 = _devices(session, "S5", ["compliant"] * 7 + [None] * 3, polled=5)
        _finding(session, "ep.av_present", s5[0], "critical")
        for rule, devices in (("ep.tpm", s5[:3]), ("ep.ram", s5[:2]), ("ep.disk", s5[:1]), ("ep.cpu", s5[1:2])):
            for d in devices:
                _finding(session, rule, d)
        _finding(session, "ep.zzz", s5[5])
        _finding(session, "ep.zzz", s5[6], status="resolved")  # only open findings count
        session.commit()
    return seed


def test_bands_are_data_in_one_place():
    assert [b.name for b in BANDS] == ["good", "fair", "poor", "bad"]
    assert band_of(90, 0) == "good" and band_of(100, 0.01) == "fair" and band_of(60, 0.1) == "fair"
    assert band_of(59.9, 0) == "poor" and band_of(95, 0.5) == "poor" and band_of(95, 0.6) == "bad" and band_of(10, 0) == "bad"
    assert band_of(None, None) == "empty"


def test_sites_ranked_and_coloured(engine, fleet):
    with Session(engine) as session:
        sites = {s["code"]: s for s in sites_with_compliance(session, with_top_rules=True)}
        assert {c: s["band"] for c, s in sites.items()} == {"S1": "bad", "S2": "empty", "S3": "good", "S4": "poor", "S5": "fair"}
        assert (sites["S4"]["compliant_pct"], sites["S4"]["non_compliant_pct"], sites["S4"]["unknown_pct"]) == (50.0, 25.0, 25.0)
        assert sites["S4"]["critical_per_device"] == 0.25 and sites["S5"]["critical_per_device"] == 0.1
        # never evaluated is unknown, never compliant
        assert sites["S1"]["states"] == {"compliant": 0, "non_compliant": 0, "unknown": 2} and sites["S1"]["compliant_pct"] == 0.0
        assert sites["S5"]["top_rules"] == [{"rule_id": "ep.tpm", "open": 3}, {"rule_id": "ep.ram", "open": 2}, {"rule_id": "ep.av_present", "open": 1}]
        assert [s["code"] for s in sort_sites(list(sites.values()), "rank")] == ["S1", "S4", "S5", "S3", "S2"]
        assert sites["S3"]["answering_pct"] == 100.0 and sites["S4"]["answering_pct"] == 25.0 and sites["S1"]["answering_pct"] == 50.0  # the seed's switch answered just now


def _order(body: str) -> list[str]:
    return re.findall(r'class="site-row" data-code="([^"]+)"', body)


def test_sites_list_sorts_by_each_key(login_as, fleet):
    client = login_as("viewer")
    assert _order(client.get("/sites/").get_data(as_text=True)) == ["S1", "S4", "S5", "S3", "S2"]  # worst first by default
    assert _order(client.get("/sites/?sort=compliance").get_data(as_text=True)) == ["S1", "S4", "S5", "S3", "S2"]
    assert _order(client.get("/sites/?sort=compliance&desc=1").get_data(as_text=True)) == ["S3", "S5", "S4", "S1", "S2"]  # no devices: last
    assert _order(client.get("/sites/?sort=critical&desc=1").get_data(as_text=True)) == ["S1", "S4", "S5", "S3", "S2"]
    assert _order(client.get("/sites/?sort=critical").get_data(as_text=True)) == ["S3", "S5", "S4", "S1", "S2"]
    assert _order(client.get("/sites/?sort=coverage").get_data(as_text=True)) == ["S4", "S1", "S5", "S3", "S2"]  # 25, 50, 50, 100%
    assert _order(client.get("/sites/?sort=code").get_data(as_text=True)) == ["S1", "S2", "S3", "S4", "S5"]
    assert _order(client.get("/sites/?sort=password&desc=x").get_data(as_text=True)) == ["S1", "S4", "S5", "S3", "S2"]  # ignored
    body = client.get("/sites/").get_data(as_text=True)
    row = body.split('data-code="S5"')[1].split("</tr>")[0]
    assert re.findall(r"<code>([^<]+)</code></a> \((\d+)\)", row) == [("ep.tpm", "3"), ("ep.ram", "2"), ("ep.av_present", "1")]
    assert 'class="dot band-fair"' in row and "70% tuân thủ · 0% không tuân thủ · 30% chưa rõ" in row
    assert "≥ 90% thiết bị tuân thủ và ≤ 0 phát hiện nghiêm trọng mỗi thiết bị" in body  # the legend, from BANDS
    assert "≥ 60% thiết bị tuân thủ và ≤ 0.1 phát hiện" in body


def test_overview_ranks_colours_and_shows_three_shares(login_as, fleet):
    body = login_as("viewer").get("/").get_data(as_text=True)
    tiles = re.findall(r'<li class="tile" data-band="(\w+)">\s*<a class="band-\1" href="/sites/(\w+)"', body)
    assert tiles == [("bad", "S1"), ("poor", "S4"), ("fair", "S5"), ("good", "S3"), ("empty", "S2")]
    s1 = body.split('href="/sites/S1"')[1].split("</li>")[0]
    assert "0% tuân thủ · 0% không tuân thủ · 100% chưa rõ" in s1  # never evaluated: unknown, not compliant
    # the whole province: 18 of 26 devices compliant
    fleet_line = body.split('class="fleet-shares"')[1].split("</p>")[0]
    assert "69% tuân thủ · 4% không tuân thủ · 27% chưa rõ" in fleet_line
    assert "Kiểm tra lại" not in body  # a viewer: no re-check button
    assert "Kiểm tra lại" in login_as("security_officer").get("/").get_data(as_text=True)
    coverage = body.split('class="coverage"')[1].split("</section>")[0]
    s4 = coverage.split('href="/sites/S4">S4</a>')[1].split("</tr>")[0]
    assert "1/4" in s4  # polled within its interval, and answering: one of four


def test_site_page_groups_findings_and_shows_coverage(login_as, fleet, engine):
    with Session(engine) as session:
        s5 = session.exec(select(Site).where(Site.code == "S5")).one()
        silent = Device(device_class="laptop", site_id=s5.id, hostname="im-lang", last_polled=datetime.now(UTC), last_seen=datetime.now(UTC) - timedelta(days=3))
        session.add(silent)
        session.commit()
    body = login_as("viewer").get("/sites/S5").get_data(as_text=True)
    rules = re.findall(r'<tr class="rule-row" data-rule="([^"]+)">.*?<td class="num">(\d+)</td><td class="num">(\d+)</td></tr>', body, re.S)
    assert rules == [("ep.av_present", "1", "1"), ("ep.tpm", "3", "3"), ("ep.ram", "2", "2"), ("ep.cpu", "1", "1"), ("ep.disk", "1", "1"), ("ep.zzz", "1", "1")]
    assert "64% tuân thủ · 0% không tuân thủ · 36% chưa rõ" in body.split('class="site-shares"')[1].split("</p>")[0]
    silent_section = body.split('class="silent"')[1].split("</table>")[0]
    assert "im-lang" in silent_section and "3 ngày" in silent_section
    assert "(chưa xếp vùng)" in body  # the device without a zone is covered too
    # The overview names the province's longest silent devices, with their site.
    overview = login_as("viewer").get("/").get_data(as_text=True)
    section = overview.split('class="silent-devices"')[1].split("</section>")[0]
    assert "Thiết bị không phản hồi (1)" in section and "im-lang" in section and 'href="/sites/S5"' in section and "3 ngày" in section


def test_overview_shortfall_is_the_plans(engine, fleet):
    today = date(2026, 6, 1)
    with Session(engine) as session:
        session.add_all([ApprovedQuantity(site_id=1, device_class="laptop", quantity=10), ApprovedQuantity(site_id=3, device_class="laptop", quantity=20)])
        session.commit()
        policy = shipped_policy()
        plan = plan_from_inventory(session, policy, today, years=policy.schedule.years)
        progress = {g["id"]: g for g in schedule_progress(session, policy, today)}
        for group in policy.schedule.groups:
            for year in progress[group.id]["years"]:
                rows = plan.rows[(plan.rows["year"] == year["year"]) & plan.rows["device_class"].isin(group.classes)]
                assert year["short"] == int(rows["shortfall"].sum()), (group.id, year)
        assert any(y["short"] for y in progress["endpoints"]["years"])


def test_rendered_tables_are_kept_per_language(login_as, fleet):
    """The overview's tiles and the sites table are rendered once and shared: never in another
    reader's language."""
    from tests.web.conftest import csrf_token

    english, vietnamese = login_as("viewer"), login_as("planner")
    assert "Ba quy tắc vi phạm nhiều nhất" in vietnamese.get("/sites/").get_data(as_text=True)
    english.post("/language/en", data={"csrf_token": csrf_token(english, "/")})
    assert "Top three failing rules" in english.get("/sites/").get_data(as_text=True)
    assert "Whole province" in english.get("/").get_data(as_text=True)
    assert "Ba quy tắc vi phạm nhiều nhất" in vietnamese.get("/sites/").get_data(as_text=True)
    assert "Toàn tỉnh" in vietnamese.get("/").get_data(as_text=True)
