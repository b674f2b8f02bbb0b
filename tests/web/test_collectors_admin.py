"""The collectors' admin page and the import page's air-gap upload: admin registers, downloads the
assignment and revokes (with its confirmation); importers upload a collector's file, see the
receipt and take the acknowledgement; other roles get 403."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import pytest
from flask import session
from sqlalchemy import select

from collectors.agents import store
from collectors.fleet import apply, wire
from collectors.fleet.identity import collector_keys, fingerprint, hub_key, hub_public, verify
from inventory import db
from inventory.models import AuditLog, Collector
from inventory.settings import Settings
from tests.collectors.fleet.hubkit import batch, collector, frame, make_hub, poll_body
from tests.web.conftest import csrf_token
from web.admin_texts import BATCH_REFUSALS, BATCH_REFUSALS_EN, collector_refusal
from web.check_texts import render_text

pytestmark = pytest.mark.db

SITE = "CT1"


@pytest.fixture
def hub(engine, tmp_path):
    return make_hub(engine, tmp_path / "home", site_code=SITE, province_code="PX")


def test_admin_registers_downloads_and_revokes(login_as, hub, engine, tmp_path):
    client = login_as("admin")
    keys = collector_keys(Settings(home=tmp_path / "c1"), "c1")
    page = client.get("/admin/collectors/")
    assert page.status_code == 200 and "Chưa đăng ký bộ thu thập nào." in page.get_data(as_text=True)
    token = csrf_token(client, "/admin/collectors/")
    bad = client.post("/admin/collectors/", data={"public_line": "kiemke-collector/1 c1 x y", "site": SITE, "zone": "internet", "csrf_token": token})
    assert bad.status_code == 400 and "Không đăng ký được bộ thu thập" in bad.get_data(as_text=True)
    done = client.post("/admin/collectors/", data={"public_line": keys.public_line(), "site": SITE, "zone": "internet", "csrf_token": token}, follow_redirects=True)
    assert done.status_code == 200 and "Đã đăng ký bộ thu thập c1" in done.get_data(as_text=True)
    with db.session_scope(engine) as session:
        row = session.execute(select(Collector).where(Collector.name == "c1")).scalar_one()
        collector_id = row.id
        assert row.registered_by == "admin" or row.registered_by
    page = client.get("/admin/collectors/").get_data(as_text=True)
    assert "c1" in page and "chưa liên lạc" in page
    assert fingerprint(hub_public(hub_key(hub.settings))) in page
    download = client.post(f"/admin/collectors/{collector_id}/assignment", data={"csrf_token": token})
    assert download.status_code == 200 and "c1.assignment" in download.headers["Content-Disposition"]
    assignment = wire.read_frame(download.data, wire.ASSIGNMENT, what="a")
    assert verify(hub_public(hub_key(hub.settings)), assignment.payload, assignment.signature)
    assert json.loads(assignment.payload)["site"]["code"] == SITE
    # Revoking needs the confirmation box.
    client.post(f"/admin/collectors/{collector_id}/revoke", data={"csrf_token": token})
    with db.session_scope(engine) as session:
        assert session.get(Collector, collector_id).status == "active"
    done = client.post(f"/admin/collectors/{collector_id}/revoke", data={"csrf_token": token, "confirm": "y"}, follow_redirects=True)
    assert "Đã thu hồi bộ thu thập c1" in done.get_data(as_text=True)
    with db.session_scope(engine) as session:
        assert session.get(Collector, collector_id).status == "revoked"
        actions = session.execute(select(AuditLog.entity, AuditLog.action).where(AuditLog.entity.in_(("collector", "collector_assignment")))).all()
    assert ("collector", "create") in actions and ("collector", "update") in actions and ("collector_assignment", "issue") in actions


@pytest.mark.parametrize("role", ["security_officer", "technician", "planner", "viewer"])
def test_the_admin_page_is_for_admins(login_as, hub, role):
    assert login_as(role).get("/admin/collectors/").status_code == 403


def test_an_air_gap_file_uploaded_on_the_import_page(login_as, hub, tmp_path):
    keys = collector(hub, tmp_path / "c1", "c1", "internet", site=SITE)
    client = login_as("technician")
    page = client.get("/transfers/").get_data(as_text=True)
    assert "Nhập tệp của bộ thu thập" in page
    token = csrf_token(client, "/transfers/")
    data = frame(keys, [batch(1, poll_body(["10.2.0.5"])), batch(2, poll_body(["10.1.0.1"]))])
    answer = client.post("/transfers/collector-file", data={"csrf_token": token, "file": (io.BytesIO(data), "c1.batches")}, content_type="multipart/form-data")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200, text
    assert "Tải tệp xác nhận" in text and "nằm ngoài các dải mạng" in text
    again = client.post("/transfers/collector-file", data={"csrf_token": token, "file": (io.BytesIO(data), "c1.batches")}, content_type="multipart/form-data")
    assert again.status_code == 200
    ack_link = next(part for part in again.get_data(as_text=True).split('"') if part.startswith("/transfers/collector-ack/"))
    ack = client.get(ack_link)
    assert ack.status_code == 200
    document = json.loads(wire.read_frame(ack.data, wire.ACK, what="ack").payload)
    assert document["acked_seq"] == 2 and [r["seq"] for r in document["refused"]] == [2]
    # The collector's runs on the scans pages, by their labels.
    from inventory import db as inventory_db
    from inventory.models import ScanRun

    with inventory_db.session_scope(hub.engine) as session:
        run_id = session.execute(select(ScanRun.id).where(ScanRun.kind == "collector-poll")).scalars().first()
    listing = client.get("/scans/").get_data(as_text=True)
    assert "Thu thập (bộ thu thập)" in listing and "Bộ thu thập c1" in listing
    detail = client.get(f"/scans/{run_id}")
    assert detail.status_code == 200 and "Thu thập (bộ thu thập)" in detail.get_data(as_text=True)
    # A file not signed by a registered collector: refused, shown in Vietnamese.
    stranger = collector_keys(Settings(home=tmp_path / "x"), "stranger")
    refused = client.post("/transfers/collector-file", data={"csrf_token": token, "file": (io.BytesIO(frame(stranger, [])), "x.batches")}, content_type="multipart/form-data")
    assert refused.status_code == 400 and "Tệp bị từ chối" in refused.get_data(as_text=True)
    assert "không do bộ thu thập đã đăng ký nào ký" in refused.get_data(as_text=True)  # the reason too, not the English one
    assert "not signed" not in refused.get_data(as_text=True)
    viewer = login_as("viewer")
    viewer_token = csrf_token(viewer, "/")
    assert viewer.post("/transfers/collector-file", data={"csrf_token": viewer_token, "file": (io.BytesIO(data), "c1.batches")},
                       content_type="multipart/form-data").status_code == 403  # fmt: skip
    assert viewer.get(ack_link).status_code == 403


def test_overview_and_events_show_collectors(login_as, hub, engine, tmp_path):
    client = login_as("viewer")
    assert "collectors-coverage" not in client.get("/").get_data(as_text=True)  # no collectors: no block
    collector(hub, tmp_path / "c1", "c1", "internet", site=SITE)
    stranger = collector_keys(Settings(home=tmp_path / "x"), "stranger")
    from collectors.fleet.receive import Refused, receive

    with pytest.raises(Refused):
        receive(engine, hub.settings, frame(stranger, []), via="file", actor="t")
    page = client.get("/").get_data(as_text=True)
    assert "collectors-coverage" in page and "<code>c1</code>" in page and "chưa liên lạc" in page
    feed = client.get("/events/").get_data(as_text=True)
    assert "Dữ liệu của bộ thu thập bị từ chối" in feed and "bộ thu thập stranger: không do bộ thu thập đã đăng ký nào ký" in feed
    assert "not signed" not in feed


def _upload(client, data: bytes):
    token = csrf_token(client, "/transfers/")
    return client.post("/transfers/collector-file", data={"csrf_token": token, "file": (io.BytesIO(data), "c1.batches")}, content_type="multipart/form-data")


def test_a_batch_outside_the_zone_is_refused_in_the_pages_language(login_as, hub, tmp_path):
    """The receipt and the events feed give the hub's reason for a refused batch in Vietnamese (the
    zone by its name), and in the English UI in English with the zone by its English name."""
    keys = collector(hub, tmp_path / "c1", "c1", "internet", site=SITE)
    client = login_as("technician")
    outside = "1 địa chỉ nằm ngoài các dải mạng của vùng mạng Internet thuộc đơn vị CT1: 10.1.0.1"
    text = _upload(client, frame(keys, [batch(1, poll_body(["10.1.0.1"]))])).get_data(as_text=True)
    assert f"<td>{outside}</td>" in text, text[text.find("<table") :][:600]
    assert "outside the subnets" not in text and "internet:" not in text
    feed = login_as("viewer").get("/events/").get_data(as_text=True)
    assert f"bộ thu thập c1: {outside}" in feed and "outside the subnets" not in feed
    # The English UI: the English sentence, with the zone named (Party WAN, not party_wan).
    wan = collector(hub, tmp_path / "w1", "w1", "party_wan", site=SITE)
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client, "/transfers/")
    english = client.post("/transfers/collector-file", data={"csrf_token": token, "file": (io.BytesIO(frame(wan, [batch(1, poll_body(["10.2.0.7", "10.2.0.8"]))])), "w1.batches")},
                          content_type="multipart/form-data").get_data(as_text=True)  # fmt: skip
    assert "2 target(s) outside the subnets of CT1&#39;s Party WAN zone: 10.2.0.7, 10.2.0.8" in english
    assert "nằm ngoài" not in english and "party_wan" not in english


def _sample(node: ast.expr) -> str | None:
    """The text an f-string (or a literal) writes, each value it formats as "7"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "7" for part in node.values)
    return None


