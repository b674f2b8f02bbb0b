"""The fundable plan's pages (web/fundable.py): the plan per year, site and line with the deferred
units and missed targets, the risk-per-billion chart, what-if scenarios made, edited, compared
and deleted (audit-logged, the policy never touched), and who may do it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from compliance import scenarios
from compliance.policy import DEFAULT_POLICY_DIR, policy_fingerprint, shipped_policy
from inventory.models import ApprovedQuantity, AuditLog, PlanScenario, Site
from tests.web.conftest import csrf_token

BASE = "/procurement/theo-von"
ROW = re.compile(r'<tr data-site="([^"]+)" data-class="([^"]+)">.*?<td class="num units">([^<]+)</td>', re.S)


@pytest.fixture
def approved(engine, seed) -> None:
    """S1: 5 laptops approved (one recorded, the hostile one); S2: 2 firewalls, none recorded."""
    with Session(engine) as session:
        sites = {s.code: s.id for s in session.exec(select(Site))}
        session.add_all([
            ApprovedQuantity(site_id=sites["S1"], device_class="laptop", quantity=5),
            ApprovedQuantity(site_id=sites["S2"], device_class="firewall", quantity=2),
        ])  # fmt: skip
        session.commit()


def bought_rows(html: str) -> list[tuple[str, str, int]]:
    return [(site, cls, int(units.replace(".", "").replace(",", ""))) for site, cls, units in ROW.findall(html)]


def expected_rows(engine, data: scenarios.ScenarioData | None, year: int) -> list[tuple[str, str, int]]:
    """What compliance.scenarios says the page must list (the page is only its view)."""
    policy = shipped_policy()
    with Session(engine) as session:
        plan = scenarios.fit_scenario(scenarios.fit_inputs(session, policy, date.today()), data, policy)
    rows = plan.bought[plan.bought["year"] == year].sort_values(["site_code", "device_class"])
    return [(r.site_code, r.device_class, int(r.units)) for r in rows.itertuples()]


def shown_rows(app, engine, scenario_id: int | None, year: int) -> list[tuple[str, str, int]]:
    """The plan the page fitted (kept by web.fundable until the data or the scenario changes): on a
    loaded machine the solver may stop at its time limit, and a second solve need not agree."""
    from web.fundable import fitted

    with app.test_request_context("/"), Session(engine) as session:
        plan = fitted(None if scenario_id is None else session.get(PlanScenario, scenario_id))
    rows = plan.bought[plan.bought["year"] == year].sort_values(["site_code", "device_class"])
    return [(r.site_code, r.device_class, int(r.units)) for r in rows.itertuples()]


def form_of(data: scenarios.ScenarioData, name: str, token: str) -> dict[str, str]:
    fields = {"csrf_token": token, "name": name}
    fields |= {f"phasing-{y}": f"{v:g}" for y, v in data.phasing.items()}
    fields |= {f"price-{c}": f"{v:g}" for c, v in data.prices.items()}
    fields |= {f"line-{i}": f"{v:g}" for i, v in data.lines.items()}
    fields |= {f"target-{g}-{y}": f"{v:g}" for g, by_year in data.targets.items() for y, v in by_year.items()}
    return fields


def new_scenario(client, name: str) -> int:
    token = csrf_token(client, f"{BASE}/phuong-an/moi")
    response = client.post(f"{BASE}/phuong-an/moi", data={"csrf_token": token, "name": name, "copy_of": "0"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def with_2027(data: scenarios.ScenarioData, money: float) -> scenarios.ScenarioData:
    return scenarios.ScenarioData({**data.phasing, 2026: 0, 2027: money, 2028: 0}, data.prices, data.lines, data.targets)


def test_changing_the_2027_phasing_in_a_scenario_changes_the_list_on_the_page(login_as, engine, approved) -> None:
    """The issue's 'done when': a planner copies the policy into a scenario, edits the 2027
    phasing, and the page's 2027 list changes with it (also once the plan was cached); the
    policy's files and its own plan stay as they were."""
    policy = shipped_policy()
    files = {p.name: p.read_bytes() for p in Path(DEFAULT_POLICY_DIR).glob("*.yaml")}
    client = login_as("planner")
    policy_page = client.get(f"{BASE}/?year=2026").get_data(as_text=True)
    assert bought_rows(policy_page) == expected_rows(engine, None, 2026) != []
    scenario_id = new_scenario(client, "Vốn 2027 thấp")
    lean = with_2027(scenarios.from_policy(policy), 44)  # two laptops at 22
    token = csrf_token(client, f"{BASE}/phuong-an/{scenario_id}")
    response = client.post(f"{BASE}/phuong-an/{scenario_id}", data=form_of(lean, "Vốn 2027 thấp", token) | {"year": "2027"})
    assert response.status_code == 302 and f"scenario={scenario_id}" in response.headers["Location"]
    first = client.get(f"{BASE}/?scenario={scenario_id}&year=2027").get_data(as_text=True)
    assert bought_rows(first) == expected_rows(engine, lean, 2027) == [("S1", "laptop", 2)]
    assert "Vốn 2027 thấp" in first
    # The planner raises 2027: the firewalls of S2 (a zone without its firewall) come first.
    rich = with_2027(lean, 160)
    token = csrf_token(client, f"{BASE}/phuong-an/{scenario_id}")
    assert client.post(f"{BASE}/phuong-an/{scenario_id}", data=form_of(rich, "Vốn 2027 thấp", token)).status_code == 302
    second = client.get(f"{BASE}/?scenario={scenario_id}&year=2027").get_data(as_text=True)
    assert bought_rows(second) == expected_rows(engine, rich, 2027) == [("S2", "firewall", 2)]
    # Never the policy: its files, and its page, are unchanged.
    assert {p.name: p.read_bytes() for p in Path(DEFAULT_POLICY_DIR).glob("*.yaml")} == files
    assert policy_fingerprint() == shipped_policy().fingerprint
    assert client.get(f"{BASE}/?year=2026").get_data(as_text=True).count("data-site=") == policy_page.count("data-site=")
    assert bought_rows(client.get(f"{BASE}/?year=2026").get_data(as_text=True)) == bought_rows(policy_page)
    with Session(engine) as session:
        entries = session.exec(select(AuditLog).where(AuditLog.entity == "plan_scenario").order_by(AuditLog.id)).all()
        assert [(e.action, e.actor) for e in entries] == [("create", "u_planner"), ("update", "u_planner"), ("update", "u_planner")]
        assert session.get(PlanScenario, scenario_id).version == 3


