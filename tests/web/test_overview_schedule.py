"""Schedule progress on the overview: cumulative targets (schedule.yaml) against the share of the
approved quantity that counts, per device class group."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from compliance.policy import shipped_policy
from compliance.service import fleet_frame
from inventory.models import ApprovedQuantity, Device, Finding
from tests.inventory.factories import make_province
from web.overview import counting_by_site_class, schedule_progress

pytestmark = pytest.mark.db

TODAY = date(2026, 6, 1)


def _province(session: Session) -> None:
    p = make_province(session, sites=2)
    s1, s2 = p["S1"], p["S2"]
    session.add_all([
        ApprovedQuantity(site_id=s1["site"], device_class="laptop", quantity=10),
        ApprovedQuantity(site_id=s2["site"], device_class="laptop", quantity=5),
        ApprovedQuantity(site_id=s1["site"], device_class="firewall", quantity=2),
    ])  # fmt: skip

    def laptop(site, n, **kw):
        return Device(device_class="laptop", site_id=site["site"], zone_id=site["internet"], hostname=f"lt-{site['site']}-{n}", **kw)

    devices = [laptop(s1, n, purchase_date=date(2024, 3, 1)) for n in range(3)]
    devices.append(laptop(s1, 3, purchase_date=date(2022, 5, 1)))  # counts in 2026, not from 2027
    flagged = laptop(s1, 4, purchase_date=date(2025, 1, 1))  # an open finding: does not count
    devices += [flagged, laptop(s1, 5, status="broken"), laptop(s1, 6, os_name="Windows 7")]  # neither
    devices += [laptop(s1, 7, status="disposed")]
    devices += [laptop(s2, n, purchase_date=date(2025, 1, 1)) for n in range(7)]  # 7 for 5 approved: capped
    devices.append(Device(device_class="firewall", site_id=s1["site"], zone_id=s1["party_wan"], hostname="fw1"))
    session.add_all(devices)
    session.flush()
    session.add(Finding(rule_id="ep.av_present", subject_key=f"device:{flagged.id}", device_id=flagged.id, site_id=s1["site"], severity="critical"))
    session.commit()


def test_progress_per_group(session):
    _province(session)
    progress = {g["id"]: g for g in schedule_progress(session, shipped_policy(), TODAY)}
    assert list(progress) == ["network", "endpoints", "tablets"]
    endpoints = progress["endpoints"]
    assert endpoints["approved"] == 15 and endpoints["counting"] == 9 and endpoints["counting_pct"] == 60.0
    years = {y["year"]: y for y in endpoints["years"]}
    assert {y: (v["target_pct"], v["counting"], v["short"]) for y, v in years.items()} == {
        2026: (40, 9, 0),  # S1 needs 4 of 10 and has 4; S2 needs 2 of 5 and has 5
        2027: (80, 8, 5),  # the 2022 laptop has reached end of life: S1 needs 8, has 3
        2028: (100, 8, 7),
    }
    assert years[2027]["counting_pct"] == 53.3
    network = progress["network"]
    assert (network["approved"], network["counting"], network["counting_pct"]) == (2, 1, 50.0)
    assert [(y["target_pct"], y["short"]) for y in network["years"]] == [(100, 1), (100, 1), (100, 1)]
    tablets = progress["tablets"]
    assert tablets["approved"] == 0 and tablets["counting_pct"] is None


def test_counting_agrees_with_fleet_frame(session):
    """The overview counts per site and class exactly what the planner's input says counts."""
    _province(session)
    policy = shipped_policy()
    frame = fleet_frame(session, policy, TODAY)
    expected = frame[frame["counts"]].groupby(["site_code", "device_class"]).size().to_dict()
    counted = counting_by_site_class(frame, policy.schedule.years)
    assert {key: c["now"] for key, c in counted.items() if c["now"]} == expected
    for year in (2026, 2027, 2028):
        alive = frame[frame["counts"] & (frame["eol_year"].isna() | (frame["eol_year"] > year)).fillna(True).astype(bool)]
        assert {k: c[year] for k, c in counted.items() if c[year]} == alive.groupby(["site_code", "device_class"]).size().to_dict()


def test_overview_shows_the_progress(login_as, seed, engine):
    with Session(engine) as session:
        session.add(ApprovedQuantity(site_id=1, device_class="laptop", quantity=4))
        session.commit()
    body = login_as("viewer").get("/").get_data(as_text=True)
    assert "Tiến độ thay thế theo lộ trình" in body
    section = body.split('class="schedule-progress"')[1].split("</section>")[0]
    assert "<svg" in section and 'class="progress-bars"' in section
    for year in ("2026", "2027", "2028"):
        assert f'<th colspan="3" class="year">{year}</th>' in section
    assert "Thiết bị đầu cuối" in section and "40%" in section and "80%" in section and "100%" in section
    # The seed laptop has an open finding, so 0 of 4 count: behind the target.
    assert "0 (0.0%)" in section and 'class="num behind"' in section
    assert "style=" not in section  # CSP: no inline styles
