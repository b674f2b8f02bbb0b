"""The migrations build the schema the models describe, from an empty database."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from inventory import db

pytestmark = pytest.mark.db


def test_empty_database_upgrades_to_head_and_matches_the_models(db_url):
    assert db.current_revision(db_url) is None
    db.upgrade(db_url)
    assert db.current_revision(db_url) == db.head_revision()
    engine = db.engine_for(db_url)
    tables = set(inspect(engine).get_table_names())
    assert {"device", "site", "zone", "subnet", "finding", "audit_log", "app_user", "credential"} <= tables
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_twice_is_harmless(db_url):
    db.upgrade(db_url)
    db.upgrade(db_url)
    assert db.current_revision(db_url) == db.head_revision()
