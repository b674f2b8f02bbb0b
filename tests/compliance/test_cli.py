"""The compliance commands on the demo province (no lab: recorded facts only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from web.main import main

pytestmark = pytest.mark.db
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def run(kiemke_env):
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)

    assert invoke("init").exit_code == 0
    return invoke


def test_check_findings_plan_and_report(run, tmp_path):
    assert run("demo-data").exit_code == 0
    checked = json.loads(run("check", "--json").output)
    assert checked["devices"] > 4000 and checked["opened"] > 0 and checked["opened"] == checked["violations"]
    again = json.loads(run("check", "--json").output)
    assert again["opened"] == 0 and again["still_open"] == checked["opened"]  # nothing new, nothing lost
    # Demo data is recorded, never collected: every device is unknown or non-compliant, none compliant.
    assert again["states"]["compliant"] == 0 and sum(again["states"].values()) == again["devices"]
    line = run("check").output
    assert "0.0% compliant · " in line and "% non-compliant · " in line and "% unknown" in line

    critical = json.loads(run("findings", "--severity", "critical", "--per-page", "5", "--json").output)
    assert critical["total"] > 0 and all(f["severity"] == "critical" for f in critical["findings"])
    coverage = json.loads(run("findings", "--rule", "site.firewall_per_zone", "--per-page", "0", "--json").output)
    assert all(f["site_code"] for f in coverage["findings"])

    plan = json.loads(run("plan", "--json").output)
    assert [t["year"] for t in plan["totals"]] == [2026, 2027, 2028]
    assert plan["budget"]["stated_total"] == 64000 and round(plan["budget"]["lines_total"], 2) == 60485.95
    out = tmp_path / "plan.xlsx"
    assert run("plan", "--year", "2027", "--out", out).exit_code == 0
    assert "Tổng hợp" in load_workbook(out).sheetnames

    report = tmp_path / "q4.xlsx"
    result = run("report", "--quarter", "2026Q4", "--out", report)
    assert result.exit_code == 0 and "due 2026-12-22" in result.output
    # The CLI's report carries the fundable plan of the current year, as the web's does.
    assert any(str(row[0].value or "").startswith("VI.1.") for ws in load_workbook(report).worksheets for row in ws.iter_rows(max_col=1))
    bad = run("report", "--quarter", "2026Q5", "--out", report)
    assert bad.exit_code == 1 and "quarter" in bad.output and "Traceback" not in bad.output


def test_waive_needs_a_security_officer(run):
    run("demo-data")
    run("check")
    finding = json.loads(run("findings", "--per-page", "1", "--json").output)["findings"][0]
    run("user", "add", "lan", "--role", "planner", "--password-stdin", input="mat-khau-dai-1\n")
    run("user", "add", "thu", "--role", "security_officer", "--password-stdin", input="mat-khau-dai-2\n")
    refused = run("waive", finding["id"], "--reason", "x", "--expires", "2027-01-31", "--user", "lan")
    assert refused.exit_code == 1 and "only a security officer" in refused.output
    ok = run("waive", finding["id"], "--reason", "chờ thay thế", "--expires", "2027-01-31", "--user", "thu")
    assert ok.exit_code == 0
    waived = json.loads(run("findings", "--status", "waived", "--json").output)
    assert [f["id"] for f in waived["findings"]] == [finding["id"]]


def test_check_config_without_a_database(tmp_path, monkeypatch):
    monkeypatch.setenv("KIEMKE_HOME", str(tmp_path / "nothing-here"))
    runner = CliRunner()
    hardened = next(GOLDEN.glob("cisco_ios/*hardened*/running-config.txt"))
    good = runner.invoke(main, ["check-config", str(hardened), "--platform", "cisco_ios", "--json"])
    assert good.exit_code == 0, good.output
    assert json.loads(good.output)["failed"] == 0
    bad = tmp_path / "bad.cfg"
    bad.write_text("hostname X\nline vty 0 4\n transport input telnet\n!\nend\n")
    result = runner.invoke(main, ["check-config", str(bad), "--platform", "cisco_ios", "--json"])
    assert result.exit_code == 1
    rules = {r["rule_id"]: r for r in json.loads(result.output)["rules"]}
    assert rules["net.telnet_off"]["passed"] is False and any("transport input telnet" in e for e in rules["net.telnet_off"]["evidence"])
    assert not (tmp_path / "nothing-here" / "kiemke.sqlite3").exists()
