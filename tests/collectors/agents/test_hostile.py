"""Hostile and broken bodies: each is refused with an AgentMessageError, never another exception."""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.agents import messages
from collectors.agents.messages import read_message
from collectors.agents.wire import AgentMessageError


def _refused(body: bytes) -> AgentMessageError:
    with pytest.raises(AgentMessageError) as caught:
        read_message(body)
    return caught.value


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<REQUEST><DEVICEID>&lol2;</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<REQUEST><DEVICEID>&x;</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>"""
BARE_DOCTYPE = b'<!DOCTYPE REQUEST SYSTEM "http://127.0.0.1/agent.dtd"><REQUEST><QUERY>PROLOG</QUERY></REQUEST>'


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, BARE_DOCTYPE])
def test_xml_with_dtd_or_entities_is_refused(body: bytes) -> None:
    error = _refused(zlib.compress(body))
    assert error.status == 400 and "DTD" in error.message


def test_ten_megabytes_of_nested_json_is_refused_cleanly() -> None:
    body = zlib.compress(b'{"a":' + b"[" * (10 * 1024 * 1024))
    error = _refused(body)
    assert error.status == 400


def test_deeply_nested_xml_is_refused_or_read_without_recursion() -> None:
    body = b"<REQUEST><DEVICEID>pc</DEVICEID><QUERY>INVENTORY</QUERY><CONTENT>" + b"<A>" * 100_000
    assert _refused(zlib.compress(body)).status == 400  # never closed: not well-formed


def test_too_many_xml_elements_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messages, "MAX_XML_ELEMENTS", 1000)
    body = b"<REQUEST><CONTENT>" + b"<ENVS><KEY>k</KEY></ENVS>" * 1000 + b"</CONTENT></REQUEST>"
    assert _refused(body).status == 413


def test_too_many_section_entries_is_refused() -> None:
    nic = {"description": "eth0"}
    body = json.dumps({"action": "inventory", "deviceid": "pc", "content": {"networks": [nic] * 10_001}})
    assert _refused(zlib.compress(body.encode())).status == 400


@pytest.mark.parametrize(
    "body",
    [
        b'{"action": "contact", "deviceid": "caf\xe9"}',  # Latin-1, not UTF-8
        b'{"action": "contact", "deviceid": "\xff\xfe"}',
    ],
)
def test_non_utf8_json_is_refused(body: bytes) -> None:
    error = _refused(body)
    assert error.status == 400 and "UTF-8" in error.message


def test_non_utf8_xml_is_refused() -> None:
    assert _refused(b"<REQUEST><DEVICEID>caf\xe9</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>").status == 400


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2, 3]",  # starts with [: not JSON by the agents' rule, and not XML
        b'{"action": "contact"}',  # no deviceid
        b'{"action": "contact", "deviceid": ""}',
        b'{"action": "contact", "deviceid": 42}',
        b'{"action": "contact", "deviceid": "pc\\u0000\\u001b"}',
        b'{"action": "contact", "deviceid": "' + b"x" * 300 + b'"}',
        b'{"deviceid": "pc"}',  # no action, no content
        b'{"action": ["inventory"], "deviceid": "pc"}',
        b'{"action": "inventory", "deviceid": "pc", "content": []}',
        b'{"action": "inventory", "deviceid": "pc"}',
        b'{"action": "inventory", "deviceid": "pc", "itemtype": {"$ne": 1}, "content": {}}',
        b'{"action": "contact", "deviceid": "pc", "n": 1' + b"1" * 5000 + b"}",  # int too long to convert
        b"{not json",
        b"<html><body>hello</body></html>",
        b"<REQUEST><QUERY>INVENTORY</QUERY><DEVICEID>pc</DEVICEID></REQUEST>",  # no CONTENT
        b"<REQUEST><DEVICEID>pc</DEVICEID></REQUEST>",  # no QUERY
        b"<REQUEST><DEVICEID>pc</DEVICEID><QUERY>PROLOG</QUERY>",  # truncated
    ],
)
def test_what_is_not_an_agent_message_is_refused(body: bytes) -> None:
    assert _refused(body).status in (400, 415)


def test_a_list_body_is_refused_even_when_compressed() -> None:
    error = _refused(zlib.compress(b"[]"))
    assert (error.status, error.encoding) == (400, "zlib")
    assert "neither a JSON object nor XML" in error.message


def test_refusals_do_not_quote_the_body() -> None:
    error = _refused(b'{"action": "inventory", "deviceid": "pc", "itemtype": "<img src=x onerror=alert(1)>"}')
    assert "<img" not in error.message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_a_message_or_an_agent_message_error(body: bytes) -> None:
    try:
        read_message(body)
    except AgentMessageError as error:
        assert error.status in (400, 413, 415)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30,
)
_sections = st.sampled_from(["hardware", "bios", "cpus", "memories", "storages", "drives", "operatingsystem", "antivirus", "firewalls", "networks"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_sections, _json_values, max_size=6), st.booleans())
def test_arbitrary_json_content_never_crashes_the_mapping(content: dict, partial: bool) -> None:
    body = json.dumps({"action": "inventory", "deviceid": "pc-1", "partial": partial, "content": content})
    try:
        read_message(body.encode())
    except AgentMessageError as error:
        assert error.status == 400


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["BIOS", "HARDWARE", "CPUS", "DRIVES", "NETWORKS", "ANTIVIRUS", "STORAGES", "X"]),
            st.dictionaries(st.sampled_from(["NAME", "CORE", "SSN", "MACADDR", "ENCRYPT_STATUS", "TYPE"]), st.text(max_size=12), max_size=4),
        ),
        max_size=8,
    )
)
def test_arbitrary_xml_sections_never_crash_the_mapping(sections: list[tuple[str, dict[str, str]]]) -> None:
    from xml.sax.saxutils import escape

    parts = "".join(f"<{name}>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items()) + f"</{name}>" for name, fields in sections)
    body = f"<REQUEST><CONTENT>{parts}</CONTENT><DEVICEID>pc</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>"
    try:
        read_message(body.encode("utf-8", "surrogatepass"))
    except AgentMessageError as error:
        assert error.status == 400
