"""A bad setting in the environment is one line naming the variable, for every command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KIEMKE = [sys.executable, "-c", "from web.main import main; main()"]


def run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "KIEMKE_HOME": str(tmp_path / "home"), **env}
    return subprocess.run([*KIEMKE, "sites"], env=environment, capture_output=True, text=True, timeout=60)


def test_an_invalid_setting_is_one_line_naming_the_variable(tmp_path):
    result = run(tmp_path, KIEMKE_SNMP_PORT="0", KIEMKE_TRUSTED_PROXIES="many")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "KIEMKE_SNMP_PORT='0'" in lines[0] and "KIEMKE_TRUSTED_PROXIES='many'" in lines[0]


def test_good_settings_still_run(tmp_path):
    result = run(tmp_path, KIEMKE_SNMP_PORT="1161")
    assert "invalid setting" not in result.stderr
