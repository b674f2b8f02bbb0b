"""Web UI fixtures: an app on a fresh migrated database, one user per role, and a small
province with hostile data (script in sysDescr and hostnames, secrets in running-configs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from inventory.models import ConfigSnapshot, Device, Finding, Interface, Observation, ScanRun
from inventory.settings import Settings
from tests.inventory.factories import make_province, one_user_per_role
from web import create_app

PASSWORD = "mat-khau-thu-123"
HOSTILE = '<script>alert("xss")</script>'
SECRET_COMMUNITY = "s3cr3t-comm"
SECRET_ENABLE = "0822455D0A16"

CONFIG_OLD = f"""hostname sw1
enable password 7 {SECRET_ENABLE}
snmp-server community {SECRET_COMMUNITY} RO MGMT
line vty 0 4
 transport input telnet ssh
"""
CONFIG_NEW = f"""hostname sw1
enable password 7 {SECRET_ENABLE}
snmp-server community {SECRET_COMMUNITY} RW MGMT
line vty 0 4
 transport input ssh
"""


@dataclass
class Seed:
    users: dict[str, str]  # role -> username
    device_id: int
    hostile_device_id: int
    finding_ids: list[int]
    site_code: str


def seed_data(session: Session) -> Seed:
    province = make_province(session, sites=2)
    s1 = province["S1"]
    now = datetime.now(UTC)
    switch = Device(device_class="access_switch", site_id=s1["site"], zone_id=s1["party_wan"], hostname="sw1", mgmt_ip="10.1.1.2",
                    vendor="Cisco", model="C9200", serial="SN-SW1", os_name="IOS-XE", os_version="17.9", platform="cisco_ios",
                    reachable=True, last_seen=now)  # fmt: skip
    hostile = Device(device_class="laptop", site_id=s1["site"], zone_id=s1["internet"], hostname=HOSTILE, mgmt_ip="10.1.2.9",
                     vendor="Dell", serial="SN-HOSTILE", assigned_user="<b>bold</b>", notes=HOSTILE, status="in_use")  # fmt: skip
    session.add_all([switch, hostile])
    session.flush()
    run = ScanRun(kind="poll", site_id=s1["site"], status="ok", triggered_by="test", finished_at=now, summary={"ok": 1})
    session.add(run)
    session.flush()
    session.add_all(
        [
            Observation(device_id=hostile.id, scan_run_id=run.id, source="snmp", key="sysDescr", value=HOSTILE + "<img src=x onerror=alert(2)>"),
            Observation(device_id=switch.id, scan_run_id=run.id, source="snmp", key="sysDescr", value="Cisco IOS XE"),
            Interface(device_id=switch.id, if_index=1, name="Gi1/0/1", description=HOSTILE, oper_up=True, admin_up=True, speed_mbps=1000),
            ConfigSnapshot(device_id=switch.id, scan_run_id=run.id, taken_at=now - timedelta(days=1), sha256="a" * 64, text=CONFIG_OLD),
            ConfigSnapshot(device_id=switch.id, scan_run_id=run.id, taken_at=now, sha256="b" * 64, text=CONFIG_NEW),
        ]
    )
    findings = [
        Finding(rule_id="net.telnet_off", subject_key=f"device:{switch.id}", device_id=switch.id, site_id=s1["site"], severity="critical",
                expected="telnet off", actual="telnet on", evidence="5: transport input telnet ssh"),
        Finding(rule_id="net.snmp_no_rw_community", subject_key=f"device:{switch.id}:rw", device_id=switch.id, site_id=s1["site"], severity="high",
                expected="no RW community", actual=HOSTILE, evidence=HOSTILE),
        Finding(rule_id="endpoint.origin", subject_key=f"device:{hostile.id}", device_id=hostile.id, site_id=s1["site"], severity="medium",
                expected="allowed origin", actual="unknown"),
    ]  # fmt: skip
    session.add_all(findings)
    session.flush()
    users = one_user_per_role(session, "u", PASSWORD)
    session.commit()
    return Seed(users, switch.id, hostile.id, [f.id for f in findings], "S1")


@pytest.fixture
def seed(engine) -> Seed:
    with Session(engine, expire_on_commit=False) as session:
        return seed_data(session)


@pytest.fixture
def app(engine, db_url, tmp_path):
    app = create_app(Settings(home=tmp_path / "home", database_url=db_url), {"TESTING": True})
    return app


@pytest.fixture
def client(app):
    return app.test_client()


_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    response = client.get(path)
    match = _TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1) or match.group(2)


def login(client, username: str, password: str = PASSWORD, **kwargs):
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token}, **kwargs)


@pytest.fixture
def login_as(app, seed):
    """login_as(role) -> a test client signed in with that role."""

    def make(role: str):
        client = app.test_client()
        response = login(client, seed.users[role])
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make
