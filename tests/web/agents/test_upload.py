"""Agent files uploaded on the import page: per-file outcome by name, bad files with their
reason, the same files twice change nothing, role-checked, audit-logged, temp files removed."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from inventory.models import AuditLog, Device, Observation
from tests.web.agents.conftest import fixture_bytes
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db


def _upload(client, account: str, files: list[tuple[str, bytes]]):
    token = csrf_token(client, "/transfers/")
    data = {"account": account, "csrf_token": token, "files": [(io.BytesIO(body), name) for name, body in files]}
    return client.post("/transfers/agent-files", data=data, content_type="multipart/form-data")


def _counts(engine) -> tuple[int, int]:
    with Session(engine) as session:
        devices = session.execute(select(func.count()).select_from(Device)).scalar_one()
        observations = session.execute(select(func.count()).select_from(Observation)).scalar_one()
        return devices, observations


def _rows(text: str) -> list[str]:
    body = text.split('class="agent-files-result"', 1)[1].split("</table>", 1)[0]
    return [row for row in body.split("<tr")[2:]]


FILES = [
    ("PC-KT-0142.json", fixture_bytes("windows11_laptop.json")),
    ("may-tram-linux.ocs", fixture_bytes("fusion_linux_inventory.xml")),
    ("hong.json", b'{"action": "inventory", "deviceid": "x", "content": '),
    ("ghi-chu.txt", b"not an inventory"),
    ("prolog.xml", fixture_bytes("fusion_prolog.xml")),
]


def test_upload_imports_reports_each_file_by_name_and_twice_changes_nothing(login_as, seed, engine, agent, monkeypatch):
    made: list[Path] = []
    real = tempfile.TemporaryDirectory

    def spy(*args, **kwargs):
        directory = real(*args, **kwargs)
        made.append(Path(directory.name))
        return directory

    monkeypatch.setattr(tempfile, "TemporaryDirectory", spy)
    client = login_as("technician")
    before = _counts(engine)
    response = _upload(client, agent.account.name, FILES)
    assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
    rows = dict(zip([name for name, _ in FILES], [None] * len(FILES), strict=True))
    for row in _rows(response.get_data(as_text=True)):
        for name in rows:
            if f"<td>{name}</td>" in row:
                rows[name] = row
    assert all(rows.values()), rows
    assert "Tạo mới" in rows["PC-KT-0142.json"] and "Tạo mới" in rows["may-tram-linux.ocs"]
    assert "Lỗi" in rows["hong.json"] and "Lỗi" in rows["ghi-chu.txt"] and ".ocs" in rows["ghi-chu.txt"]
    assert "Lỗi" in rows["prolog.xml"] and "not an inventory" in rows["prolog.xml"]
    after = _counts(engine)
    assert after[0] == before[0] + 2 and after[1] > before[1]
    assert made and not any(path.exists() for path in made)  # the temporary files are gone

    again = _upload(client, agent.account.name, FILES[:2])
    assert again.status_code == 200
    assert [("Không thay đổi" in row) for row in _rows(again.get_data(as_text=True))] == [True, True]
    assert _counts(engine) == after

    with Session(engine) as session:
        entries = list(session.execute(select(AuditLog).where(AuditLog.entity == "agent_inventory")).scalars())
    imports = [e for e in entries if e.action == "import"]
    assert len(imports) == 2 and imports[0].actor == seed.users["technician"]
    assert imports[0].after["account"] == agent.account.name and imports[0].after["failed"] == 2
    refusals = [e for e in entries if e.action == "refuse"]  # refused before the importer: named in the log
    assert len(refusals) == 1 and refusals[0].after["files"][0].startswith("ghi-chu.txt: ")


def test_upload_needs_an_importer_role_an_account_and_files(login_as, engine, agent):
    viewer = login_as("viewer")
    token = csrf_token(viewer, "/")
    refused = viewer.post("/transfers/agent-files", data={"account": agent.account.name, "csrf_token": token,
                                                          "files": [(io.BytesIO(FILES[0][1]), FILES[0][0])]}, content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 403

    client = login_as("planner")
    assert "s1-agents" in client.get("/transfers/").get_data(as_text=True)
    unknown = _upload(client, "nobody", FILES[:1])
    assert unknown.status_code == 400
    token = csrf_token(client, "/transfers/")
    empty = client.post("/transfers/agent-files", data={"account": agent.account.name, "csrf_token": token}, content_type="multipart/form-data")
    assert empty.status_code == 400
    assert _counts(engine)[0] == 2  # the seed's devices only


def test_agent_files_have_their_own_bound_above_the_form_limit(login_as, engine, agent):
    from collectors.agents.wire import MAX_BODY_BYTES

    client = login_as("technician")
    padded = fixture_bytes("windows11_laptop.json") + b" " * (3 * 1024 * 1024)  # above the app's 2 MiB form limit
    too_big = b"{" + b" " * MAX_BODY_BYTES
    response = _upload(client, agent.account.name, [("lon.json", padded), ("qua-lon.json", too_big)])
    assert response.status_code == 200
    rows = _rows(response.get_data(as_text=True))
    assert "lon.json" in rows[1] and "Tạo mới" in rows[1]
    assert "qua-lon.json" in rows[0] and "Lỗi" in rows[0] and str(MAX_BODY_BYTES) in rows[0]
    # The CSV import keeps the app's bound.
    token = csrf_token(client, "/transfers/")
    csv = client.post("/transfers/import", data={"kind": "devices", "csrf_token": token, "file": (io.BytesIO(b"x" * (3 * 1024 * 1024)), "a.csv")},
                      content_type="multipart/form-data")  # fmt: skip
    assert csv.status_code == 413