def _raised(module, exception: str) -> list[str]:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == exception]
    texts = [_sample(call.args[0]) for call in calls]
    assert texts and None not in texts, (module.__name__, exception)
    return texts


def test_every_reason_a_batch_can_be_refused_for_reads_in_vietnamese(app):
    """Every BatchRefused collectors.fleet.apply raises (the agents' AgentRefused behind "agent report
    refused: ") has its Vietnamese shape, an agent's refusal its own rather than the generic one;
    the English UI's shapes are for texts as written, the zone named."""
    reasons = [r for r in _raised(apply, "BatchRefused") if not r.startswith("agent report refused: ")]
    agents = [f"agent report refused: {r}" for r in _raised(store, "AgentRefused")]
    assert len(reasons) >= 8 and len(agents) >= 4
    with app.test_request_context():
        for text in [*reasons, *agents, "refused"]:
            vietnamese = render_text(BATCH_REFUSALS, text)
            assert vietnamese and vietnamese != "báo cáo của agent bị từ chối" or text not in agents, text
            assert vietnamese and vietnamese != text and collector_refusal(text) == vietnamese, text
        assert collector_refusal(None) == "bị từ chối"
        assert collector_refusal("site CT1 has no party_wan zone") == "đơn vị CT1 không có vùng mạng diện rộng của Đảng"
        assert collector_refusal("something new") == "something new"  # not recognised: shown as written
    with app.test_request_context():
        session["lang"] = "en"
        for text in [*reasons, *agents]:
            english = render_text(BATCH_REFUSALS_EN, text)
            assert english is None or english.replace("'s 7 zone", " 7") == text, (text, english)  # the same sentence, the zone named
        assert collector_refusal("site CT1 has no party_wan zone") == "site CT1 has no Party WAN zone"
