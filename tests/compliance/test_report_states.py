"""The three compliance states in the quarterly report and the planner (issue 12, items 2-3).

A hand-built site S1 with 10 laptops approved (2026 target: 4) and five laptops in use, bought
2025 (none at end of life within the plan):
  lt-ok       evaluated compliant
  lt-bad      evaluated non-compliant (an open finding)
  lt-unknown  evaluated unknown (data not collected)
  lt-never    never evaluated (no device_compliance row): unknown
  lt-gone     disposed: counted nowhere
and S2 with one never-evaluated laptop. The report's shares add up and never count an unknown
device as compliant; the policy flag unknown_counts_toward_schedule decides whether lt-unknown and
lt-never count toward the schedule, and the plan's units to buy move by exactly those two.
"""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlmodel import Session

from compliance.planner import write_plan_xlsx
from compliance.policy import DEFAULT_POLICY_DIR, Policy, PolicyError, load_policy, shipped_policy
from compliance.report import write_report_xlsx
from compliance.service import fleet_frame, plan_from_inventory, report_from_inventory
from compliance.state import state_shares
from compliance.workbook import UNKNOWN_COUNTED_LABEL, UNKNOWN_NOT_COUNTED_LABEL, records, vi_number
from inventory.models import ApprovedQuantity, Device, DeviceCompliance, Finding, Observation
from inventory.settings import Settings
from tests.inventory.factories import make_province, one_user_per_role
from tests.web.conftest import PASSWORD, login
from web import create_app

pytestmark = pytest.mark.db

TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def with_flag(policy: Policy, unknown_counts: bool) -> Policy:
    return policy.model_copy(update={"schedule": policy.schedule.model_copy(update={"unknown_counts_toward_schedule": unknown_counts})})


@pytest.fixture
def fleet(engine) -> dict[str, int]:
    with Session(engine) as session:
        sites = make_province(session, sites=2)
        s1, s2 = sites["S1"], sites["S2"]
        session.add_all([
            ApprovedQuantity(site_id=s1["site"], device_class="laptop", quantity=10),
            ApprovedQuantity(site_id=s2["site"], device_class="laptop", quantity=2),
        ])  # fmt: skip

        def laptop(name: str, site: dict[str, int], **fields) -> Device:
            return Device(device_class="laptop", site_id=site["site"], zone_id=site["internet"], hostname=name, serial=f"SN-{name}",
                          purchase_date=date(2025, 3, 1), last_polled=NOW, last_seen=NOW, **fields)  # fmt: skip

        devices = {name: laptop(name, s1) for name in ("lt-ok", "lt-bad", "lt-unknown", "lt-never")}
        devices["lt-gone"] = laptop("lt-gone", s1, status="disposed")
        devices["lt-s2"] = laptop("lt-s2", s2)
        session.add_all(devices.values())
        session.flush()
        bad = devices["lt-bad"]
        session.add(Finding(rule_id="ep.av_present", subject_key=f"device:{bad.id}", device_id=bad.id, site_id=s1["site"], severity="high",
                            first_seen=NOW - timedelta(days=3)))  # fmt: skip
        for name, state in (("lt-ok", "compliant"), ("lt-bad", "non_compliant"), ("lt-unknown", "unknown"), ("lt-gone", "compliant")):
            session.add(DeviceCompliance(device_id=devices[name].id, state=state, evaluated_at=NOW - timedelta(hours=1), data_as_of=NOW))
        one_user_per_role(session, "st", PASSWORD)
        session.commit()
        return {name: d.id for name, d in devices.items()} | {"S1": s1["site"], "S2": s2["site"]}


def laptops_2026(plan) -> dict[str, dict]:
    return {r["site_code"]: r for r in records(plan.year_rows(2026)) if r["device_class"] == "laptop"}


def test_the_report_shows_three_shares_that_add_up(engine, fleet):
    with Session(engine) as session:
        report = report_from_inventory(session, shipped_policy(), "2026Q2", TODAY)
        shares = state_shares(session, [fleet["S1"], fleet["S2"]])
    by_site = {r["site_code"]: r for r in records(report.compliance_by_site)}
    s1 = by_site["S1"]
    # The disposed laptop is counted nowhere; the never-evaluated one is unknown, not compliant.
    assert (s1["devices"], s1["compliant"], s1["non_compliant"], s1["unknown"]) == (4, 1, 1, 2)
    assert (s1["compliance_pct"], s1["non_compliant_pct"], s1["unknown_pct"]) == (25.0, 25.0, 50.0)
    assert {k: s1[k] for k in ("compliant", "non_compliant", "unknown")} == shares[fleet["S1"]]  # as the site page counts
    assert (by_site["S2"]["compliant"], by_site["S2"]["unknown"]) == (0, 1)
    for row in by_site.values():
        assert row["compliant"] + row["non_compliant"] + row["unknown"] == row["devices"]
    assert (report.compliance.part, report.non_compliant.part, report.unknown.part, report.compliance.whole) == (1, 1, 3, 5)
    assert report.states_text == "20,00% tuân thủ · 20,00% không tuân thủ · 60,00% chưa rõ"
    # Devices that count toward the schedule (4 of them) are not thereby compliant.
    assert report.compliance.part < int(fleet_frame_counts(engine))