def test_bad_numbers_are_refused_in_vietnamese_and_nothing_is_saved(login_as, engine, approved) -> None:
    client = login_as("planner")
    scenario_id = new_scenario(client, "Thử")
    data = scenarios.from_policy(shipped_policy())
    token = csrf_token(client, f"{BASE}/phuong-an/{scenario_id}")
    fields = form_of(data, "Thử", token) | {"phasing-2027": "-5", "target-endpoints-2027": "30", "price-laptop": "hai mươi"}
    response = client.post(f"{BASE}/phuong-an/{scenario_id}", data=fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Vốn phân kỳ năm 2027: không được âm." in html
    assert "tỷ lệ lũy kế không được giảm (2026: 40%, 2027: 30%)" in html
    assert "Đơn giá laptop: phải là một số." in html
    with Session(engine) as session:
        row = session.get(PlanScenario, scenario_id)
        assert row.version == 1 and row.data == data.to_json()
    # Vietnamese number format is read too: 24.700,5 is twenty-four thousand seven hundred and a half.
    token = csrf_token(client, f"{BASE}/phuong-an/{scenario_id}")
    assert client.post(f"{BASE}/phuong-an/{scenario_id}", data=form_of(data, "Thử", token) | {"phasing-2027": "24.700,5"}).status_code == 302
    with Session(engine) as session:
        assert session.get(PlanScenario, scenario_id).data["phasing"]["2027"] == 24700.5
    # Names: empty and taken ones are refused.
    token = csrf_token(client, f"{BASE}/phuong-an/moi")
    assert "Cần đặt tên cho phương án." in client.post(f"{BASE}/phuong-an/moi", data={"csrf_token": token, "name": " "}).get_data(as_text=True)
    taken = client.post(f"{BASE}/phuong-an/moi", data={"csrf_token": token, "name": "Thử"})
    assert taken.status_code == 400 and "Đã có phương án tên «Thử»." in taken.get_data(as_text=True)


def test_two_scenarios_side_by_side(login_as, engine, approved) -> None:
    client = login_as("planner")
    policy = shipped_policy()
    ids = []
    for name, money in (("Ít vốn", 44), ("Nhiều vốn", 160)):
        scenario_id = new_scenario(client, name)
        token = csrf_token(client, f"{BASE}/phuong-an/{scenario_id}")
        client.post(f"{BASE}/phuong-an/{scenario_id}", data=form_of(with_2027(scenarios.from_policy(policy), money), name, token))
        ids.append(scenario_id)
    response = client.get(f"{BASE}/so-sanh?a={ids[0]}&b={ids[1]}&year=2027")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Ít vốn" in html and "Nhiều vốn" in html
    diff = dict(((s, c), (a, b)) for s, c, a, b in re.findall(r'<tr data-site="([^"]+)" data-class="([^"]+)">.*?<td class="num">(\d+)</td><td class="num">(\d+)</td>', html, re.S))
    assert diff == {("S1", "laptop"): ("2", "0"), ("S2", "firewall"): ("0", "2")}
    money = re.search(r'<tr data-key="money"><th>[^<]+</th><td class="num">([^<]+)</td><td class="num">([^<]+)</td>', html)
    assert money.groups() == ("44,00", "160,00")
    # The chart: one bar series per scenario, risk per billion VND of 2027.
    assert 'class="bar-series-0" data-year="2027"' in html and 'class="bar-series-1" data-year="2027"' in html
    assert client.get(f"{BASE}/so-sanh?a=999&b=0").status_code == 404


def test_delete_asks_first_and_leaves_the_policy(login_as, engine, approved) -> None:
    client = login_as("planner")
    scenario_id = new_scenario(client, "Tạm")
    page = client.get(f"{BASE}/phuong-an/{scenario_id}/xoa").get_data(as_text=True)
    assert "Xóa 1 phương án «Tạm»?" in page
    token = csrf_token(client, f"{BASE}/phuong-an/{scenario_id}/xoa")
    assert client.post(f"{BASE}/phuong-an/{scenario_id}/xoa", data={"csrf_token": token}).status_code == 302
    with Session(engine) as session:
        assert session.get(PlanScenario, scenario_id) is None
        assert session.exec(select(AuditLog.action).where(AuditLog.entity == "plan_scenario")).all() == ["create", "delete"]
    assert client.get(f"{BASE}/?scenario={scenario_id}").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "technician", "security_officer", "planner", "admin"])
