"""Encrypted backups of a kiemke home: the database and the two key files, and their restore.

A backup is a tar stream - manifest.json, secret_key, credential.key and the database (a SQLite
snapshot from the online backup API, consistent while the web server and scheduler write; or a
`pg_dump -Fc` archive) - encrypted with a passphrase:

    header  = MAGIC | version | log2(n) | r | p | salt(16) | chunk size     (authenticated)
    chunks  = [length(4) | AES-256-GCM(chunk)]...                          (key: scrypt(passphrase, salt))

Each chunk's nonce is its index and its associated data is the header, the index and a "last"
flag, so a chunk cannot be reordered, dropped or appended and a truncated file is detected. The
archive streams through in chunks: a database of any size is never held in memory. A restore
unpacks into a staging directory, and only after the last chunk authenticates does anything
move into the home.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from inventory import db
from inventory.atomic_file import atomic_write
from inventory.settings import Settings

MAGIC = b"KIEMKEBK"
FORMAT_VERSION = 1
_HEADER = struct.Struct(">8sBBBB16sI")
_LENGTH = struct.Struct(">I")
CHUNK_SIZE = 1 << 20
# scrypt n = 2**17, r = 8: 128 MiB and a fraction of a second per passphrase guess.
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 17, 8, 1
_MAX_LOG2_N = 20  # a damaged header must not make a restore allocate gigabytes

KEY_FILES = ("secret_key", "credential.key")
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
DAMAGED = "wrong passphrase or damaged backup"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is one line for the user."""


@dataclass(frozen=True)
class BackupSummary:
    database: str
    revision: str | None
    size: int


# --- encryption ----------------------------------------------------------------------------


def _derive(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> AESGCM:
    if not passphrase:
        raise BackupError("the passphrase is empty")
    key = Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(passphrase.encode())
    return AESGCM(key)


def _nonce_and_aad(header: bytes, index: int, last: bool) -> tuple[bytes, bytes]:
    return index.to_bytes(12, "big"), header + struct.pack(">QB", index, last)


class _EncryptingWriter(io.RawIOBase):
    """A write-only stream that seals what it is given in chunks and writes them to `raw`."""

    def __init__(self, raw, passphrase: str) -> None:
        salt = os.urandom(16)
        self._header = _HEADER.pack(MAGIC, FORMAT_VERSION, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, salt, CHUNK_SIZE)
        self._aead = _derive(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
        self._raw, self._buffer, self._index = raw, bytearray(), 0
        raw.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK_SIZE:  # keep at least one byte back for the last chunk
            self._seal(bytes(self._buffer[:CHUNK_SIZE]), last=False)
            del self._buffer[:CHUNK_SIZE]
        return len(data)

    def finish(self) -> None:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _seal(self, plain: bytes, *, last: bool) -> None:
        nonce, aad = _nonce_and_aad(self._header, self._index, last)
        sealed = self._aead.encrypt(nonce, plain, aad)
        self._raw.write(_LENGTH.pack(len(sealed)) + sealed)
        self._index += 1


class _DecryptingReader(io.RawIOBase):
    """A read-only stream of the plain archive; raises BackupError(DAMAGED) on any doubt."""

    def __init__(self, raw, passphrase: str) -> None:
        header = raw.read(_HEADER.size)
        if len(header) != _HEADER.size:
            raise BackupError(DAMAGED)
        magic, fmt, log2_n, r, p, salt, chunk_size = _HEADER.unpack(header)
        if magic != MAGIC:
            raise BackupError("not a kiemke backup")
        if fmt != FORMAT_VERSION or not (10 <= log2_n <= _MAX_LOG2_N) or not (1 <= r <= 32) or not (1 <= p <= 16) or chunk_size > 64 * CHUNK_SIZE:
            raise BackupError(DAMAGED)
        self._header, self._chunk_size = header, chunk_size
        self._aead = _derive(passphrase, salt, log2_n, r, p)
        self._raw, self._plain, self._offset, self._index, self._done = raw, b"", 0, 0, False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._offset == len(self._plain) and not self._done:
            self._open_next()
        count = min(len(buffer), len(self._plain) - self._offset)
        buffer[:count] = self._plain[self._offset : self._offset + count]
        self._offset += count
        return count

    def read_to_end(self) -> None:
        """Authenticate every remaining chunk (the archive reader may stop before the end)."""
        while not self._done:
            self._open_next()
        if self._raw.read(1):
            raise BackupError(DAMAGED)

    def _open_next(self) -> None:
        prefix = self._raw.read(_LENGTH.size)
        if len(prefix) != _LENGTH.size:
            raise BackupError(DAMAGED)  # truncated: the last chunk never came
        (length,) = _LENGTH.unpack(prefix)
        if length > self._chunk_size + 16:
            raise BackupError(DAMAGED)
        sealed = self._raw.read(length)
        if len(sealed) != length:
            raise BackupError(DAMAGED)
        for last in (False, True):
            nonce, aad = _nonce_and_aad(self._header, self._index, last)
            try:
                self._plain, self._offset = self._aead.decrypt(nonce, sealed, aad), 0
            except InvalidTag:
                continue
            self._index += 1
            self._done = last
            return
        raise BackupError(DAMAGED)


# --- backup --------------------------------------------------------------------------------


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def create_backup(settings: Settings, target: Path, passphrase: str) -> BackupSummary:
    """Write an encrypted backup of `settings`' database and key files to `target`, atomically."""
    if not passphrase:
        raise BackupError("the passphrase is empty")
    url = settings.db_url
    keys = {name: settings.home / name for name in KEY_FILES}
    for path in keys.values():
        if not path.is_file():
            raise BackupError(f"{path} is missing: nothing to back up (run `kiemke init` first)")
    if not is_postgres(url) and not sqlite_path(url).is_file():
        raise BackupError(f"no database at {sqlite_path(url)}: nothing to back up (run `kiemke init` first)")
    revision = db.current_revision(url)
    if revision is None:
        raise BackupError("the database is empty: nothing to back up")
    with tempfile.TemporaryDirectory(prefix="kiemke-backup-") as scratch:
        if is_postgres(url):
            kind, member = "postgresql", POSTGRES_MEMBER
            snapshot = _pg_dump(url, Path(scratch) / member)
        else:
            kind, member = "sqlite", SQLITE_MEMBER
            snapshot = _sqlite_snapshot(sqlite_path(url), Path(scratch) / member)
        members = {member: snapshot, **keys}
        manifest = {
            "format": FORMAT_VERSION,
            "kiemke_version": _kiemke_version(),
            "alembic_revision": revision,
            "database": kind,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sha256": {name: _sha256(path) for name, path in members.items()},
        }
        with atomic_write(target, "backup") as temporary, temporary.open("wb") as raw:
            writer = _EncryptingWriter(raw, passphrase)
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as archive:
                _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=2).encode())
                for name, path in members.items():
                    _add_file(archive, name, path)
            writer.finish()
    return BackupSummary(database=kind, revision=revision, size=target.stat().st_size)


