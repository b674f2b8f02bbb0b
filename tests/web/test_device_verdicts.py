"""The device page lists each rule that applies with its verdict on the data as it is now: an
agent's encryption and anti-virus facts give verdicts, a TPM nobody reported stays "not
evaluated", and a switch's rules read its latest configuration."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import Session

from compliance.policy import shipped_policy
from compliance.verdicts import device_verdicts
from inventory.models import Observation
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db

GB = 1024 * 1024  # KB


def _row(body: str, rule: str) -> str:
    return body.split(f'data-rule="{rule}"')[1].split("</tr>")[0]


def test_agent_facts_give_verdicts_and_missing_ones_say_why(login_as, seed, engine):
    defender = {"name": "Microsoft Defender Antivirus", "enabled": True, "up_to_date": True, "signature_date": date.today().isoformat()}
    with Session(engine) as session:
        session.add_all([
            Observation(device_id=seed.hostile_device_id, source="agent", key="host.disk_encryption", value="on"),
            Observation(device_id=seed.hostile_device_id, source="agent", key="host.antivirus", value=json.dumps([defender])),
            Observation(device_id=seed.hostile_device_id, source="agent", key="host.disks", value=json.dumps([["Disk 0", 512 * GB, "HDD"]])),
        ])  # fmt: skip
        session.commit()
        verdicts = device_verdicts(session, seed.hostile_device_id, shipped_policy(), date.today())
    by_rule = {o.rule_id: o for o in verdicts.outcomes}
    assert by_rule["ep.disk_encryption"].passed is True and by_rule["ep.av_present"].passed is True and by_rule["ep.av_fresh"].passed is True
    assert by_rule["ep.disk"].passed is False and "HDD" in by_rule["ep.disk"].actual
    assert by_rule["ep.tpm_secure_boot"].passed is None and "TPM not collected" in by_rule["ep.tpm_secure_boot"].actual
    assert verdicts.count("pass") + verdicts.count("fail") + verdicts.count("n/a") == len(verdicts.outcomes)

    client = login_as("viewer")
    body = client.get(f"/devices/{seed.hostile_device_id}").get_data(as_text=True)
    table = body.split("Kết quả theo quy tắc")[1].split("</table>")[0]
    assert "Đạt" in _row(table, "ep.disk_encryption") and "Không đạt" in _row(table, "ep.disk")
    assert "Chưa đánh giá" in _row(table, "ep.tpm_secure_boot")
    assert f"Đạt {verdicts.count('pass')} · Không đạt {verdicts.count('fail')} · Chưa đánh giá {verdicts.count('n/a')}" in table
    assert "<script>" not in table
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    english = client.get(f"/devices/{seed.hostile_device_id}").get_data(as_text=True)
    assert "Verdict per rule" in english and "Passed" in _row(english, "ep.disk_encryption")


def test_a_switch_shows_its_configuration_rules(login_as, seed):
    body = login_as("viewer").get(f"/devices/{seed.device_id}").get_data(as_text=True)
    table = body.split("Kết quả theo quy tắc")[1].split("</table>")[0]
    # The seed's latest configuration has an RW community and an enable password: both fail.
    assert "Không đạt" in _row(table, "net.snmp_no_rw_community")
    assert 'data-rule="ep.' not in table  # endpoint rules do not apply to a switch
