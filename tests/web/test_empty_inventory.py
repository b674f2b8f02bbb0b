"""A new installation (users, no sites, no devices) serves every page and file, never a 500."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.inventory.factories import one_user_per_role
from tests.web.conftest import PASSWORD, login

pytestmark = pytest.mark.db

PAGES = ["/", "/sites/", "/devices/", "/findings/", "/scans/", "/procurement/", "/procurement/ke-hoach.xlsx",
         "/reports/", "/reports/bao-cao.xlsx", "/reports/bao-cao.pdf", "/devices/export.csv"]  # fmt: skip


def test_every_page_of_an_empty_inventory_answers(app, engine):
    with Session(engine) as session:
        users = one_user_per_role(session, "e", PASSWORD)
        session.commit()
    answered = set()
    for role, username in users.items():
        client = app.test_client()
        assert login(client, username).status_code == 302
        assert client.get("/").status_code == 200, role
        for path in PAGES:
            status = client.get(path).status_code
            assert status in (200, 302, 403), f"{role} {path}: {status}"
            if status == 200:
                answered.add(path)
    assert answered == set(PAGES)  # every page was really served to some role
