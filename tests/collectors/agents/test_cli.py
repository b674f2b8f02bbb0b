"""`kiemke agents add|list|disable|enable` and `kiemke import-agent`, through the real `kiemke`
group over a real database."""

from __future__ import annotations

import base64
import json
import shutil
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from collectors.agents.service import answer_post
from inventory.models import AgentAccount, Device, Observation
from tests.collectors.agents.conftest import FIXTURES
from tests.inventory.factories import make_province
from web.main import main

pytestmark = pytest.mark.db


@pytest.fixture
def run(kiemke_env, engine, session):
    make_province(session, sites=30)  # the laptop's 10.20.1.42 is in S20's Party WAN; the Linux PC's 10.30.2.51 in S30's
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    assert invoke("init").exit_code == 0
    return invoke


def _count(session, model) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_add_prints_the_password_once_and_keeps_only_its_hash(run, session):
    added = run("agents", "add", "s20-agents", "--site", "S20", "--zone", "party_wan")
    assert added.exit_code == 0, added.output
    lines = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in added.output.splitlines() if line.startswith(("user:", "password:"))}
    assert lines["user"] == "s20-agents" and len(lines["password"]) >= 32
    account = session.execute(select(AgentAccount).where(AgentAccount.name == "s20-agents")).scalar_one()
    assert account.password_hash != lines["password"] and lines["password"] not in account.password_hash
    assert account.zone_kind == "party_wan"

    as_json = json.loads(run("agents", "add", "s1-agents", "--site", "S1", "--json").output)
    assert as_json["user"] == "s1-agents" and as_json["site"] == "S1" and as_json["zone"] is None
    assert len(as_json["password"]) >= 32 and as_json["password"] != lines["password"]

    listed_text = run("agents", "list").output
    listed = json.loads(run("agents", "list", "--json").output)
    assert [row["name"] for row in listed] == ["s1-agents", "s20-agents"]
    for secret in (lines["password"], as_json["password"], account.password_hash):
        assert secret not in listed_text and secret not in json.dumps(listed)
    assert not any("hash" in key or "password" in key for row in listed for key in row)
    assert "s20-agents" in listed_text and "S20" in listed_text

    again = run("agents", "add", "s20-agents", "--site", "S20")
    assert again.exit_code == 1 and "exists already" in again.output
    unknown_site = run("agents", "add", "nowhere", "--site", "S99")
    assert unknown_site.exit_code == 1 and "no site with code 'S99'" in unknown_site.output and "Traceback" not in unknown_site.output


def test_a_disabled_account_can_neither_post_nor_import(run, engine, session):
    issued = json.loads(run("agents", "add", "s20-agents", "--site", "S20", "--json").output)
    authorization = "Basic " + base64.b64encode(f"{issued['user']}:{issued['password']}".encode()).decode()
    body = zlib.compress((FIXTURES / "windows11_laptop.json").read_bytes())

    disabled = run("agents", "disable", "s20-agents")
    assert disabled.exit_code == 0 and "disabled" in disabled.output
    assert "already disabled" in run("agents", "disable", "s20-agents").output
    assert json.loads(run("agents", "list", "--json").output)[0]["enabled"] is False
    reply = answer_post(engine, body, authorization=authorization, agent_id=None, report_stored=lambda *_: None)
    assert reply.status == 401
    refused = run("import-agent", FIXTURES / "windows11_laptop.json", "--account", "s20-agents")
    assert refused.exit_code == 1 and "disabled" in refused.output
    assert _count(session, Device) == 0

    assert run("agents", "enable", "s20-agents").exit_code == 0
    reply = answer_post(engine, body, authorization=authorization, agent_id=None, report_stored=lambda *_: None)
    assert reply.status == 200 and _count(session, Device) == 1