def test_scenario_pages_by_role(login_as, engine, approved, role) -> None:
    planner = login_as("planner")
    scenario_id = new_scenario(planner, "Của người lập kế hoạch")
    client = login_as(role)
    allowed = role in ("planner", "admin")
    for path in (f"{BASE}/phuong-an/{scenario_id}", f"{BASE}/phuong-an/{scenario_id}/xoa"):
        assert client.get(path).status_code == (200 if allowed else 403), path
    if not allowed:  # a POST with a valid token is refused too
        token = csrf_token(client, "/")
        assert client.post(f"{BASE}/phuong-an/{scenario_id}/xoa", data={"csrf_token": token}).status_code == 403
        assert client.post(f"{BASE}/phuong-an/moi", data={"csrf_token": token, "name": "x"}).status_code == 403
        with Session(engine) as session:
            assert session.get(PlanScenario, scenario_id) is not None


def test_the_page_shows_deferred_units_and_missed_targets(login_as, engine, approved) -> None:
    """With 22 million VND in 2026 only, one laptop is bought; the other three wait for money
    ('Hết vốn phân kỳ') and S1 misses its 2026 target of 40% (2 of 5)."""
    client = login_as("planner")
    scenario_id = new_scenario(client, "Một máy")
    data = scenarios.from_policy(shipped_policy())
    lean = scenarios.ScenarioData({2026: 22, 2027: 0, 2028: 0}, data.prices, data.lines, data.targets)
    token = csrf_token(client, f"{BASE}/phuong-an/{scenario_id}")
    client.post(f"{BASE}/phuong-an/{scenario_id}", data=form_of(lean, "Một máy", token))
    html = client.get(f"{BASE}/?scenario={scenario_id}&year=2026").get_data(as_text=True)
    assert bought_rows(html) == expected_rows(engine, lean, 2026)
    assert "Hết vốn phân kỳ (kể cả phần chuyển sang)" in html
    assert "Đơn vị chưa đạt chỉ tiêu năm 2026 sau khi mua" in html and "S2 · " in html
    assert "<svg" in html and "Rủi ro giảm được trên mỗi tỷ đồng" in html


def test_risk_per_billion_chart_is_drawn_from_the_numbers() -> None:
    from web.charts import risk_per_billion_svg

    svg = str(risk_per_billion_svg([("A", {2026: 100.0, 2027: None}), ("B <x>", {2026: 50.0, 2027: 25.0})], [2026, 2027], words={"title": "T", "desc": "D"}))
    bars = re.findall(r'class="bar-series-(\d)" data-year="(\d+)" data-value="([^"]+)"[^>]*height="([^"]+)"', svg)
    assert [(s, y, v) for s, y, v, _h in bars] == [("0", "2026", "100"), ("1", "2026", "50"), ("1", "2027", "25")]
    heights = [float(h) for *_rest, h in bars]
    assert heights[0] == pytest.approx(2 * heights[1]) == pytest.approx(4 * heights[2])
    assert "B &lt;x&gt;" in svg and "<x>" not in svg


