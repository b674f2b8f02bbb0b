"""Small web faults (issue 11): huge ids are 404s, CR/LF in `next` is harmless, signed-in
answers are never cached, the API answers 404/405 in JSON."""

from __future__ import annotations

import pytest

from tests.web.conftest import csrf_token, login
from tests.web.test_api import issue_own_token

HUGE = "99999999999999999999"  # > 2^63 - 1: an integer overflow in the database driver
JUST_OVER = str(2**63)


@pytest.mark.parametrize("big", [HUGE, JUST_OVER])
@pytest.mark.parametrize(
    "path",
    ["/devices/{id}", "/findings/{id}", "/scans/{id}", "/scans/{id}/progress"],
)
def test_ids_beyond_64_bits_are_404(login_as, path, big):
    client = login_as("admin")
    response = client.get(path.format(id=big))
    assert response.status_code == 404


def test_post_routes_with_huge_ids_are_404(login_as):
    client = login_as("admin")
    token = csrf_token(client, "/admin/users")
    for path in (f"/admin/users/{HUGE}/active", f"/scans/devices/{HUGE}/adopt"):
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path


def test_largest_id_is_still_routed(login_as):
    client = login_as("admin")
    assert client.get(f"/devices/{2**63 - 1}").status_code == 404  # no such row, not an overflow
    assert client.get("/devices/0").status_code == 404


def test_api_huge_id_is_json_404(app, login_as):
    token = issue_own_token(login_as("viewer"))
    response = app.test_client().get(f"/api/v1/devices/{HUGE}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert response.is_json and response.json["error"]["status"] == 404


@pytest.mark.parametrize("target", ["/devices/\r\nSet-Cookie: x=1", "/\nfoo", "/a\rb", "/\x00"])
def test_control_characters_in_next_redirect_to_the_overview(client, seed, target):
    response = login(client, seed.users["viewer"], query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Set-Cookie: x" not in str(response.headers)


def test_signed_in_responses_are_not_stored(login_as, seed, client):
    viewer = login_as("viewer")
    for path in ("/", "/devices/", f"/devices/{seed.device_id}", "/findings/"):
        response = viewer.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    assert viewer.get("/devices/424242").headers["Cache-Control"] == "no-store"  # error pages too
    # The login page for an anonymous visitor and static files may be cached.
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    static = viewer.get("/static/kiemke.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_bearer_responses_are_not_stored(app, login_as):
    token = issue_own_token(login_as("viewer"))
    response = app.test_client().get("/api/v1/sites", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_api_unknown_path_is_json_404(client, seed):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.is_json and response.json == {"error": {"status": 404, "message": response.json["error"]["message"]}}
    assert "<html" not in response.get_data(as_text=True).lower()


def test_api_wrong_method_is_json_405(client, seed):
    response = client.delete("/api/v1/sites")
    assert response.status_code == 405
    assert response.is_json and response.json["error"]["status"] == 405
    assert "GET" in response.headers["Allow"]


def test_pages_still_answer_html_404(client, seed):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and not response.is_json
