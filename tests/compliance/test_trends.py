"""Trend snapshots over simulated days: one row per site and day from the current states, open
findings and coverage; a second snapshot the same day replaces the first; the series adds the
sites up (province) or keeps one site; one day is not yet a trend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from compliance.trends import daily_snapshot_job, enough_history, series, take_snapshots
from inventory.models import Device, DeviceCompliance, Finding, SiteSnapshot
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

DAY1 = date(2026, 6, 1)
NOW = datetime(2026, 6, 5, 12, 0, tzinfo=UTC)


def _day(n: int) -> date:
    return DAY1 + timedelta(days=n - 1)


def _fleet(session: Session) -> dict[str, int]:
    p = make_province(session, sites=2)
    s1, s2 = p["S1"], p["S2"]
    devices = [Device(device_class="desktop", site_id=s1["site"], zone_id=s1["internet"], hostname=f"pc{i}", last_polled=NOW, last_seen=NOW) for i in range(4)]
    devices.append(Device(device_class="access_switch", site_id=s2["site"], zone_id=s2["party_wan"], hostname="sw"))
    devices.append(Device(device_class="laptop", site_id=s1["site"], zone_id=s1["internet"], hostname="gone", status="disposed"))
    session.add_all(devices)
    session.commit()
    return {"S1": s1["site"], "S2": s2["site"], **{d.hostname: d.id for d in devices}}


def _set_state(session: Session, device_id: int, state: str) -> None:
    row = session.execute(select(DeviceCompliance).where(DeviceCompliance.device_id == device_id)).scalar_one_or_none()
    if row is None:
        session.add(DeviceCompliance(device_id=device_id, state=state, evaluated_at=NOW))
    else:
        row.state = state


def _finding(session: Session, ids: dict, host: str, rule: str, severity: str, status: str = "open") -> None:
    session.add(Finding(rule_id=rule, subject_key=f"device:{ids[host]}", device_id=ids[host], site_id=ids["S1"], severity=severity, status=status))


def _snapshot(session: Session, n: int) -> int:
    taken = take_snapshots(session, _day(n), now=NOW)
    session.commit()
    return taken


def test_snapshots_over_simulated_days(session):
    ids = _fleet(session)
    # day 1: nothing evaluated: all unknown, no findings
    assert _snapshot(session, 1) == 2
    # day 2: two compliant, one failing with a critical and a high finding
    _set_state(session, ids["pc0"], "compliant")
    _set_state(session, ids["pc1"], "compliant")
    _set_state(session, ids["pc2"], "non_compliant")
    _finding(session, ids, "pc2", "r.crit", "critical")
    _finding(session, ids, "pc2", "r.high", "high")
    _finding(session, ids, "pc3", "r.waived", "critical", status="waived")  # not open: not counted
    session.commit()
    _snapshot(session, 2)
    # day 3: no snapshot (the scheduler was down): a gap, not a zero
    # day 4: the critical finding resolved, pc2 compliant again
    session.execute(Finding.__table__.update().where(Finding.rule_id == "r.crit").values(status="resolved"))
    _set_state(session, ids["pc2"], "compliant")
    session.commit()
    _snapshot(session, 4)
    # day 5: a new device at S1 (never evaluated: unknown)
    session.add(Device(device_class="desktop", site_id=ids["S1"], hostname="pc-new"))
    session.commit()
    _snapshot(session, 5)

    s1 = series(session, [ids["S1"]], until=_day(5))
    assert [p["day"] for p in s1] == [_day(1), _day(2), _day(4), _day(5)]
    assert [(p["devices"], p["compliant"], p["non_compliant"], p["unknown"]) for p in s1] == [(4, 0, 0, 4), (4, 2, 1, 1), (4, 3, 0, 1), (5, 3, 0, 2)]
    assert [(p["critical"], p["high"], p["medium"], p["low"]) for p in s1] == [(0, 0, 0, 0), (1, 1, 0, 0), (0, 1, 0, 0), (0, 1, 0, 0)]
    assert [p["polled_on_time"] for p in s1] == [4, 4, 4, 4]  # pc0..3 polled at NOW; pc-new never
    assert [p["answering"] for p in s1] == [4, 4, 4, 4]

    province = series(session, until=_day(5))  # S2's switch added in: one more unknown device
    assert [(p["devices"], p["unknown"]) for p in province] == [(5, 5), (5, 2), (5, 2), (6, 3)]
    s2 = series(session, [ids["S2"]], until=_day(5))
    assert [(p["devices"], p["unknown"], p["polled_on_time"]) for p in s2] == [(1, 1, 0)] * 4

    # the window: the last `days` days up to `until`
    assert [p["day"] for p in series(session, days=2, until=_day(5))] == [_day(4), _day(5)]
    assert series(session, until=_day(1) - timedelta(days=1)) == []


def test_a_second_snapshot_the_same_day_replaces_the_first(session):
    ids = _fleet(session)
    _snapshot(session, 1)
    _set_state(session, ids["pc0"], "non_compliant")
    _finding(session, ids, "pc0", "r.crit", "critical")
    session.commit()
    _snapshot(session, 1)
    rows = session.execute(select(func.count()).select_from(SiteSnapshot)).scalar_one()
    assert rows == 2  # one per site, not four
    (point,) = series(session, [ids["S1"]], until=_day(1))
    assert (point["non_compliant"], point["critical"]) == (1, 1)


def test_enough_history_needs_two_days(session):
    _fleet(session)
    assert not enough_history(series(session, until=_day(1)))  # fresh install: no snapshot
    _snapshot(session, 1)
    assert not enough_history(series(session, until=_day(1)))
    _snapshot(session, 2)
    assert enough_history(series(session, until=_day(2)))


def test_daily_snapshot_job_commits_one_row_per_site(engine, session):
    ids = _fleet(session)
    assert daily_snapshot_job(engine, today=_day(3)) == 2
    with Session(engine) as fresh:
        days = fresh.execute(select(SiteSnapshot.site_id, SiteSnapshot.day)).all()
    assert sorted(days) == sorted([(ids["S1"], _day(3)), (ids["S2"], _day(3))])


def _sheet_rows(path, sheet: str) -> list[tuple]:
    from openpyxl import load_workbook

    return [tuple(row) for row in load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True)]


def test_quarterly_report_has_the_quarters_trend(session, tmp_path):
    from compliance.policy import shipped_policy
    from compliance.report import write_report_xlsx
    from compliance.report_pdf import write_report_pdf
    from compliance.service import report_from_inventory

    ids = _fleet(session)
    take_snapshots(session, date(2026, 3, 31), now=NOW)  # the quarter before: left out
    _snapshot(session, 1)
    _set_state(session, ids["pc0"], "compliant")
    _finding(session, ids, "pc1", "r.crit", "critical")
    session.commit()
    _snapshot(session, 2)
    report = report_from_inventory(session, shipped_policy(), "2026Q2", date(2026, 6, 10))
    assert report.trend_enough
    assert [(r["day"], r["devices"], r["compliant"], r["critical"]) for r in report.to_json()["trend"]] == [("2026-06-01", 5, 0, 0), ("2026-06-02", 5, 1, 1)]
    path = write_report_xlsx(report, tmp_path / "q2.xlsx")
    rows = _sheet_rows(path, "Xu hướng")
    header = next(i for i, r in enumerate(rows) if r and r[0] == "Ngày")
    body = [r for r in rows[header + 1 :] if r and r[0] and str(r[0])[:2].isdigit()]
    assert [(r[0], r[1], r[5]) for r in body] == [("01/06/2026", 5, 0), ("02/06/2026", 5, 1)]
    assert body[1][2] == pytest.approx(20.0)  # 1 of 5 compliant
    per_site = _sheet_rows(path, "Xu hướng theo đơn vị")
    site_rows = [r for r in per_site if r and r[0] in ("01/06/2026", "02/06/2026")]
    assert [(r[0], r[1], r[2], r[3], r[6]) for r in site_rows] == [
        ("01/06/2026", "S1", 4, 0, 0), ("01/06/2026", "S2", 1, 0, 0), ("02/06/2026", "S1", 4, 1, 1), ("02/06/2026", "S2", 1, 0, 0),
    ]  # fmt: skip
    assert write_report_pdf(report, tmp_path / "q2.pdf").stat().st_size > 0


def test_report_of_a_fresh_install_says_not_enough_history(session, tmp_path):
    from compliance.policy import shipped_policy
    from compliance.report import write_report_xlsx
    from compliance.service import report_from_inventory

    _fleet(session)
    _snapshot(session, 1)  # one day only
    report = report_from_inventory(session, shipped_policy(), "2026Q2", date(2026, 6, 10))
    assert not report.trend_enough
    rows = _sheet_rows(write_report_xlsx(report, tmp_path / "q2.xlsx"), "Xu hướng")
    assert not [r for r in rows if r and r[0] == "01/06/2026"]
    assert any(r and r[0] and str(r[0]).startswith("Chưa đủ dữ liệu lịch sử") for r in rows)