@pytest.mark.db
def test_demo_province_2027_phasing_in_a_scenario_changes_the_page(kiemke_env, engine, app) -> None:
    """The issue's 'done when', on the demo province: the 2027 page lists what the phasing buys
    first, site by site; a scenario with another 2027 phasing lists something else, as the
    solver says."""
    from click.testing import CliRunner

    from inventory.users import add_user
    from tests.web.conftest import PASSWORD, login
    from web.main import main

    result = CliRunner().invoke(main, ["demo-data"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        add_user(session, "lap_ke_hoach", "planner", PASSWORD, full_name="Người lập kế hoạch", actor="test")
        session.commit()
    client = app.test_client()
    assert login(client, "lap_ke_hoach").status_code == 302
    policy = shipped_policy()
    before = bought_rows(client.get(f"{BASE}/?year=2027").get_data(as_text=True))
    assert before == shown_rows(app, engine, None, 2027) != []
    scenario_id = new_scenario(client, "Phân kỳ 2027: 5.000")
    data = scenarios.from_policy(policy)
    edited = scenarios.ScenarioData({**data.phasing, 2027: 5000}, data.prices, data.lines, data.targets)
    token = csrf_token(client, f"{BASE}/phuong-an/{scenario_id}")
    assert client.post(f"{BASE}/phuong-an/{scenario_id}", data=form_of(edited, "Phân kỳ 2027: 5.000", token)).status_code == 302
    after = bought_rows(client.get(f"{BASE}/?scenario={scenario_id}&year=2027").get_data(as_text=True))
    assert after == shown_rows(app, engine, scenario_id, 2027) and after != before
    cost = sum(units * shipped_policy().prices.unit_prices[cls] for _site, cls, units in after)
    assert 0 < cost <= 5000 + 35000  # at most the 2027 phasing and what 2026 left
    assert bought_rows(client.get(f"{BASE}/?year=2027").get_data(as_text=True)) == before  # the policy's plan is as it was


def test_the_workbook_of_a_scenario_has_its_fundable_sheets(login_as, engine, approved) -> None:
    import io

    from openpyxl import load_workbook

    client = login_as("planner")
    scenario_id = new_scenario(client, "Sổ")
    lean = with_2027(scenarios.from_policy(shipped_policy()), 44)
    token = csrf_token(client, f"{BASE}/phuong-an/{scenario_id}")
    client.post(f"{BASE}/phuong-an/{scenario_id}", data=form_of(lean, "Sổ", token))
    response = client.get(f"{BASE}/ke-hoach-theo-von.xlsx?scenario={scenario_id}")
    assert response.status_code == 200 and f"phuong-an-{scenario_id}.xlsx" in response.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames[-4:] == ["Theo khả năng vốn", "Mua theo vốn", "Hoãn mua", "Chưa đạt chỉ tiêu"]
    cells = [c for row in wb["Mua theo vốn"].iter_rows(values_only=True) for c in row]
    assert "S1" in cells and "S2" not in cells  # 2027: two laptops of S1, nothing else


def test_report_section_shows_the_fundable_plan_of_the_quarters_year(app, engine, approved) -> None:
    """web/templates/fundable/_report_section.html, for the quarterly report: the policy's
    fundable plan of the quarter's year; nothing for a year outside the plan."""
    from flask import render_template_string

    from web.procurement import number

    page = '{% include "fundable/_report_section.html" %}'
    with app.test_request_context("/reports/"):
        html = render_template_string(page, quarter="2026Q4", num=number)
        assert "Mua sắm theo khả năng vốn năm 2026" in html and "Thiết bị đầu cuối" in html
        assert render_template_string(page, quarter="2031Q1", num=number).strip() == ""


def test_the_pages_in_english(login_as, engine, approved) -> None:
    client = login_as("planner")
    scenario_id = new_scenario(client, "Thử")
    token = csrf_token(client, "/")
    client.post("/language/en", data={"csrf_token": token})
    page = client.get(f"{BASE}/?scenario={scenario_id}&year=2026").get_data(as_text=True)
    assert "Fundable plan" in page and "Purchases by site" in page and "Mua theo đơn vị" not in page
    assert "Compare two scenarios" in client.get(f"{BASE}/so-sanh?a=0&b={scenario_id}").get_data(as_text=True)
    data = scenarios.from_policy(shipped_policy())
    token = csrf_token(client, f"{BASE}/phuong-an/{scenario_id}")
    refused = client.post(f"{BASE}/phuong-an/{scenario_id}", data=form_of(data, "Thử", token) | {"phasing-2027": "-1"}).get_data(as_text=True)
    assert "Phasing of 2027: must not be negative." in refused and "Endpoints" in refused


def test_reachable_from_the_procurement_page_and_shown_in_the_quarterly_report(login_as, engine, approved) -> None:
    client = login_as("planner")
    assert f'href="{BASE}/?year=' in client.get("/procurement/").get_data(as_text=True)
    report = login_as("security_officer").get("/reports/?quarter=2026Q4").get_data(as_text=True)
    assert "Mua sắm theo khả năng vốn năm 2026" in report
