"""Every route for every role: who gets the page, who gets 403, and anonymous users go to login."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from flask import Flask

from inventory.choices import Role
from tests.web.conftest import csrf_token
from web.access import ACCESS_ATTR, public

pytestmark = pytest.mark.db

EVERYONE = {r.value for r in Role}
# The expected access table, written out by hand: a new route must be added here.
GET_ROUTES = {
    "overview.index": ("/", EVERYONE),
    "sites.index": ("/sites/", EVERYONE),
    "sites.detail": ("/sites/S1", EVERYONE),
    "devices.index": ("/devices/", EVERYONE),
    "devices.detail": ("/devices/{device}", EVERYONE),
    "devices.export": ("/devices/export.csv", {"admin", "security_officer", "technician", "planner"}),
    "findings.index": ("/findings/", EVERYONE),
    "findings.detail": ("/findings/{finding}", EVERYONE),
    "audit.index": ("/audit/", {"admin", "security_officer"}),
    "auth.change_password": ("/password", EVERYONE),
}
POST_ROUTES = {"findings.waive_selected": {"security_officer"}, "auth.logout": EVERYONE}
PUBLIC = {"auth.login", "auth.language", "static"}

# Each later area writes its own table in tests/web/access_<area>.py (GET_ROUTES, POST_ROUTES,
# and optionally PUBLIC), merged here so that this test still covers every route.
for _path_ in sorted(Path(__file__).parent.glob("access_*.py")):
    _area = importlib.import_module(f"tests.web.{_path_.stem}")
    GET_ROUTES.update(getattr(_area, "GET_ROUTES", {}))
    POST_ROUTES.update(getattr(_area, "POST_ROUTES", {}))
    PUBLIC |= set(getattr(_area, "PUBLIC", ()))


def test_the_table_covers_every_route(app):
    assert set(app.view_functions) == set(GET_ROUTES) | set(POST_ROUTES) | PUBLIC


def test_every_view_declares_its_access(app):
    for endpoint, view in app.view_functions.items():
        if endpoint != "static":
            assert hasattr(view, ACCESS_ATTR), endpoint


def _path(template: str, seed) -> str:
    return template.format(device=seed.device_id, finding=seed.finding_ids[0])


@pytest.mark.parametrize("endpoint", sorted(GET_ROUTES))
def test_anonymous_get_goes_to_login(client, seed, endpoint):
    response = client.get(_path(GET_ROUTES[endpoint][0], seed))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_every_get_route_for_every_role(login_as, seed, role):
    client = login_as(role)
    for endpoint, (template, allowed) in GET_ROUTES.items():
        response = client.get(_path(template, seed))
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, f"{role} {endpoint}: {response.status_code}"


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_waive_is_for_security_officers_only(login_as, seed, role):
    client = login_as(role)
    token = csrf_token(client, "/findings/")
    data = {"ids": [str(seed.finding_ids[2])], "reason": "thay thế trong Q1/2027", "expires": "2099-03-31", "csrf_token": token}
    response = client.post("/findings/waive", data=data)
    assert response.status_code == (200 if role in POST_ROUTES["findings.waive_selected"] else 403)  # 200: the confirmation step


def test_anonymous_post_goes_to_login(client, seed):
    token = csrf_token(client, "/login")
    response = client.post("/findings/waive", data={"ids": "1", "reason": "x", "expires": "2099-01-01", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_missing_pages_are_404(login_as):
    client = login_as("viewer")
    assert client.get("/devices/999999").status_code == 404
    assert client.get("/findings/999999").status_code == 404
    assert client.get("/sites/NOPE").status_code == 404
    assert client.get("/devices/export.exe").status_code == 403  # a viewer may not export at all
    assert login_as("technician").get("/devices/export.exe").status_code == 404


def test_a_view_without_an_access_rule_is_refused(engine, db_url, tmp_path):
    from inventory.settings import Settings
    from web import create_app

    app: Flask = create_app(Settings(home=tmp_path / "h", database_url=db_url), {"TESTING": True})
    app.add_url_rule("/undeclared", "undeclared", lambda: "secret")
    app.add_url_rule("/open", "open", public(lambda: "hello"))
    client = app.test_client()
    assert client.get("/undeclared").status_code == 403
    assert client.get("/open").status_code == 200


def test_static_assets_are_served_locally(client):
    css = client.get("/static/kiemke.css")
    assert css.status_code == 200 and b"http" not in css.data
    page = client.get("/login").get_data(as_text=True)
    assert "http://" not in page and "https://" not in page