def fleet_frame_counts(engine) -> int:
    with Session(engine) as session:
        return int(fleet_frame(session, shipped_policy(), TODAY)["counts"].sum())


@pytest.mark.parametrize(("unknown_counts", "counting", "to_buy"), [(True, 3, 1), (False, 1, 3)])
def test_the_flag_decides_whether_unknown_devices_count(engine, fleet, unknown_counts, counting, to_buy):
    policy = with_flag(shipped_policy(), unknown_counts)
    with Session(engine) as session:
        frame = fleet_frame(session, policy, TODAY)
        plan = plan_from_inventory(session, policy, TODAY, fleet=frame)
        report = report_from_inventory(session, policy, "2026Q2", TODAY, fleet=frame)
    s1 = laptops_2026(plan)["S1"]
    # lt-unknown and lt-never would count but for their state: in the count with the flag on,
    # planned for with it off; lt-bad never counts, lt-ok always does.
    assert (s1["counting"], s1["unknown"], s1["target"], s1["to_buy"]) == (counting, 2, 4, to_buy)
    assert laptops_2026(plan)["S2"]["unknown"] == 1
    assert plan.unknown_counted is unknown_counts
    assert int(plan.totals.loc[plan.totals["year"] == 2026, "unknown"].iloc[0]) == 3
    # The report reads the same plan; its compliance shares do not depend on the flag.
    laptops = {r["device_class"]: r for r in records(report.progress)}["laptop"]
    assert (laptops["counting"], laptops["unknown"]) == (counting + (1 if unknown_counts else 0), 3)
    assert (report.compliance.part, report.unknown.part) == (1, 3)
    assert plan.to_json()["unknown_counts_toward_schedule"] is unknown_counts