def _sqlite_snapshot(source: Path, destination: Path) -> Path:
    """A consistent copy through SQLite's online backup API: one read transaction, so writers
    (web server, scheduler) go on in WAL mode and the copy is one moment's state."""
    try:
        with _closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src, _closing(sqlite3.connect(destination)) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            if dst.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"the database {source} fails its integrity check; backup not written")
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read the database {source}: {exc}") from None
    return destination


@contextmanager
def _closing(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        yield connection
    finally:
        connection.close()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def _add_file(archive: tarfile.TarFile, name: str, path: Path) -> None:
    try:
        with path.open("rb") as handle:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = os.fstat(handle.fileno()).st_size, 0o600, int(path.stat().st_mtime)
            archive.addfile(info, handle)
    except PermissionError:
        raise BackupError(f"cannot read {path}: permission denied") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(CHUNK_SIZE):
                digest.update(block)
    except PermissionError:
        raise BackupError(f"cannot read {path}: permission denied") from None
    return digest.hexdigest()


def _kiemke_version() -> str:
    try:
        return version("kiemke")
    except PackageNotFoundError:
        return "unknown"


# --- PostgreSQL ----------------------------------------------------------------------------


def _pg_environment(url: URL) -> dict[str, str]:
    """Connection settings as libpq environment variables: the password never appears on a
    command line (visible to every user in `ps`) nor in a message."""
    target = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username, "PGPASSWORD": url.password, "PGDATABASE": url.database, "PGSSLMODE": url.query.get("sslmode")}
    # The URL alone names the server: inherited PGHOST/PGDATABASE/PGSERVICE must not redirect the
    # dump; other libpq settings (PGPASSFILE, PGSSLROOTCERT, ...) still apply.
    env = {key: value for key, value in os.environ.items() if key not in target and key != "PGSERVICE"}
    env.update({key: str(value) for key, value in target.items() if value is not None})
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client (Debian: apt-get install postgresql-client)")
    return path


