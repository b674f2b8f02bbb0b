"""Fault matrix: a full disk while writing a backup or an export. The real `kiemke` command runs
in a child process whose target directory is a tiny tmpfs (a private mount namespace), or - where
mounting is not allowed - under a file size limit (RLIMIT_FSIZE, SIGXFSZ ignored). Each write
must fail with exit status 1 and one line, leave no file and no temporary file, and leave the
source database as it was."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert
from sqlmodel import Session

from inventory import backup, db
from inventory.models import Device
from tests.inventory.factories import make_province
from web.main import main

SPACE = 32 * 1024  # bytes available in the target directory
DEVICES = 1000

# Runs each [command, file size limit or null] of argv[1] (JSON) through the real `kiemke` group
# in this process and reports its exit status and what it left in the target directory argv[2].
_DRIVER = r"""
import json, os, resource, signal, sys
import inventory.backup
from web.main import main
inventory.backup.SCRYPT_LOG2_N = 12  # the passphrase's cost is not what is tested here
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
for args, limit in json.loads(sys.argv[1]):
    if limit:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    try:
        main(args, prog_name="kiemke")
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    sys.stderr.flush()
    left = sorted(os.listdir(sys.argv[2])) if os.path.isdir(sys.argv[2]) else []
    print("REPORT", json.dumps({"args": args, "exit": code, "left": left}), flush=True)
"""


def _tmpfs_works(tmp_path: Path) -> bool:
    if not shutil.which("unshare"):
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    result = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs '{probe}'"], capture_output=True)
    return result.returncode == 0


@pytest.fixture
def big_home(tmp_path, monkeypatch):
    """A SQLite home whose database, backup and export are all much bigger than SPACE."""
    home = tmp_path / "home"
    monkeypatch.setenv("KIEMKE_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    url = f"sqlite:///{home / 'kiemke.sqlite3'}"
    engine = db.engine_for(url)
    with Session(engine) as session:
        site = make_province(session, sites=1)["S1"]["site"]
        rows = [
            {"device_class": "desktop", "site_id": site, "hostname": f"pc-{n:05d}-{uuid.uuid4().hex}", "serial": uuid.uuid4().hex, "model": uuid.uuid4().hex}
            for n in range(DEVICES)
        ]  # fmt: skip
        session.execute(insert(Device), rows)
        session.commit()
    engine.dispose()  # last connection closed: the WAL is folded into the file
    return home


def _reports(stdout: str) -> list[dict]:
    return [json.loads(line.removeprefix("REPORT ")) for line in stdout.splitlines() if line.startswith("REPORT ")]


def _fingerprint(database: Path) -> tuple[str, str, int]:
    digest = hashlib.sha256(database.read_bytes()).hexdigest()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        check = connection.execute("PRAGMA integrity_check").fetchone()[0]
        devices = connection.execute("SELECT count(*) FROM device").fetchone()[0]
    return digest, check, devices


@pytest.mark.parametrize("mechanism", ["tmpfs", "rlimit_fsize"])
def test_full_disk_while_writing_a_backup_or_an_export(big_home, tmp_path, mechanism, monkeypatch):
    if mechanism == "tmpfs" and not _tmpfs_works(tmp_path):
        pytest.skip("cannot mount a tmpfs in a private mount namespace here (needs root or CAP_SYS_ADMIN); the rlimit_fsize case covers it")
    monkeypatch.setattr(backup, "SCRYPT_LOG2_N", 12)  # the passphrase's cost is not what is tested here
    database = big_home / "kiemke.sqlite3"
    before = _fingerprint(database)
    assert before[1:] == ("ok", DEVICES)
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text("a long enough passphrase\n")
    full, roomy = tmp_path / "full", tmp_path / "roomy"
    full.mkdir()
    roomy.mkdir()

    def commands(directory: Path, limited: bool = False) -> str:
        # Under a file size limit the backup's first step, a snapshot of the database in TMPDIR,
        # must get through: its limit lets that copy pass and stops the (larger) backup itself.
        backup_limit, export_limit = (database.stat().st_size + 2048, SPACE) if limited else (None, None)
        return json.dumps([
            [["backup", str(directory / "kiemke.kbk"), "--passphrase-file", str(passphrase_file)], backup_limit],
            [["export", "devices", str(directory / "devices.csv")], export_limit],
            [["export", "devices", str(directory / "devices.xlsx")], export_limit],
        ])  # fmt: skip

    # With room, the same commands write files bigger than the space the full disk has.
    for args, _limit in json.loads(commands(roomy)):
        assert CliRunner().invoke(main, args).exit_code == 0, args
    assert sorted(path.name for path in roomy.iterdir()) == ["devices.csv", "devices.xlsx", "kiemke.kbk"]
    assert all(path.stat().st_size > SPACE for path in roomy.iterdir())

    child_env = {**os.environ, "KIEMKE_HOME": str(big_home)}
    child_env.pop("DATABASE_URL", None)
    if mechanism == "tmpfs":
        script = f'mount -t tmpfs -o size={SPACE} tmpfs "$1" && shift && exec "$@"'
        argv = ["unshare", "-m", "sh", "-c", script, "sh", str(full), sys.executable, "-c", _DRIVER, commands(full), str(full)]
    else:
        argv = [sys.executable, "-c", _DRIVER, commands(full, limited=True), str(full)]
    result = subprocess.run(argv, env=child_env, capture_output=True, text=True, timeout=120)
    reports = _reports(result.stdout)
    assert len(reports) == 3, result.stdout + result.stderr

    errors = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and len(errors) == 3, result.stderr
    reason = "no space left on device" if mechanism == "tmpfs" else "file size limit reached"
    for report, line in zip(reports, errors, strict=True):
        what, target = ("backup", report["args"][1]) if report["args"][0] == "backup" else ("export", report["args"][2])
        assert report["exit"] == 1, report
        assert report["left"] == [], f"{report['args']} left {report['left']} behind"
        assert line == f"error: {reason} while writing {what} {target}; nothing was written"
    assert not list(full.iterdir())
    assert _fingerprint(database) == before, "the source database changed"
