"""A throw-away database on a PostgreSQL server for one benchmark run (made fresh, dropped after)."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, make_url, text

from inventory import db


def fresh_postgres(admin_url: str, prefix: str) -> str:
    """A new, empty database on the server of `admin_url` (e.g. .../postgres); its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres(admin_url: str, url: str) -> None:
    db.engine_for(url).dispose()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()
