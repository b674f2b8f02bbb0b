"""Safe actions: a role change, a deactivation, a password reset and an adoption each stop at a
page that says what will happen (nothing changes until its button is pressed); a new user's role
starts at viewer; typed input survives a validation error."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from inventory.models import AuditLog, Device, User
from tests.web.conftest import HOSTILE, csrf_token
from tests.web.test_scans import discovered  # noqa: F401  (fixture)

pytestmark = pytest.mark.db


def user_named(engine, username) -> User:
    with Session(engine) as session:
        return session.exec(select(User).where(User.username == username)).one()


def audit_count(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(AuditLog)).all())


@pytest.fixture
def admin(login_as):
    return login_as("admin")


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/admin/users"), **data})


def asks(response, *phrases) -> str:
    text = response.get_data(as_text=True)
    assert response.status_code == 200, text[:500]
    assert 'name="confirm" value="1"' in text and 'class="confirm-button"' in text
    for phrase in phrases:
        assert phrase in text, phrase
    return text


def test_role_change_asks_first(admin, seed, engine):
    viewer = user_named(engine, seed.users["viewer"])
    before = audit_count(engine)
    text = asks(post(admin, f"/admin/users/{viewer.id}/role", role="technician"), f"Đổi vai trò của {viewer.username} từ")
    assert 'name="role" value="technician"' in text
    assert user_named(engine, viewer.username).role == "viewer" and audit_count(engine) == before
    assert post(admin, f"/admin/users/{viewer.id}/role", role="technician", confirm="1").status_code == 302
    assert user_named(engine, viewer.username).role == "technician"


def test_the_same_role_is_no_change_and_asks_nothing(admin, seed, engine):
    viewer = user_named(engine, seed.users["viewer"])
    assert post(admin, f"/admin/users/{viewer.id}/role", role="viewer").status_code == 302


def test_deactivation_asks_first_reactivation_does_not(admin, seed, engine):
    planner = user_named(engine, seed.users["planner"])
    asks(post(admin, f"/admin/users/{planner.id}/active", active="0"), f"Vô hiệu hóa tài khoản {planner.username}?")
    assert user_named(engine, planner.username).active
    post(admin, f"/admin/users/{planner.id}/active", active="0", confirm="1")
    assert not user_named(engine, planner.username).active
    assert post(admin, f"/admin/users/{planner.id}/active", active="1").status_code == 302
    assert user_named(engine, planner.username).active


def test_password_reset_asks_first(admin, seed, engine):
    tech = user_named(engine, seed.users["technician"])
    asks(post(admin, f"/admin/users/{tech.id}/password"), f"Đặt lại mật khẩu của {tech.username}?", "chỉ hiển thị một lần")
    assert not user_named(engine, tech.username).must_change_password
    response = post(admin, f"/admin/users/{tech.id}/password", confirm="1")
    assert response.status_code == 200 and 'id="secret"' in response.get_data(as_text=True)
    assert user_named(engine, tech.username).must_change_password


def test_confirmation_pages_need_csrf_and_admin(admin, login_as, seed, engine):
    viewer = user_named(engine, seed.users["viewer"])
    assert admin.post(f"/admin/users/{viewer.id}/role", data={"role": "admin", "confirm": "1"}).status_code == 400
    officer = login_as("security_officer")
    token = csrf_token(officer, "/findings/")
    assert officer.post(f"/admin/users/{viewer.id}/role", data={"role": "admin", "confirm": "1", "csrf_token": token}).status_code == 403
    assert user_named(engine, viewer.username).role == "viewer"


def test_a_new_user_defaults_to_viewer(admin, seed):
    page = admin.get("/admin/users").get_data(as_text=True)
    form = page[page.index('action="/admin/users"') :]
    assert '<option selected value="viewer">' in form
    assert '<option selected value="admin">' not in form


def test_typed_input_survives_a_validation_error(admin, seed, engine):
    response = post(admin, "/admin/users", username=seed.users["viewer"], full_name="Trần Văn Bình", role="planner")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="Trần Văn Bình"' in text and '<option selected value="planner">' in text
    response = post(admin, "/admin/users", username="", full_name="Lê Thị Hoa", role="technician")
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and 'value="Lê Thị Hoa"' in text and '<option selected value="technician">' in text


def test_hostile_names_are_escaped_on_confirmation_pages(admin, seed, engine):
    with Session(engine) as session:
        session.add(User(username=HOSTILE, role="viewer", password_hash="x", full_name=""))
        session.commit()
    hostile = user_named(engine, HOSTILE)
    text = asks(post(admin, f"/admin/users/{hostile.id}/active", active="0"))
    assert HOSTILE not in text


def test_adoption_asks_first(login_as, discovered, engine):  # noqa: F811
    run_id, device_id = discovered
    client = login_as("technician")
    token = csrf_token(client, f"/scans/{run_id}")
    data = {"csrf_token": token, "device_class": "printer", "hostname": "IN-02", "next": f"/scans/{run_id}"}
    text = asks(client.post(f"/scans/devices/{device_id}/adopt", data=data), f"Đưa thiết bị #{device_id} vào danh mục", "IN-02")
    assert 'name="device_class" value="printer"' in text and f'name="next" value="/scans/{run_id}"' in text
    with Session(engine) as session:
        assert session.get(Device, device_id).source == "discovered"
    assert client.post(f"/scans/devices/{device_id}/adopt", data=data | {"confirm": "1"}).status_code == 302
    with Session(engine) as session:
        assert session.get(Device, device_id).source == "recorded"
    assert client.post("/scans/devices/999999/adopt", data=data).status_code == 404


def test_token_replacement_and_revocation_ask_first(app, admin, seed, engine):
    planner = user_named(engine, seed.users["planner"])
    first = post(admin, f"/admin/users/{planner.id}/token")  # no token yet: nothing to replace, no question
    assert first.status_code == 200 and 'id="secret"' in first.get_data(as_text=True)
    hashed = user_named(engine, planner.username).api_token_hash
    asks(post(admin, f"/admin/users/{planner.id}/token"), f"Tạo mã API mới cho {planner.username}?")
    asks(post(admin, f"/admin/users/{planner.id}/token/revoke"), f"Thu hồi mã API của {planner.username}?")
    assert user_named(engine, planner.username).api_token_hash == hashed  # both only asked
    assert post(admin, f"/admin/users/{planner.id}/token/revoke", confirm="1").status_code == 302
    assert user_named(engine, planner.username).api_token_hash is None


def test_credential_deletion_asks_first(admin, seed, engine):
    from inventory.models import Credential

    token = csrf_token(admin, "/admin/credentials")
    data = {"csrf_token": token, "name": "ssh-all", "kind": "ssh", "username": "u", "password": "p"}
    assert admin.post("/admin/credentials", data=data).status_code == 302
    text = asks(admin.post("/admin/credentials/delete", data={"csrf_token": token, "name": "ssh-all"}), "Xóa thông tin xác thực ssh-all?")
    assert 'name="name" value="ssh-all"' in text
    with Session(engine) as session:
        assert session.exec(select(Credential)).first() is not None
    admin.post("/admin/credentials/delete", data={"csrf_token": token, "name": "ssh-all", "confirm": "1"})
    with Session(engine) as session:
        assert session.exec(select(Credential)).first() is None
