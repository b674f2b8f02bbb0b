"""Write or refresh a golden case's expected.json from what the engine says today.

    .venv/bin/python tests/compliance/make_golden.py tests/compliance/golden/cisco_ios/<case> \
        --device-class access_switch --description "..." [--write]

Without --write it prints the outcomes. Review every line before writing: the golden file is
the specification, not a recording.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script

from compliance.configcheck import check_config_text
from compliance.policy import load_policy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", type=Path)
    parser.add_argument("--device-class")
    parser.add_argument("--description")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    expected_path = args.case / "expected.json"
    old = json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else {}
    device_class = args.device_class or old.get("device_class", "access_switch")
    platform = args.case.parent.name
    text = (args.case / "running-config.txt").read_text(encoding="utf-8")
    outcomes = check_config_text(text, platform, load_policy(), device_class)
    data = {
        "description": args.description or old.get("description", ""),
        "device_class": device_class,
        "rules": {o.rule_id: {"passed": o.passed, "evidence": o.evidence} for o in outcomes},
    }
    for o in outcomes:
        print(f"{o.status:4} {o.rule_id:32} expected: {o.expected}\n     {'':32} actual:   {o.actual}")
        for line in o.evidence:
            print(f"     {'':32}   {line}")
    if args.write:
        expected_path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
