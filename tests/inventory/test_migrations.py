"""The migrations build the schema the models describe, from an empty database."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from inventory import db
from tests.inventory.test_revision import outside, rev

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


def test_downgrading_the_revision_triggers_leaves_writes_unnoticed_until_upgraded_again(db_url):
    db.upgrade(db_url)
    engine = db.engine_for(db_url)
    with engine.begin() as connection:
        config = db.alembic_config(db_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")  # before 0003_data_revision_triggers
    before = rev(engine)
    with outside(db_url) as connection:
        connection.execute("INSERT INTO province (code, name) VALUES ('P1', 'Một')")
    assert rev(engine) == before
    db.upgrade(db_url)
    upgraded = rev(engine)
    with outside(db_url) as connection:
        connection.execute("INSERT INTO province (code, name) VALUES ('P2', 'Hai')")
    assert rev(engine) == upgraded + 1
