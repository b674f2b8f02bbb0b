"""Shared fixtures: a fresh, migrated database per test (SQLite, or PostgreSQL when
KIEMKE_TEST_DATABASE_URL names a server), and a kiemke home directory."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from inventory import db

ADMIN_URL = os.environ.get("KIEMKE_TEST_DATABASE_URL")


@pytest.fixture
def db_url(tmp_path: Path):
    if not ADMIN_URL:
        yield f"sqlite:///{tmp_path / 'kiemke.sqlite3'}"
        return
    name = f"kiemke_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        db.engine_for(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory):
    """One database migrated to head per test run; each test's database is a copy of it (a file
    copy, or CREATE DATABASE ... TEMPLATE), which is several times cheaper than migrating anew."""
    if not ADMIN_URL:
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'kiemke.sqlite3'}"
        db.upgrade(url)
        db.engine_for(url).dispose()  # closes the last connection: the WAL is folded into the file
        yield url
        return
    name = f"kiemke_template_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    db.upgrade(url)
    db.engine_for(url).dispose()  # a template must have no open connection when it is copied
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _copy_template(db_url: str, template: str) -> bool:
    """Make the test's (still unused) database a copy of the migrated template; False when the
    test already used its database, which then is migrated the ordinary way."""
    if db_url.startswith("sqlite:///"):
        path = Path(db_url.removeprefix("sqlite:///"))
        if path.exists():
            return False
        shutil.copyfile(template.removeprefix("sqlite:///"), path)
        return True
    name = make_url(db_url).database
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            in_use = connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"), {"name": name}).scalar()
            if in_use:
                return False
            connection.execute(text(f'DROP DATABASE "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        return True
    finally:
        admin.dispose()


@pytest.fixture
def engine(db_url: str, _migrated_template: str):
    if not _copy_template(db_url, _migrated_template):
        db.upgrade(db_url)
    return db.engine_for(db_url)


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def kiemke_env(tmp_path: Path, db_url: str, monkeypatch) -> dict[str, str]:
    """Environment for CLI runs: a private KIEMKE_HOME and the test database."""
    home = tmp_path / "home"
    env = {"KIEMKE_HOME": str(home), "DATABASE_URL": db_url}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def kiemke_cli(kiemke_env):
    """`kiemke ARGS...` run in this process (click's runner) on the test's home and database."""
    from click.testing import CliRunner

    from web.main import main

    runner = CliRunner()

    def invoke(*args, input=None, catch_exceptions=True):
        return runner.invoke(main, [str(a) for a in args], input=input, catch_exceptions=catch_exceptions)

    return invoke


@pytest.fixture(autouse=True)
def _hash_each_test_password_once(monkeypatch):
    """scrypt costs ~0.1 s a hash and many tests create the same users: hash each test password
    once per run (same strong hash, a shared salt across test users only)."""
    from inventory import users

    monkeypatch.setattr(users, "hash_password", _cached_hash)


_HASHES: dict[str, str] = {}


def _cached_hash(password: str) -> str:
    from werkzeug.security import generate_password_hash

    if password not in _HASHES:
        _HASHES[password] = generate_password_hash(password, method="scrypt")
    return _HASHES[password]


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API leaves an event loop in the main thread for the
    rest of the session, and the asyncio-based collector tests must not run after it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
