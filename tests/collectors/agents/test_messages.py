"""Reading agent messages and answering them as GLPI, FusionInventory and OCS agents expect."""

from __future__ import annotations

import gzip
import json
import zlib
from xml.etree import ElementTree

import pytest

from collectors.agents.messages import (
    Contact,
    Inventory,
    Prolog,
    Unsupported,
    answer_for,
    error_answer,
    read_message,
)
from collectors.agents.wire import AgentMessageError, decode_body

from .conftest import COMPRESSORS, fixture_bytes

AGENT_ID = "3f2b8c1e-6a4d-4e0f-9b7a-0c1d2e3f4a5b"
CONTACT = {
    "action": "contact",
    "deviceid": "PC-KT-0142-2026-11-30-08-15-02",
    "enabled-tasks": ["inventory", "deploy"],
    "installed-tasks": ["inventory", "deploy", "netinventory"],
    "name": "GLPI-Agent",
    "version": "1.12-dev",
}


def _payload(answer_body: bytes) -> bytes:
    return decode_body(answer_body)[0]


def test_fusioninventory_prolog_gets_the_xml_reply(compression: str) -> None:
    message, encoding = read_message(COMPRESSORS[compression](fixture_bytes("fusion_prolog.xml")))
    assert message == Prolog(deviceid="tk-linux-03-2026-12-02-04-27-55", token="12345678")
    assert encoding == compression
    answer = answer_for(message, encoding, freq_hours=12)
    assert answer.status == 200
    reply = ElementTree.fromstring(_payload(answer.body))
    assert (reply.tag, reply.findtext("PROLOG_FREQ"), reply.findtext("RESPONSE")) == ("REPLY", "12", "SEND")


def test_glpi_agent_prolog_is_answered_in_json_so_it_switches() -> None:
    message, encoding = read_message(zlib.compress(fixture_bytes("fusion_prolog.xml")), agent_id_header=AGENT_ID)
    assert isinstance(message, Prolog) and message.glpi_agent_id == AGENT_ID
    answer = answer_for(message, encoding)
    assert answer.content_type == "application/x-compress-zlib"
    assert json.loads(zlib.decompress(answer.body)) == {"status": "ok", "expiration": 24}


def test_a_malformed_agent_id_header_is_not_trusted() -> None:
    message, _ = read_message(fixture_bytes("fusion_prolog.xml"), agent_id_header="<script>")
    assert isinstance(message, Prolog) and message.glpi_agent_id is None


def test_contact(compression: str) -> None:
    body = COMPRESSORS[compression](json.dumps(CONTACT).encode())
    message, encoding = read_message(body)
    assert message == Contact(deviceid=CONTACT["deviceid"], enabled_tasks=("inventory", "deploy"), name="GLPI-Agent", version="1.12-dev")
    answer = answer_for(message, encoding)
    assert answer.status == 200
    assert json.loads(_payload(answer.body)) == {
        "status": "ok",
        "expiration": 24,
        "tasks": {"inventory": {"server": "glpi", "version": "10.0.16"}},
    }
    expected_type = {"zlib": "application/x-compress-zlib", "gzip": "application/x-compress-gzip"}
    assert answer.content_type == expected_type.get(compression, "application/json")


def test_json_inventory_answer() -> None:
    message, encoding = read_message(gzip.compress(fixture_bytes("windows11_laptop.json")))
    assert isinstance(message, Inventory)
    answer = answer_for(message, encoding)
    assert json.loads(gzip.decompress(answer.body)) == {"status": "ok", "expiration": 24}


def test_xml_inventory_answer_suits_fusioninventory_and_ocs() -> None:
    message, encoding = read_message(zlib.compress(fixture_bytes("fusion_linux_inventory.xml")))
    answer = answer_for(message, encoding)
    assert answer.body[:2] == b"\x78\x9c"
    reply = ElementTree.fromstring(zlib.decompress(answer.body))
    assert (reply.tag, reply.findtext("RESPONSE")) == ("REPLY", "NO_ACCOUNT_UPDATE")


@pytest.mark.parametrize("action", ["get_params", "register", "netdiscovery"])
def test_other_json_actions_are_answered_with_an_error_the_agent_logs(action: str) -> None:
    message, encoding = read_message(json.dumps({"action": action, "deviceid": "pc-1"}).encode())
    assert message == Unsupported(action=action, protocol="json", deviceid="pc-1")
    answer = answer_for(message, encoding)
    assert answer.status == 400
    assert json.loads(answer.body) == {"status": "error", "message": f"{action} is not supported by this server"}


def test_other_xml_queries_are_unsupported() -> None:
    body = b"<REQUEST><DEVICEID>pc-1</DEVICEID><QUERY>SNMPQUERY</QUERY></REQUEST>"
    message, encoding = read_message(body)
    assert message == Unsupported(action="SNMPQUERY", protocol="xml", deviceid="pc-1")
    answer = answer_for(message, encoding)
    assert answer.status == 400 and answer.content_type == "application/xml"
    assert ElementTree.fromstring(answer.body).findtext("ERROR") == "SNMPQUERY is not supported by this server"


def test_inventory_of_another_itemtype_is_refused() -> None:
    body = json.dumps({"action": "inventory", "deviceid": "sw-1", "itemtype": "NetworkEquipment", "content": {}})
    with pytest.raises(AgentMessageError) as caught:
        read_message(zlib.compress(body.encode()))
    error = caught.value
    assert error.status == 400 and "NetworkEquipment" in error.message
    answer = error_answer(error)
    assert answer.status == 400 and answer.content_type == "application/x-compress-zlib"
    assert json.loads(zlib.decompress(answer.body))["status"] == "error"


def test_error_answer_for_an_xml_request_is_xml() -> None:
    with pytest.raises(AgentMessageError) as caught:
        read_message(b"<REQUEST><QUERY>PROLOG</QUERY></REQUEST>")
    answer = error_answer(caught.value)
    assert (answer.status, answer.content_type) == (400, "application/xml")
    assert ElementTree.fromstring(answer.body).findtext("ERROR") == "message has no deviceid"


def test_freq_hours_must_be_positive() -> None:
    message, encoding = read_message(json.dumps(CONTACT).encode())
    with pytest.raises(ValueError):
        answer_for(message, encoding, freq_hours=0)
