"""`kiemke backup` / `kiemke restore`: an encrypted, consistent snapshot of a home that restores
into an empty home (or empty PostgreSQL database) serving the same data and credentials."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from inventory import backup, db
from inventory.crypto import Vault
from inventory.models import Credential, Device
from inventory.settings import Settings
from tests.inventory.factories import make_province
from web.main import main

PASSPHRASE = "correct horse battery staple"
COMMUNITY = "s3cret-community-Ω"
PASSWORD = "Viewer-password-2026!"
HOSTNAMES = ["core-sw-01", "dist-sw-02", "fw-03", "pc-ke-toan-04", "máy-in-05"]


class Home:
    """One kiemke home (KIEMKE_HOME and its database URL) driven through the CLI in-process."""

    def __init__(self, path: Path, db_url: str | None = None) -> None:
        self.path, self.db_url = path, db_url
        self.settings = Settings(home=path, database_url=db_url)

    def run(self, *args, input: str | None = None):
        env = {"KIEMKE_HOME": str(self.path), "DATABASE_URL": self.db_url}
        return CliRunner().invoke(main, [str(a) for a in args], input=input, env=env, catch_exceptions=False)

    def device_list(self) -> list[dict]:
        result = self.run("devices", "--json", "--per-page", "0")
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["devices"]


def populate(home: Home) -> None:
    """init, a small province with devices, a credential typed on the CLI and a viewer."""
    assert home.run("init").exit_code == 0
    with Session(db.engine_for(home.settings.db_url)) as session:
        sites = make_province(session)
        for n, hostname in enumerate(HOSTNAMES, start=1):
            session.add(Device(device_class="access_switch", site_id=sites["S1"]["site"], hostname=hostname, mgmt_ip=f"10.1.1.{n}", serial=f"SN-{n:04d}"))
        session.commit()
    result = home.run("credential", "add", "lan-v2c", "--kind", "snmp_v2c", input=f"{COMMUNITY}\n")
    assert result.exit_code == 0, result.output
    result = home.run("user", "add", "kiemtra", "--role", "viewer", "--password-stdin", input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output


REAL_LOG2_N = backup.SCRYPT_LOG2_N


@pytest.fixture(autouse=True)
def cheap_kdf(monkeypatch):
    """scrypt at its real cost takes a second or two a passphrase here; the cost is read back from
    each file's header, so the tests use a small one except where the real cost is the point."""
    monkeypatch.setattr(backup, "SCRYPT_LOG2_N", 12)


def test_real_backups_use_a_costly_kdf(monkeypatch):
    import io

    monkeypatch.setattr(backup, "SCRYPT_LOG2_N", REAL_LOG2_N)
    sealed = io.BytesIO()
    backup._EncryptingWriter(sealed, PASSPHRASE)
    assert sealed.getvalue()[:8] == b"KIEMKEBK" and sealed.getvalue()[9] == REAL_LOG2_N >= 17  # scrypt n >= 2**17


