"""The zones' subnet form, through the test client: lists stored and audited before/after, the
site announced for re-evaluation, refusals in Vietnamese (not a subnet, host bits, overlap inside
the site or with another site) writing nothing, a concurrent edit refused, roles and CSRF."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from inventory import changes
from inventory.models import AuditLog, Site, Subnet, Zone
from tests.web.conftest import csrf_token
from tests.web.test_site_edit import form_of as raw_form_of

pytestmark = pytest.mark.db


def subnets(engine, code: str = "S1") -> dict[str, list[str]]:
    with Session(engine) as session:
        rows = session.exec(select(Zone.kind, Subnet.cidr).join(Subnet, Subnet.zone_id == Zone.id).join(Site, Site.id == Zone.site_id).where(Site.code == code).order_by(Subnet.id))
        out: dict[str, list[str]] = {}
        for kind, cidr in rows:
            out.setdefault(kind, []).append(cidr)
        return out


def form_of(client, path: str) -> dict[str, str]:
    # A browser drops the line break that opens a textarea's content.
    return {key: value.removeprefix("\r\n").removeprefix("\n") for key, value in raw_form_of(client, path).items()}


def site_entries(engine) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.entity == "site").order_by(AuditLog.id)))


@pytest.fixture
def announced():
    seen: list[changes.Change] = []

    def listener(engine, change):
        seen.append(change)

    changes.subscribe(listener)
    yield seen
    changes.unsubscribe(listener)


def test_add_and_remove_audited_and_announced(login_as, seed, engine, announced):
    client = login_as("security_officer")
    data = form_of(client, "/sites/S1/subnets")
    assert data["party_wan"] == "10.1.1.0/24" and data["internet"] == "10.1.2.0/24" and data["version"]
    data.update(party_wan="10.1.1.0/24\n10.1.3.0/25\n", internet="")
    response = client.post("/sites/S1/subnets", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/sites/S1/subnets")
    assert "Đã lưu 2 thay đổi." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert subnets(engine) == {"party_wan": ["10.1.1.0/24", "10.1.3.0/25"]}
    (entry,) = site_entries(engine)
    assert entry.actor == seed.users["security_officer"] and entry.action == "update"
    assert entry.before == {"party_wan_subnets": "10.1.1.0/24", "internet_subnets": "10.1.2.0/24"}
    assert entry.after == {"party_wan_subnets": "10.1.1.0/24; 10.1.3.0/25", "internet_subnets": ""}
    with Session(engine) as session:
        s1 = session.exec(select(Site.id).where(Site.code == "S1")).one()
    assert [(c.trigger, set(c.site_ids)) for c in announced] == [("edit", {s1})]
    # The same lists again change nothing and log nothing.
    again = form_of(client, "/sites/S1/subnets")
    assert again["party_wan"] == "10.1.1.0/24\n10.1.3.0/25"
    assert "Không có gì thay đổi." in client.post("/sites/S1/subnets", data=again, follow_redirects=True).get_data(as_text=True)
    assert len(site_entries(engine)) == 1


@pytest.mark.parametrize(
    ("party_wan", "internet", "message"),
    [
        ("10.1.1.0/24\nmạng-lạ", "10.1.2.0/24", "“mạng-lạ” không phải dải mạng dạng CIDR"),
        ("10.1.1.5/24", "10.1.2.0/24", "“10.1.1.5/24” có phần địa chỉ máy khác 0; dải mạng đúng là 10.1.1.0/24."),
        ("10.1.0.0/16", "10.1.2.0/24", "10.1.2.0/24 chồng lấn với 10.1.0.0/16 (Mạng diện rộng của Đảng) của chính đơn vị này."),
        ("10.1.1.0/24", "10.2.0.0/16", "10.2.0.0/16 chồng lấn với 10.2.1.0/24 của đơn vị Xã Thử 2 (S2)."),
    ],
)
def test_refused_in_vietnamese_writing_nothing(login_as, seed, engine, announced, party_wan, internet, message):
    client = login_as("admin")
    data = form_of(client, "/sites/S1/subnets")
    response = client.post("/sites/S1/subnets", data={**data, "party_wan": party_wan, "internet": internet})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and "Chưa lưu gì" in page
    assert party_wan.split("\n")[-1] in page  # the typed lists are kept
    assert subnets(engine) == {"party_wan": ["10.1.1.0/24"], "internet": ["10.1.2.0/24"]}
    assert site_entries(engine) == [] and announced == []


def test_concurrent_edit_refused_writing_nothing(login_as, seed, engine):
    mine, theirs = login_as("security_officer"), login_as("admin")
    data, other = form_of(mine, "/sites/S1/subnets"), form_of(theirs, "/sites/S1/subnets")
    assert theirs.post("/sites/S1/subnets", data={**other, "internet": "10.1.2.0/24\n10.1.4.0/24"}).status_code == 302
    response = mine.post("/sites/S1/subnets", data={**data, "party_wan": "10.1.9.0/24"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "vừa được người khác sửa" in page and "10.1.9.0/24" in page  # the conflict table shows what was typed
    assert subnets(engine) == {"party_wan": ["10.1.1.0/24"], "internet": ["10.1.2.0/24", "10.1.4.0/24"]}
    assert len(site_entries(engine)) == 1


@pytest.mark.parametrize("role", ["technician", "planner", "viewer"])
def test_others_are_refused(login_as, seed, engine, role):
    client = login_as(role)
    token = csrf_token(client, "/sites/S1")
    assert client.get("/sites/S1/subnets").status_code == 403
    assert client.post("/sites/S1/subnets", data={"party_wan": "10.9.0.0/24", "internet": "", "csrf_token": token}).status_code == 403
    assert 'href="/sites/S1/subnets"' not in client.get("/sites/S1").get_data(as_text=True)
    assert subnets(engine)["party_wan"] == ["10.1.1.0/24"] and site_entries(engine) == []


def test_csrf_is_required_and_unknown_site_is_404(login_as, seed, engine):
    client = login_as("security_officer")
    assert 'href="/sites/S1/subnets"' in client.get("/sites/S1").get_data(as_text=True)
    data = form_of(client, "/sites/S1/subnets")
    data.pop("csrf_token")
    assert client.post("/sites/S1/subnets", data={**data, "party_wan": "10.1.7.0/24"}).status_code == 400
    assert subnets(engine)["party_wan"] == ["10.1.1.0/24"] and site_entries(engine) == []
    assert client.get("/sites/NOPE/subnets").status_code == 404


def test_one_zone_at_a_time_and_a_missing_zone_created(seed, engine):
    """inventory.site_edit.update_subnets as the CLI or API would call it: a zone not given keeps
    its subnets and still bounds the other's; a zone the site lacks is created."""
    from inventory import site_edit

    with Session(engine) as session:
        s2 = session.exec(select(Site.id).where(Site.code == "S2")).one()
        internet = session.exec(select(Zone).where(Zone.site_id == s2, Zone.kind == "internet")).one()
        for subnet in session.exec(select(Subnet).where(Subnet.zone_id == internet.id)):
            session.delete(subnet)
        session.delete(internet)
        session.commit()
        with pytest.raises(site_edit.InvalidValues) as refused:
            site_edit.update_subnets(session, s2, {"internet": ["10.2.1.128/25"]}, None, actor="test")
        assert [(e.field, e.code, e.params["other"]) for e in refused.value.errors] == [("internet", "overlap_here", "10.2.1.0/24")]
        session.rollback()
        changed = site_edit.update_subnets(session, s2, {"internet": "10.2.2.0/24, 10.2.3.0/24"}, None, actor="test")
        session.commit()
        assert [(c.column, c.before, c.after) for c in changed] == [("internet_subnets", [], ["10.2.2.0/24", "10.2.3.0/24"])]
    assert subnets(engine, "S2") == {"party_wan": ["10.2.1.0/24"], "internet": ["10.2.2.0/24", "10.2.3.0/24"]}