def pg_tool_major(name: str) -> int:
    output = subprocess.run([_pg_tool(name), "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"\) (\d+)", output)  # "pg_dump (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)"
    if match is None:
        raise BackupError(f"cannot tell the version of {name} from {output.strip()!r}")
    return int(match.group(1))


def pg_server_major(url: str) -> int:
    with db.engine_for(url).connect() as connection:
        return int(connection.exec_driver_sql("SHOW server_version_num").scalar()) // 10000


def _run_pg(name: str, args: list[str], url: str) -> None:
    result = subprocess.run([_pg_tool(name), *args], env=_pg_environment(make_url(url)), capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()] or [f"exit status {result.returncode}"]
        raise BackupError(f"{name} failed: {lines[0].removeprefix(f'{name}: ')}")


def _pg_dump(url: str, destination: Path) -> Path:
    tool, server = pg_tool_major("pg_dump"), pg_server_major(url)
    if tool < server:
        raise BackupError(f"pg_dump {tool} cannot dump a PostgreSQL {server} server: install postgresql-client-{server}")
    _run_pg("pg_dump", ["--format=custom", f"--file={destination}"], url)
    return destination


def _pg_restore(url: str, dump: Path) -> None:
    _run_pg("pg_restore", ["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", f"--dbname={make_url(url).database}", str(dump)], url)


# --- restore -------------------------------------------------------------------------------


def restore_backup(settings: Settings, source: Path, passphrase: str) -> dict:
    """Restore `source` into the empty home and database of `settings`; returns the manifest.
    Nothing in the home changes unless the whole backup decrypts and every member checks."""
    url = settings.db_url
    _require_empty_target(settings)
    home = settings.ensure_home()
    try:
        raw = source.open("rb")
    except FileNotFoundError:
        raise BackupError(f"{source} does not exist") from None
    with raw, tempfile.TemporaryDirectory(prefix=".restore-", dir=home) as staging_name:
        staging = Path(staging_name)
        manifest = _unpack(raw, passphrase, staging)
        kind = "postgresql" if is_postgres(url) else "sqlite"
        if manifest["database"] != kind:
            raise BackupError(f"the backup holds a {manifest['database']} database but this home uses {kind}")
        _require_known_revision(manifest["alembic_revision"])
        if kind == "postgresql":
            _pg_restore(url, staging / POSTGRES_MEMBER)
        else:
            database = sqlite_path(url)
            database.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(staging / SQLITE_MEMBER, 0o600)
            os.replace(staging / SQLITE_MEMBER, database)
        for name in KEY_FILES:
            os.chmod(staging / name, 0o600)
            os.replace(staging / name, home / name)
    db.engine_for(url).dispose()
    if db.current_revision(url) != db.head_revision():
        db.upgrade(url)
    return manifest


def _require_empty_target(settings: Settings) -> None:
    present = [name for name in KEY_FILES if (settings.home / name).exists()]
    if not is_postgres(settings.db_url) and sqlite_path(settings.db_url).exists():
        present.append(sqlite_path(settings.db_url).name)
    if present:
        raise BackupError(f"{settings.home} is not empty (it holds {', '.join(present)}): restore only into a new, empty KIEMKE_HOME")
    if is_postgres(settings.db_url):
        with db.engine_for(settings.db_url).connect() as connection:
            tables = inspect(connection).get_table_names()
        if tables:
            raise BackupError(f"the database {make_url(settings.db_url).database} already has tables: restore only into a new, empty database")


def _unpack(raw, passphrase: str, staging: Path) -> dict:
    """Decrypt and unpack into `staging`; returns the manifest once everything checks."""
    reader = _DecryptingReader(raw, passphrase)
    digests: dict[str, str] = {}
    manifest_bytes = None
    allowed = {"manifest.json", SQLITE_MEMBER, POSTGRES_MEMBER, *KEY_FILES}
    try:
        with tarfile.open(fileobj=io.BufferedReader(reader, CHUNK_SIZE), mode="r|") as archive:
            for member in archive:
                if member.name not in allowed or not member.isfile() or member.name in digests:
                    raise BackupError(DAMAGED)
                handle = archive.extractfile(member)
                if member.name == "manifest.json":
                    manifest_bytes = handle.read(1 << 20)
                    digests[member.name] = ""
                    continue
                digest = hashlib.sha256()
                fd = os.open(staging / member.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    while block := handle.read(CHUNK_SIZE):
                        digest.update(block)
                        out.write(block)
                digests[member.name] = digest.hexdigest()
        reader.read_to_end()
        manifest = json.loads(manifest_bytes or b"")
        expected = manifest["sha256"]
    except (tarfile.TarError, ValueError, KeyError, TypeError):
        raise BackupError(DAMAGED) from None
    files = {name: value for name, value in digests.items() if name != "manifest.json"}
    if not isinstance(expected, dict) or files != expected or not all(name in files for name in KEY_FILES):
        raise BackupError(DAMAGED)
    return manifest


def _require_known_revision(revision: str | None) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    if revision is None:
        raise BackupError(DAMAGED)
    try:
        known = ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(f"the backup's schema revision {revision} is newer than this kiemke: upgrade kiemke first")