def test_import_agent_reports_each_file_and_changes_nothing_the_second_time(run, session, tmp_path):
    run("agents", "add", "s20-agents", "--site", "S20", "--zone", "party_wan")
    folder = tmp_path / "from-the-commune"
    folder.mkdir()
    for name in ("windows11_laptop.json", "windows10_desktop.json", "fusion_prolog.xml", "fusion_linux_inventory.xml"):
        shutil.copy(FIXTURES / name, folder / name)
    (folder / "truncated.json").write_bytes((FIXTURES / "windows11_laptop.json").read_bytes()[:500])
    (folder / "notes.txt").write_text("not an agent file: skipped")

    first = run("import-agent", folder, "--account", "s20-agents", "--json")
    assert first.exit_code == 1  # some files failed
    result = json.loads(first.output)
    by_name = {row["name"]: row for row in result["files"]}
    assert sorted(by_name) == ["fusion_linux_inventory.xml", "fusion_prolog.xml", "truncated.json", "windows10_desktop.json", "windows11_laptop.json"]
    assert by_name["windows11_laptop.json"]["status"] == "created" and by_name["windows10_desktop.json"]["status"] == "created"
    assert "not an inventory" in by_name["fusion_prolog.xml"]["reason"]
    assert "belong to another site than S20" in by_name["fusion_linux_inventory.xml"]["reason"]
    assert by_name["truncated.json"]["status"] == "failed" and by_name["truncated.json"]["reason"]
    assert (result["created"], result["failed"]) == (2, 3)
    devices, observations = _count(session, Device), _count(session, Observation)
    assert devices == 2

    again = run("import-agent", folder / "windows11_laptop.json", folder / "windows10_desktop.json", "--account", "s20-agents")
    assert again.exit_code == 0, again.output
    assert "windows11_laptop.json: unchanged" in again.output and "2 files: 0 devices created, 0 updated, 2 unchanged, 0 failed" in again.output
    assert (_count(session, Device), _count(session, Observation)) == (devices, observations)

    partial = run("import-agent", FIXTURES / "partial_antivirus.json", "--account", "s20-agents", "--json")
    assert partial.exit_code == 0 and json.loads(partial.output)["updated"] == 1
    assert _count(session, Device) == devices


def test_import_agent_names_the_bad_file_in_words(run, tmp_path):
    run("agents", "add", "s20-agents", "--site", "S20", "--zone", "party_wan")
    missing = tmp_path / "gone.ocs"
    shown = run("import-agent", missing, "--account", "s20-agents")
    assert shown.exit_code == 1 and "gone.ocs: failed: cannot read the file" in shown.output and "Traceback" not in shown.output


def test_import_agent_with_an_unknown_account_says_so(run):
    result = run("import-agent", FIXTURES / "windows11_laptop.json", "--account", "nobody")
    assert result.exit_code == 1 and "no agent account named 'nobody'" in result.output and "Traceback" not in result.output
    empty = run("agents", "disable", "nobody")
    assert empty.exit_code == 1 and "no agent account named 'nobody'" in empty.output


def test_import_agent_on_a_folder_without_agent_files(run, tmp_path: Path):
    run("agents", "add", "s20-agents", "--site", "S20", "--zone", "party_wan")
    result = run("import-agent", tmp_path, "--account", "s20-agents")
    assert result.exit_code == 1 and "no agent inventory files" in result.output


def test_a_file_that_kills_its_parser_fails_alone_and_the_others_go_in(run, session, tmp_path, monkeypatch):
    """Agent files are parsed in a limited child process (issue 11): a file that aborts the reader
    or needs more memory than its limit is one failed file with the reason; the command and the
    other files carry on."""
    from collectors.agents import service

    monkeypatch.setattr(service, "SANDBOX_CHILD", "tests.collectors.agents.crashing_child")
    run("agents", "add", "s20-agents", "--site", "S20", "--zone", "party_wan")
    folder = tmp_path / "bundle"
    folder.mkdir()
    shutil.copy(FIXTURES / "windows11_laptop.json", folder / "a_laptop.json")
    (folder / "abort.json").write_text("{}")
    (folder / "hog.json").write_text("{}")
    shutil.copy(FIXTURES / "windows10_desktop.json", folder / "z_desktop.json")

    result = run("import-agent", folder, "--account", "s20-agents", "--json")
    assert result.exit_code == 1
    by_name = {row["name"]: row for row in json.loads(result.output)["files"]}
    assert by_name["a_laptop.json"]["status"] == "created" and by_name["z_desktop.json"]["status"] == "created"
    assert by_name["abort.json"] == {"name": "abort.json", "status": "failed", "device_id": None, "reason": "could not be read: the reader crashed (signal 6)"}
    assert by_name["hog.json"]["status"] == "failed" and "needs more than 1 GiB of memory" in by_name["hog.json"]["reason"]
    assert _count(session, Device) == 2


def test_agent_files_are_parsed_in_a_child_process_not_in_the_caller(monkeypatch, tmp_path):
    from collectors.agents import messages, service

    def refuse(*_args, **_kwargs):
        raise AssertionError("parsed in the calling process")

    monkeypatch.setattr(messages, "read_message", refuse)  # the child has its own, untouched
    shutil.copy(FIXTURES / "windows11_laptop.json", tmp_path / "one.json")
    ((path, parsed),) = list(service._parsed_files([tmp_path / "one.json"]))
    assert parsed["report"]["hostname"] and len(parsed["sha256"]) == 64
