"""`kiemke check-config` refuses input that is not the chosen platform's configuration (naming
the platform it resembles), and its exit status tells passed / failed / not evaluated / refused.

The public corpus (../shared/corpus, outside the project, with its provenance) holds real IOS and
FortiOS files written by others: each must be taken on its own platform and refused on the other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.configparse.sniff import LINES_READ, refusal, resemblance
from web.main import main

GOLDEN = Path(__file__).parent / "golden"
CORPUS = Path(os.environ.get("KIEMKE_CORPUS", Path(__file__).resolve().parents[2].parent / "shared" / "corpus"))
CORPUS_DIRS = {"ios": "cisco_ios", "fortios": "fortinet"}
CORPUS_FILES = sorted(f for d in CORPUS_DIRS for f in (CORPUS / d).glob("*") if f.is_file()) if CORPUS.is_dir() else []
OTHER = {"cisco_ios": "fortinet", "fortinet": "cisco_ios"}


@pytest.mark.skipif(not CORPUS_FILES, reason=f"the shared corpus is not at {CORPUS} (set KIEMKE_CORPUS)")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_file_is_taken_on_its_platform_and_refused_on_the_other(path: Path) -> None:
    platform = CORPUS_DIRS[path.parent.name]
    text = path.read_text(encoding="utf-8", errors="replace")
    assert refusal(text, platform) is None
    why = refusal(text, OTHER[platform])
    assert why is not None and f"resembles {platform}" in why


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*/*/running-config.txt")), ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_golden_files_are_taken(path: Path) -> None:
    assert refusal(path.read_text(encoding="utf-8"), path.parent.parent.name) is None


@pytest.mark.parametrize(
    ("text", "platform", "reason"),
    [
        ("", "cisco_ios", "no configuration statements"),
        ("!\n! only comments\n!\n\n", "cisco_ios", "no configuration statements"),
        ("#config-version=FGT60F-7.2.5\n#conf_file_ver=1\n", "fortinet", "no configuration statements"),  # a header, nothing else
        ("hostname sw1\nline vty 0 4\n transport input ssh\nip ssh version 2\nsnmp-server community x RO\n", "fortinet", "resembles cisco_ios"),
        ("config system global\n    set hostname fw\n    set admintimeout 5\nend\nconfig system admin\n    edit admin\n    next\nend\n", "cisco_ios", "resembles fortinet"),
        ("sysname SW1\nstelnet server enable\nuser-interface vty 0 4\n authentication-mode aaa\n protocol inbound ssh\nreturn\n", "cisco_ios", "resembles huawei_vrp"),
        ("set system host-name ex1\nset system services ssh protocol-version v2\nset snmp community public authorization read-only\n", "fortinet", "resembles juniper_junos"),
        (
            "set deviceconfig system hostname pa1\nset mgt-config users admin permissions role-based superuser yes\nset rulebase security rules r1 action allow\n",
            "cisco_ios",
            "resembles paloalto_panos",
        ),
        ('; J9774A Configuration Editor; Created on release #YA.16.10\nhostname "sw1"\nno telnet-server\n', "cisco_ios", "resembles aruba_osswitch"),
        ("just some prose\nthat is not a configuration at all\n", "cisco_ios", "none of its statements"),
        ("hostname x\x00\x01\x02" * 50, "cisco_ios", "not text"),
        ("<html><body>Login</body></html>\n", "fortinet", "none of its statements"),
    ],
)
def test_input_that_is_not_the_platforms_configuration_is_refused(text: str, platform: str, reason: str) -> None:
    why = refusal(text, platform)
    assert why is not None and reason in why


def test_only_the_head_of_a_huge_file_is_read() -> None:
    seen = resemblance("hostname sw1\n" + "x\n" * (LINES_READ * 3))
    assert seen.statements == LINES_READ and seen.scores["cisco_ios"] == 3


def test_check_config_exit_statuses(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KIEMKE_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    hardened = next(GOLDEN.glob("cisco_ios/*hardened*/running-config.txt"))

    def check(text: str, platform: str = "cisco_ios"):
        path = tmp_path / "config.txt"
        path.write_text(text, encoding="utf-8")
        return runner.invoke(main, ["check-config", str(path), "--platform", platform, "--json"])

    assert check(hardened.read_text()).exit_code == 0
    assert check("hostname X\nline vty 0 4\n transport input telnet\n!\nend\n").exit_code == 1
    # A rule whose statement could not be read, nothing failed: not evaluated.
    unread = check(hardened.read_text().replace("ip ssh version 2\n", "ip ssh version 2\nlogging host\n"))
    assert unread.exit_code == 2, unread.output
    assert json.loads(unread.output)["not_evaluated"] >= 1 and json.loads(unread.output)["failed"] == 0
    refused = check(hardened.read_text(), "fortinet")
    assert refused.exit_code == 3 and "resembles cisco_ios" in refused.output and "choose --platform cisco_ios" in refused.output
    comments = check("! nothing\n!\n")
    assert comments.exit_code == 3 and "only comments" in comments.output and "Traceback" not in comments.output


def test_panos_xml_is_refused_with_the_way_to_the_set_form() -> None:
    from compliance.configparse.sniff import refusal

    xml = '<?xml version="1.0"?>\n<config version="11.1.0" urldb="paloaltonetworks">\n  <mgt-config><users/></mgt-config>\n</config>\n'
    reason = refusal(xml, "paloalto_panos")
    assert reason is not None and "XML" in reason and "set cli config-output-format set" in reason
    api = '<response status="success"><result><config version="10.2.0">\n<devices/></config></result></response>\n'
    assert "XML" in (refusal(api, "paloalto_panos") or "")
