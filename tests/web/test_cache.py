"""Cached views (overview, device counts, procurement) show a change on the very next request,
whether the web made it or another process did; and they are not recomputed without one."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from flask import template_rendered
from sqlalchemy import update
from sqlmodel import Session, select

from inventory import db
from inventory.models import ApprovedQuantity, Device, Site
from tests.web.test_findings_waive import waive

pytestmark = pytest.mark.db


@contextmanager
def rendered(app):
    """The context of every template rendered inside the block, by template name."""
    seen: dict[str, dict] = {}

    def note(_sender, template, context, **_extra):
        seen[template.name] = context

    template_rendered.connect(note, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(note, app)


def test_the_overview_follows_a_waiver_made_in_the_web(app, login_as, seed):
    client = login_as("security_officer")
    cache = app.extensions["kiemke.cache"]
    with rendered(app) as seen:
        client.get("/")
        assert seen["overview.html"]["by_severity"]["critical"] == 1
        computed = cache.computed
        client.get("/")
        assert cache.computed == computed  # nothing changed: not computed again
        assert waive(client, [seed.finding_ids[0]]).status_code == 302  # the critical one
        client.get("/")
        assert seen["overview.html"]["by_severity"]["critical"] == 0
        site = next(s for s in seen["overview.html"]["sites"] if s["code"] == "S1")
        assert site["status"] == "high"


def test_counts_follow_a_change_made_by_another_process(app, login_as, seed, db_url):
    client = login_as("viewer")
    with rendered(app) as seen:
        client.get("/devices/?device_class=laptop")
        assert seen["devices/list.html"]["page"].total == 1
        client.get("/devices/?device_class=laptop&vendor=Dell")
        other = db.make_engine(db_url)  # the scheduler or the CLI, in effect
        try:
            with Session(other) as session:
                site = session.exec(select(Site).where(Site.code == "S2")).one()
                session.add(Device(device_class="laptop", site_id=site.id, hostname="pc-new", vendor="Lenovo"))
                session.commit()
        finally:
            other.dispose()
        client.get("/devices/?device_class=laptop")
        assert seen["devices/list.html"]["page"].total == 2
        assert "Lenovo" in seen["devices/list.html"]["vendors"]


def test_the_plan_follows_approved_quantities_and_devices(app, login_as, seed, engine):
    client = login_as("planner")
    with Session(engine) as session:
        s1 = session.exec(select(Site).where(Site.code == "S1")).one()
        session.add(ApprovedQuantity(site_id=s1.id, device_class="laptop", quantity=10))
        session.commit()
    with rendered(app) as seen:
        client.get("/procurement/?year=2026")
        before = seen["procurement/index.html"]["year_total"]["units"]
        with Session(engine) as session:
            session.execute(update(ApprovedQuantity).values(quantity=20))
            session.commit()
        page = client.get("/procurement/?year=2026").get_data(as_text=True)
        after = seen["procurement/index.html"]["year_total"]["units"]
    assert before == 4 and after == 8  # 40% of 10, then of 20
    site_rows = page.split('<table class="plan', 1)[1].split("</tbody>", 1)[0]
    assert ">20<" in site_rows and ">10<" not in site_rows  # the kept HTML rows were rendered again too