def test_the_flag_is_validated_in_the_policy_file(tmp_path: Path) -> None:
    assert shipped_policy().schedule.unknown_counts_toward_schedule is True  # the shipped default (README)
    directory = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, directory)
    schedule = directory / "schedule.yaml"
    text = schedule.read_text(encoding="utf-8")
    schedule.write_text(text.replace("unknown_counts_toward_schedule: true", "unknown_counts_toward_schedule: false"), encoding="utf-8")
    assert load_policy(directory).schedule.unknown_counts_toward_schedule is False
    schedule.write_text(text.replace("unknown_counts_toward_schedule: true", 'unknown_counts_toward_schedule: "no"'), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(directory)
    assert [(i.file, i.field) for i in caught.value.issues] == [("schedule.yaml", "unknown_counts_toward_schedule")]


def test_the_plan_workbook_and_json_show_the_unknown_count(engine, fleet, kiemke_env, tmp_path):
    for unknown_counts, label in ((True, UNKNOWN_COUNTED_LABEL), (False, UNKNOWN_NOT_COUNTED_LABEL)):
        policy = with_flag(shipped_policy(), unknown_counts)
        with Session(engine) as session:
            plan = plan_from_inventory(session, policy, TODAY)
        ws = load_workbook(write_plan_xlsx(plan, tmp_path / f"plan-{unknown_counts}.xlsx"))["Năm 2026"]
        rows = list(ws.iter_rows(values_only=True))
        header = next(r for r in rows if r[0] == "STT")
        s1 = next(dict(zip(header, r, strict=False)) for r in rows if r[1] == "S1")
        assert s1[label] == 2 and s1["Hiện có đạt chuẩn"] == (3 if unknown_counts else 1)
    result = CliRunner().invoke(_cli(), ["plan", "--json", "--year", "2026"], catch_exceptions=False)
    data = json.loads(result.output)
    assert data["unknown_counts_toward_schedule"] is True
    # The CLI plans on today's date: the rows are today's, the unknown devices the same.
    assert sum(r["unknown"] for r in data["rows"] if r["device_class"] == "laptop") == 3


def _cli():
    from web.main import main

    return main


def test_the_report_workbook_shows_three_shares_and_coverage(engine, fleet, tmp_path):
    with Session(engine) as session:
        session.add(Observation(device_id=fleet["lt-ok"], source="agent", key="host.cores", value="4"))  # an endpoint agent reported it
        session.commit()
        report = report_from_inventory(session, shipped_policy(), "2026Q2", TODAY)
    wb = load_workbook(write_report_xlsx(report, tmp_path / "bao-cao.xlsx"))
    rows = list(wb["Tuân thủ theo đơn vị"].iter_rows(values_only=True))
    header = next(r for r in rows if r[0] == "Mã đơn vị")
    s1 = dict(zip(header, next(r for r in rows if r[0] == "S1"), strict=False))
    assert (s1["Số thiết bị"], s1["Tuân thủ"], s1["Không tuân thủ"], s1["Chưa rõ"]) == (4, 1, 1, 2)
    assert (s1["Tuân thủ (%)"], s1["Không tuân thủ (%)"], s1["Chưa rõ (%)"]) == (25.0, 25.0, 50.0)
    summary = [v for row in wb["Tổng hợp"].iter_rows(values_only=True) for v in row if v]
    assert "20,00% tuân thủ · 20,00% không tuân thủ · 60,00% chưa rõ" in summary

    rows = list(wb["Độ bao phủ dữ liệu"].iter_rows(values_only=True))
    header = next(r for r in rows if r[0] == "Mã đơn vị")
    coverage = [dict(zip(header, r, strict=False)) for r in rows if r[0] in ("S1", "S2")]
    assert [(c["Mã đơn vị"], c["Vùng mạng"], c["Số thiết bị"]) for c in coverage] == [("S1", "Mạng Internet", 4), ("S2", "Mạng Internet", 1)]
    # Three of S1's four devices have a state (the never-evaluated one has none).
    assert coverage[0]["Đã đánh giá"] == 3 and coverage[1]["Đã đánh giá"] == 0
    assert coverage[1]["Lần đánh giá gần nhất"] == "chưa đánh giá"
    assert header.index("Tác nhân báo cáo") == header.index("Đã thu thông tin máy") + 1
    assert (coverage[0]["Tác nhân báo cáo"], coverage[1]["Tác nhân báo cáo"]) == (1, 0)
    total = next(r for r in rows if r[0] == "Tổng cộng")
    assert total[header.index("Số thiết bị")] == 5

    # Silent devices are as of today (like coverage): all five were last seen on NOW, long ago.
    rows = list(wb["Thiết bị không phản hồi"].iter_rows(values_only=True))
    header = next(r for r in rows if r[0] == "Mã đơn vị")
    silent = [dict(zip(header, r, strict=False)) for r in rows if r[0] in ("S1", "S2")]
    days = (datetime.now(UTC) - NOW).days
    assert sorted(s["Tên thiết bị"] for s in silent) == ["lt-bad", "lt-never", "lt-ok", "lt-s2", "lt-unknown"]
    assert {s["Số ngày không phản hồi"] for s in silent} == {vi_number(days)} and {s["Loại thiết bị"] for s in silent} == {"Máy tính xách tay"}
    assert len(report.silent) == 5 and report.to_json()["silent"][0]["silent_days"] == days


def test_the_pages_show_the_states_and_the_unknown_count(engine, fleet, db_url, tmp_path):
    app = create_app(Settings(home=tmp_path / "home", database_url=db_url), {"TESTING": True})
    client = app.test_client()
    assert login(client, "st_planner").status_code == 302
    procurement = client.get("/procurement/?year=2026").get_data(as_text=True)
    assert UNKNOWN_COUNTED_LABEL in procurement
    assert f"{UNKNOWN_COUNTED_LABEL}: <strong>3</strong>" in procurement  # the year's total
    assert "cột bên cạnh cho biết bao nhiêu trong số đó chưa được xác minh" in procurement  # what the figure means
    report = client.get("/reports/?quarter=2026Q2").get_data(as_text=True)
    assert "Độ bao phủ dữ liệu" in report and UNKNOWN_COUNTED_LABEL in report
    silent = report.split("Thiết bị không phản hồi (5)")[1].split("</table>")[0]
    assert silent.count("<tr>") == 6 and "lt-never" in silent and 'href="/sites/S2"' in silent  # a head and five rows
    # Today's states: S1 has one compliant, one non-compliant, two unknown devices.
    assert "25% tuân thủ · 25% không tuân thủ · 50% chưa rõ" in report
    xlsx = client.get("/reports/bao-cao.xlsx?quarter=2026Q2")
    assert "Độ bao phủ dữ liệu" in load_workbook(io.BytesIO(xlsx.data)).sheetnames
