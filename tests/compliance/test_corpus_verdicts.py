"""The shared corpus of public configurations (written by others; read where it lies, never
copied here): every file is judged without a crash, every rule gets a verdict or a stated
reason, and the verdicts are the recorded table `corpus_verdicts.json` — a change that moves
one must update the table on purpose:

    KIEMKE_UPDATE_CORPUS_VERDICTS=1 .venv/bin/pytest -q tests/compliance/test_corpus_verdicts.py

(then read the diff of corpus_verdicts.json before committing it). Skipped where the corpus is
not beside the checkout (set KIEMKE_CORPUS)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from compliance.configcheck import check_config_text
from compliance.configparse import parse_config
from compliance.policy import load_policy
from inventory.choices import CLASS_BY_PLATFORM
from tests.compliance.test_config_sniff import CORPUS, CORPUS_DIRS, CORPUS_FILES

TABLE = Path(__file__).with_name("corpus_verdicts.json")
WORDS = {True: "pass", False: "fail", None: "not evaluated"}
# Rules a FortiOS fragment can pass on statements it holds (interfaces without Telnet or HTTP,
# its own SNMP, admins and policies); the global settings it lacks decide nothing.
HELD_IN_A_FRAGMENT = {
    "net.telnet_off", "net.http_mgmt_off", "net.ntp_two_servers", "net.snmp_v3_only", "net.snmp_no_default_community",
    "net.snmp_no_rw_community", "net.aaa_login", "net.vty_acl", "net.fw_default_deny",
}  # fmt: skip


def _verdicts(path: Path) -> dict[str, str]:
    platform = CORPUS_DIRS[path.parent.name]
    text = path.read_text(encoding="utf-8", errors="replace")
    found = {}
    for outcome in check_config_text(text, platform, load_policy(), CLASS_BY_PLATFORM[platform]):
        if outcome.passed is None:
            assert outcome.actual.startswith(("not evaluated: ", "not applicable on ")), (outcome.rule_id, outcome.actual)
            found[outcome.rule_id] = "not applicable" if outcome.actual.startswith("not applicable") else "not evaluated"
        else:
            assert outcome.actual, outcome.rule_id
            found[outcome.rule_id] = WORDS[outcome.passed]
    return found


@pytest.mark.skipif(not CORPUS_FILES, reason=f"the shared corpus is not at {CORPUS} (set KIEMKE_CORPUS)")
def test_the_corpus_verdicts_are_the_recorded_ones() -> None:
    table = {f"{p.parent.name}/{p.name}": _verdicts(p) for p in CORPUS_FILES}
    if os.environ.get("KIEMKE_UPDATE_CORPUS_VERDICTS"):
        TABLE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    recorded = json.loads(TABLE.read_text(encoding="utf-8"))
    changed = {name: {rule: (recorded.get(name, {}).get(rule), verdict) for rule, verdict in rules.items() if recorded.get(name, {}).get(rule) != verdict} for name, rules in table.items()}
    changed = {name: rules for name, rules in changed.items() if rules}
    assert not changed, f"verdicts moved (recorded, now): {json.dumps(changed, indent=1)[:3000]}"
    assert sorted(recorded) == sorted(table)


@pytest.mark.skipif(not CORPUS_FILES, reason=f"the shared corpus is not at {CORPUS} (set KIEMKE_CORPUS)")
def test_no_corpus_file_passes_a_rule_on_a_fragment() -> None:
    """Per-VDOM backups and pasted fragments: whatever a rule reads that is not in the file leaves
    it not evaluated; none of the table's passes on such a file rests on an assumed default."""
    recorded = json.loads(TABLE.read_text(encoding="utf-8"))
    for path in CORPUS_FILES:
        text = path.read_text(encoding="utf-8", errors="replace")
        platform = CORPUS_DIRS[path.parent.name]
        # `config sys glo` is the global section too: ask the parser, which reads abbreviations.
        whole = platform != "fortinet" or not any("no `config system global`" in u.reason for u in parse_config(text, platform).unreadable)
        if not whole:
            passes = {rule for rule, verdict in recorded[f"{path.parent.name}/{path.name}"].items() if verdict == "pass"}
            assert passes <= HELD_IN_A_FRAGMENT, (path.name, passes)
