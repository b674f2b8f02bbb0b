"""Exports follow one rule (issue 11): the README role table gives imports/exports to
security_officer, technician, planner and admin, never to viewers. Every route that hands out
data files admits only those roles, the export links are hidden from the others, and the JSON
API gives the others no bigger page than the web list shows."""

from __future__ import annotations

import pytest

from inventory.choices import Role
from tests.web.test_api import get, issue_own_token
from web.access import ACCESS_ATTR, EXPORTERS, may_export
from web.api import READ_PER_PAGE

pytestmark = pytest.mark.db

# Written out by hand from the README role table.
MAY_EXPORT = {"security_officer", "technician", "planner", "admin"}
EVERYONE = sorted(r.value for r in Role)
# Routes that hand out the inventory (or part of it) as a file.
EXPORT_ROUTES = {
    "devices.export": ["/devices/export.csv", "/devices/export.xlsx"],
    "transfers.export": ["/transfers/export/devices.csv", "/transfers/export/sites.xlsx"],
}
# Files for narrower permissions (reports, procurement plan, import templates): still exporters only.
OTHER_FILE_ROUTES = {"transfers.template", "reports.download", "procurement.download"}


def test_the_table_in_web_access_matches_the_readme():
    assert set(EXPORTERS) | {"admin"} == MAY_EXPORT
    assert {role for role in EVERYONE if may_export(role)} == MAY_EXPORT


def test_every_file_route_is_for_exporters_only(app):
    for endpoint in set(EXPORT_ROUTES) | OTHER_FILE_ROUTES:
        kind, allowed = getattr(app.view_functions[endpoint], ACCESS_ATTR)
        assert kind == "roles" and allowed <= MAY_EXPORT, endpoint
    for endpoint in EXPORT_ROUTES:
        assert getattr(app.view_functions[endpoint], ACCESS_ATTR)[1] == MAY_EXPORT, endpoint


@pytest.mark.parametrize("role", EVERYONE)
def test_export_routes_answer_exactly_the_exporters(login_as, seed, role):
    client = login_as(role)
    for endpoint, paths in EXPORT_ROUTES.items():
        for path in paths:
            status = client.get(path).status_code
            assert status == (200 if role in MAY_EXPORT else 403), f"{role} {endpoint} {path}: {status}"


@pytest.mark.parametrize("role", EVERYONE)
def test_export_links_only_for_exporters(login_as, seed, role):
    page = login_as(role).get("/devices/").get_data(as_text=True)
    assert ("/devices/export.csv" in page) == (role in MAY_EXPORT)
    assert ("/devices/export.xlsx" in page) == (role in MAY_EXPORT)


@pytest.mark.parametrize("path", ["/api/v1/devices", "/api/v1/findings?status=all"])
def test_api_big_pages_need_the_export_permission(app, login_as, seed, path):
    sep = "&" if "?" in path else "?"
    viewer = issue_own_token(login_as("viewer"))
    planner = issue_own_token(login_as("planner"))
    # The viewer: up to what the web list shows at once, then a JSON 403 that says why.
    assert get(app, f"{path}{sep}per_page={READ_PER_PAGE}", viewer).json["per_page"] == READ_PER_PAGE
    for asked in (READ_PER_PAGE + 1, 500, 10**12):
        refused = get(app, f"{path}{sep}per_page={asked}", viewer)
        assert refused.status_code == 403, asked
        assert "export permission" in refused.json["error"]["message"]
    # The planner keeps today's limit.
    assert get(app, f"{path}{sep}per_page=500", planner).json["per_page"] == 500
    assert get(app, f"{path}{sep}per_page=100000", planner).json["per_page"] == 500
