"""The SQLite database (and its WAL and shared-memory files) is private to its owner whoever
opens it first: the `kiemke` command sets umask 077, but a bench, a WSGI server or a script that
imports kiemke may run with the usual 022."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_database_made_under_umask_022_is_0600(tmp_path):
    database = tmp_path / "kiemke.sqlite3"
    script = (
        "import os; os.umask(0o022)\n"
        "from sqlalchemy import text\n"
        "from inventory import db\n"
        f"url = 'sqlite:///{database}'\n"
        "db.upgrade(url)\n"
        "engine = db.engine_for(url)\n"
        "connection = engine.connect(); connection.execute(text('SELECT 1 FROM data_revision')).all()\n"
        "import json, stat, sys\n"
        "print(json.dumps({n: stat.S_IMODE(os.stat(os.path.join(sys.argv[1], n)).st_mode) for n in os.listdir(sys.argv[1])}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120, env={**os.environ})
    assert result.returncode == 0, result.stderr
    modes = json.loads(result.stdout)  # taken while the connection was open
    assert {"kiemke.sqlite3", "kiemke.sqlite3-wal", "kiemke.sqlite3-shm"} <= set(modes)
    assert {name: oct(m) for name, m in modes.items()} == {name: oct(0o600) for name in modes}


def test_an_existing_world_readable_database_is_tightened(tmp_path):
    from inventory import db

    database = tmp_path / "old.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o644)
    db.private_sqlite_file(f"sqlite:///{database}")
    assert mode(database) == 0o600