@pytest.fixture
def sqlite_homes(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return Home(tmp_path / "original"), Home(tmp_path / "restored")


def one_error_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and len(lines) == 1, result.output
    return lines[0]


def test_sqlite_backup_restores_the_same_pages_and_credentials(sqlite_homes, tmp_path):
    original, restored = sqlite_homes
    populate(original)
    target = tmp_path / "backups" / "kiemke.kbk"
    result = original.run("backup", target, input=f"{PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    assert PASSPHRASE not in result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary file left
    sealed = target.read_bytes()
    # Encrypted: neither the database, nor the keys, nor the manifest show through.
    for plain in (b"SQLite format 3", (original.path / "credential.key").read_bytes().strip(), b"alembic_revision", b"core-sw-01"):
        assert plain not in sealed

    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(PASSPHRASE + "\n")
    result = restored.run("restore", target, "--passphrase-file", passphrase_file)
    assert result.exit_code == 0, result.output

    for name in ("secret_key", "credential.key", "kiemke.sqlite3"):
        path = restored.path / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    for name in ("secret_key", "credential.key"):
        assert (restored.path / name).read_bytes() == (original.path / name).read_bytes()
    assert not [p for p in restored.path.iterdir() if p.name.startswith(".restore-")]

    devices = restored.device_list()
    assert devices == original.device_list() and sorted(d["hostname"] for d in devices) == sorted(HOSTNAMES)
    with Session(db.engine_for(restored.settings.db_url)) as session:
        credential = session.exec(select(Credential).where(Credential.name == "lan-v2c")).one()
        token = credential.secret_token
    assert Vault(restored.settings.credential_key).open(token)["community"].get_secret_value() == COMMUNITY

    # The restored home serves the same pages, to a user of the original home (same secret key,
    # same users).
    from web import create_app

    client = create_app(Settings(home=restored.path), {"TESTING": True}).test_client()
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": "kiemtra", "password": PASSWORD, "csrf_token": token}).status_code == 302
    page = client.get("/devices/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert all(hostname in html for hostname in HOSTNAMES)
    assert re.search(rf"\b{len(HOSTNAMES)}–?\s*\w*\s*{len(HOSTNAMES)}\b", html.replace("1–", "")), "device count not shown"


def test_wrong_passphrase_or_damaged_file_is_one_line_and_changes_nothing(sqlite_homes, tmp_path):
    original, restored = sqlite_homes
    assert original.run("init").exit_code == 0
    target = tmp_path / "b.kbk"
    assert original.run("backup", target, input=f"{PASSPHRASE}\n").exit_code == 0
    good = target.read_bytes()

    assert one_error_line(restored.run("restore", target, input="not the passphrase\n")) == "error: wrong passphrase or damaged backup"
    header = backup._HEADER.size
    damaged = {
        "truncated": good[:-100],
        "header only": good[:header],
        "flipped byte": good[:5000] + bytes([good[5000] ^ 1]) + good[5001:],
        "appended bytes": good + b"\0" * 20,
        "header changed": good[:9] + bytes([good[9] - 1]) + good[10:],  # scrypt cost is authenticated
        "empty": b"",
    }
    for label, data in damaged.items():
        target.write_bytes(data)
        line = one_error_line(restored.run("restore", target, input=f"{PASSPHRASE}\n"))
        assert line == "error: wrong passphrase or damaged backup", label
    assert not list(restored.path.iterdir()), "a failed restore left files in the home"

    target.write_bytes(b"PK\x03\x04 a zip, not a backup" + good)
    assert one_error_line(restored.run("restore", target, input=f"{PASSPHRASE}\n")) == "error: not a kiemke backup"
    assert "empty" in one_error_line(original.run("backup", tmp_path / "c.kbk", input="\n"))
    assert not (tmp_path / "c.kbk").exists()


def test_restore_refuses_a_home_that_is_not_empty(sqlite_homes, tmp_path):
    original, restored = sqlite_homes
    assert original.run("init").exit_code == 0
    target = tmp_path / "b.kbk"
    assert original.run("backup", target, input=f"{PASSPHRASE}\n").exit_code == 0
    before = (original.path / "credential.key").read_bytes()
    line = one_error_line(original.run("restore", target, input=f"{PASSPHRASE}\n"))
    assert "is not empty" in line and "credential.key" in line
    assert (original.path / "credential.key").read_bytes() == before
    # A home holding only a key file (the database elsewhere) is not empty either.
    restored.path.mkdir()
    (restored.path / "secret_key").write_text("x")
    assert "is not empty" in one_error_line(restored.run("restore", target, input=f"{PASSPHRASE}\n"))


def test_an_older_backup_is_migrated_to_head_on_restore(sqlite_homes, tmp_path):
    original, restored = sqlite_homes
    original.settings.ensure_home()
    db.upgrade(original.settings.db_url, "0002")
    original.settings.secret_key, original.settings.credential_key  # noqa: B018 (create the key files)
    target = tmp_path / "old.kbk"
    assert original.run("backup", target, input=f"{PASSPHRASE}\n").exit_code == 0
    assert restored.run("restore", target, input=f"{PASSPHRASE}\n").exit_code == 0
    assert db.current_revision(restored.settings.db_url) == db.head_revision() != "0002"


_WRITER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
connection.execute("PRAGMA journal_mode=WAL")
for transaction in range(10**9):
    # Two rows a transaction: a consistent snapshot always holds an even number.
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("INSERT INTO backup_probe (n) VALUES (1)")
    connection.execute("INSERT INTO backup_probe (n) VALUES (2)")
    connection.execute("COMMIT")
    if transaction == 100:
        print("writing", flush=True)
"""


def test_backup_is_consistent_while_another_process_writes(sqlite_homes, tmp_path):
    original, restored = sqlite_homes
    assert original.run("init").exit_code == 0
    database = original.path / "kiemke.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE backup_probe (id INTEGER PRIMARY KEY, n INTEGER)")
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(database)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        target = tmp_path / "busy.kbk"
        result = original.run("backup", target, input=f"{PASSPHRASE}\n")
        assert result.exit_code == 0, result.output
    finally:
        writer.kill()
        writer.wait()
    assert restored.run("restore", target, input=f"{PASSPHRASE}\n").exit_code == 0
    with sqlite3.connect(restored.path / "kiemke.sqlite3") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = connection.execute("SELECT count(*) FROM backup_probe").fetchone()[0]
    assert rows >= 202, "the snapshot misses transactions committed before the backup started"
    assert rows % 2 == 0, f"the snapshot holds half a transaction ({rows} rows)"


def test_a_dropped_or_reordered_chunk_is_detected(tmp_path):
    """A backup bigger than one chunk: the stream ends with an authenticated "last" chunk, so
    cutting the file at a chunk boundary or swapping chunks is caught, not silently accepted."""
    import io

    plain = os.urandom(int(2.5 * backup.CHUNK_SIZE))
    sealed = io.BytesIO()
    writer = backup._EncryptingWriter(sealed, PASSPHRASE)
    writer.write(plain)
    writer.finish()
    data = sealed.getvalue()
    header = backup._HEADER.size
    chunks, offset = [], header
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        chunks.append(data[offset : offset + 4 + length])
        offset += 4 + length
    assert len(chunks) == 3

    def read(blob: bytes) -> bytes:
        reader = backup._DecryptingReader(io.BytesIO(blob), PASSPHRASE)
        out = io.BufferedReader(reader).read()
        reader.read_to_end()
        return out

    assert read(data) == plain
    last_chunk_dropped = data[:header] + chunks[0] + chunks[1]
    chunks_swapped = data[:header] + chunks[1] + chunks[0] + chunks[2]
    for blob in (last_chunk_dropped, chunks_swapped):
        with pytest.raises(backup.BackupError, match="wrong passphrase or damaged backup"):
            read(blob)


# --- PostgreSQL ----------------------------------------------------------------------------

ADMIN_URL = os.environ.get("KIEMKE_TEST_DATABASE_URL")


@pytest.fixture
def empty_pg_database():
    """A fresh, empty database on the test server (the restore target); dropped afterwards."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")

    def run_sql(statement: str) -> None:
        with admin.connect() as connection:
            connection.execute(text(statement))

    name = f"kiemke_restore_{uuid.uuid4().hex[:12]}"
    run_sql(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    db.engine_for(url).dispose()
    run_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.mark.db
@pytest.mark.skipif(not ADMIN_URL or not ADMIN_URL.startswith("postgresql"), reason="needs KIEMKE_TEST_DATABASE_URL (a PostgreSQL server)")
def test_postgresql_backup_restores_into_an_empty_database(db_url, empty_pg_database, tmp_path):
    try:
        tool, server = backup.pg_tool_major("pg_dump"), backup.pg_server_major(db_url)
    except backup.BackupError as exc:
        pytest.skip(str(exc))
    if tool != server:
        pytest.skip(f"pg_dump {tool} does not match the PostgreSQL {server} test server")
    original, restored = Home(tmp_path / "original", db_url), Home(tmp_path / "restored", empty_pg_database)
    populate(original)
    target = tmp_path / "pg.kbk"
    result = original.run("backup", target, input=f"{PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    password = make_url(db_url).password
    assert not password or password not in result.output

    result = restored.run("restore", target, input=f"{PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    assert restored.device_list() == original.device_list()
    with Session(db.engine_for(empty_pg_database)) as session:
        token = session.exec(select(Credential.secret_token).where(Credential.name == "lan-v2c")).one()
    assert Vault(restored.settings.credential_key).open(token)["community"].get_secret_value() == COMMUNITY

    # The database now has tables: a second restore (into a fresh home) is refused.
    again = Home(tmp_path / "again", empty_pg_database)
    assert "already has tables" in one_error_line(again.run("restore", target, input=f"{PASSPHRASE}\n"))


def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    from inventory.atomic_file import atomic_write

    target = tmp_path / "nightly.kbk"
    target.write_bytes(b"yesterday's backup")
    with pytest.raises(KeyboardInterrupt), atomic_write(target, "backup") as temporary:
        assert temporary.parent == tmp_path and stat.S_IMODE(temporary.stat().st_mode) == 0o600
        temporary.write_bytes(b"half of today's")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"yesterday's backup"
    assert [path.name for path in tmp_path.iterdir()] == [target.name]
