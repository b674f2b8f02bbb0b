"""The kiemke command line, end to end on a temporary home and database."""

import json
import stat

import pytest
from click.testing import CliRunner

from web.main import main

pytestmark = pytest.mark.db


@pytest.fixture
def run(kiemke_env):
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)

    return invoke


def test_init_creates_schema_admin_and_private_secrets(run, kiemke_env, tmp_path):
    result = run("init")
    assert result.exit_code == 0, result.output
    assert "one-time password" in result.output
    home = tmp_path / "home"
    for name in ("secret_key", "credential.key"):
        mode = stat.S_IMODE((home / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
    # A second init upgrades in place and does not create another admin.
    again = run("init")
    assert again.exit_code == 0 and "one-time password" not in again.output


def test_secrets_are_generated_once_and_differ_between_homes(kiemke_env, tmp_path, monkeypatch):
    from inventory.settings import Settings

    first = Settings().secret_key.get_secret_value()
    assert Settings().secret_key.get_secret_value() == first
    monkeypatch.setenv("KIEMKE_HOME", str(tmp_path / "other"))
    assert Settings().secret_key.get_secret_value() != first
    assert len(first) == 64


def test_commands_before_init_say_what_to_do(run):
    result = run("sites")
    assert result.exit_code == 1
    assert "run `kiemke init` first" in result.output
    assert "Traceback" not in result.output


def test_demo_data_sites_and_devices(run):
    run("init")
    result = run("demo-data")
    assert result.exit_code == 0, result.output
    sites = json.loads(run("sites", "--json").output)
    assert len(sites) == 53
    assert {s["kind"] for s in sites} == {"provincial_agency", "commune", "ward"}
    assert sum(s["kind"] in ("commune", "ward") for s in sites) == 45
    assert any(s["name"] == "Xã Mường Nhé" for s in sites)
    laptops = json.loads(run("devices", "--class", "laptop", "--per-page", "0", "--json").output)
    assert laptops["total"] == 1779
    firewalls = json.loads(run("devices", "--class", "firewall", "--site", "TU-VPTU", "--json").output)
    assert {d["zone"] for d in firewalls["devices"]} == {"party_wan", "internet"}
    again = run("demo-data")
    assert again.exit_code == 1 and "already loaded" in again.output


def test_demo_province_is_deterministic(tmp_path):
    from inventory import db
    from inventory.demo import apportion, load_demo
    from inventory.repository import list_devices

    assert apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(apportion(1779, [4] * 8 + [2] * 3 + [1] * 42)) == 1779
    snapshots = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.sqlite3"
        db.upgrade(url)
        with db.session_scope(db.engine_for(url)) as session:
            load_demo(session, actor="test")
            rows, total = list_devices(session, per_page=None)
        snapshots.append([(r["serial"], r["hostname"], r["model"], r["purchase_date"], r["status"], r["macs"]) for r in rows])
    assert snapshots[0] == snapshots[1]
    assert total > 4500


def test_import_error_exit_code_and_row_report(run, tmp_path):
    run("init")
    run("demo-data")
    path = tmp_path / "d.csv"
    path.write_text("Mã đơn vị,Loại thiết bị,Số sê-ri\nX-MUONG-NHE,laptop,NEW-1\nX-MUONG-NHE,bàn ghế,NEW-2\n", encoding="utf-8")
    result = run("import", "devices", path)
    assert result.exit_code == 1
    assert "row 3, column 'Loại thiết bị'" in result.output
    assert "nothing imported" in result.output
    ok = run("import", "devices", path, "--partial")
    assert ok.exit_code == 0 and "1 created" in ok.output
    assert json.loads(run("devices", "-q", "NEW-1", "--json").output)["total"] == 1


def test_export_filtered_devices(run, tmp_path):
    run("init")
    run("demo-data")
    out = tmp_path / "fw.xlsx"
    result = run("export", "devices", out, "--class", "firewall")
    assert result.exit_code == 0
    count = int(result.output.split()[0])
    assert count == json.loads(run("devices", "--class", "firewall", "--json").output)["total"]


def test_user_add_and_duplicate(run):
    run("init")
    result = run("user", "add", "lan", "--role", "planner", "--password-stdin", input="mot-mat-khau-dai\n")
    assert result.exit_code == 0
    dup = run("user", "add", "lan", "--role", "viewer")
    assert dup.exit_code == 1 and "already exists" in dup.output
    short = run("user", "add", "hai", "--role", "viewer", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 10" in short.output


def test_unknown_file_type_is_one_line(run, tmp_path):
    run("init")
    result = run("import", "devices", tmp_path / "d.txt")
    assert result.exit_code == 1 and "use .csv or .xlsx" in result.output


def test_help_everywhere(run):
    for args in (["--help"], ["import", "--help"], ["devices", "--help"], ["user", "add", "--help"]):
        result = run(*args)
        assert result.exit_code == 0 and "Usage" in result.output
