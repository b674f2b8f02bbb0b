"""`kiemke template`: the header row, instructions and lists; the recorded sites when there is a database."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner

from web.main import main

pytestmark = pytest.mark.db


def _sites_listed(path) -> list[str]:
    book = openpyxl.load_workbook(path)
    lists = book["Danh mục"]
    return [str(c.value) for row in lists.iter_rows() for c in row if c.value and " — " in str(c.value) and str(c.value).startswith("S-")]


def test_a_template_lists_the_recorded_sites_and_needs_no_database(kiemke_env, tmp_path):
    runner = CliRunner()
    before = runner.invoke(main, ["template", "devices", str(tmp_path / "before.xlsx")], catch_exceptions=False)
    assert before.exit_code == 0, before.output  # no database yet: still a template
    assert runner.invoke(main, ["init"], catch_exceptions=False).exit_code == 0
    sites = tmp_path / "sites.csv"
    sites.write_text("code,name,kind\nS-CLI-1,Xã Thử CLI,commune\n", encoding="utf-8")
    imported = runner.invoke(main, ["import", "sites", str(sites)], catch_exceptions=False)
    assert imported.exit_code == 0, imported.output
    after = runner.invoke(main, ["template", "devices", str(tmp_path / "after.xlsx")], catch_exceptions=False)
    assert after.exit_code == 0, after.output
    assert _sites_listed(tmp_path / "before.xlsx") == []
    assert _sites_listed(tmp_path / "after.xlsx") == ["S-CLI-1 — Xã Thử CLI"]
