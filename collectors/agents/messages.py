"""What an endpoint agent POSTs, as typed messages, and what kiemke answers.

Two protocols share one URL (see shared/agents.md):
- legacy XML (FusionInventory, OCS, and GLPI Agent's first contact):
  `<REQUEST><QUERY>PROLOG</QUERY>...` then `<REQUEST><QUERY>INVENTORY</QUERY><CONTENT>...`
- GLPI Agent's JSON: `{"action": "contact", ...}` then `{"action": "inventory", ...}`.
A body starting with `{` is JSON, anything else XML. Pure functions: no database, no Flask; the
web view calls `read_message`, stores an `Inventory`'s report, and sends `answer_for`'s answer
(or `error_answer`'s, for an AgentMessageError).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

import defusedxml
from defusedxml.ElementTree import DefusedXMLParser

from collectors.agents.mapping import KEPT_SECTIONS, MAX_SECTION_ENTRIES, report_from_json, report_from_xml
from collectors.agents.records import AgentReport, Encoding, Protocol
from collectors.agents.wire import AgentMessageError, decode_body, encode_reply, reply_content_type
from inventory.text import clean_text

MAX_DEVICEID_CHARS = 255
# Enough for thousands of software entries; a document past this is an attack or a broken agent.
MAX_XML_ELEMENTS = 500_000
_MAX_TASKS = 50  # an agent has about ten
_MAX_FIELD_CHARS = 4096  # text kept of one XML field (the mapping keeps far less)
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_SAFE_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_\-\\]{0,39}$")  # what may be quoted back from a body
DEFAULT_FREQ_HOURS = 24
# GLPI Agent asks for the server's inventory task version; it only needs the "glpi" server kind.
GLPI_SERVER_VERSION = "10.0.16"


@dataclass(frozen=True)
class Prolog:
    """Legacy XML first contact. A GLPI Agent sends it with a GLPI-Agent-ID header."""

    deviceid: str
    token: str | None = None
    glpi_agent_id: str | None = None


@dataclass(frozen=True)
class Contact:
    """GLPI Agent's JSON "contact": which tasks it runs."""

    deviceid: str
    enabled_tasks: tuple[str, ...] = ()
    name: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Inventory:
    report: AgentReport


@dataclass(frozen=True)
class Unsupported:
    """A well-formed agent message kiemke does not serve (JSON "get_params", XML SNMPQUERY, ...)."""

    action: str
    protocol: Protocol
    deviceid: str | None = None


Message = Prolog | Contact | Inventory | Unsupported


@dataclass(frozen=True)
class Answer:
    """What to send back: `body` is already compressed like the request."""

    status: int
    body: bytes
    content_type: str


# --- reading ----------------------------------------------------------------------------------


def read_message(body: bytes, *, agent_id_header: str | None = None) -> tuple[Message, Encoding]:
    """The message in an agent's raw HTTP body, and the body's compression.

    `agent_id_header` is the request's GLPI-Agent-ID header, if any. Raises AgentMessageError
    (with `.encoding` and `.protocol` set when they were recognised) for anything else.
    """
    data, encoding = decode_body(body)
    text = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text[:1] not in (b"{", b"<"):  # a compressed body whose content is neither
        raise AgentMessageError(400, "decompressed body is neither a JSON object nor XML", encoding=encoding)
    protocol: Protocol = "json" if text[:1] == b"{" else "xml"
    try:
        if protocol == "json":
            return _read_json(text), encoding
        return _read_xml(text, agent_id_header), encoding
    except AgentMessageError as error:
        error.encoding = encoding
        error.protocol = protocol
        raise


def _read_json(text: bytes) -> Message:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise AgentMessageError(400, "JSON body is not valid UTF-8") from None
    try:
        data = json.loads(decoded)
    except (ValueError, RecursionError):  # RecursionError: thousands of nested brackets
        raise AgentMessageError(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise AgentMessageError(400, "JSON body is not an object")
    action = data.get("action")
    if action is None and "content" in data:
        action = "inventory"  # GLPI Agent's own default for a message without an action
    if not isinstance(action, str) or not action:
        raise AgentMessageError(400, "JSON message has no action")
    if action == "contact":
        tasks = data.get("enabled-tasks")
        return Contact(
            deviceid=_deviceid(data.get("deviceid")),
            enabled_tasks=tuple(t for t in map(_short, tasks[:_MAX_TASKS]) if t) if isinstance(tasks, list) else (),
            name=_short(data.get("name")),
            version=_short(data.get("version")),
        )
    if action == "inventory":
        _deviceid(data.get("deviceid"))
        itemtype = data.get("itemtype", "Computer")
        if itemtype != "Computer":
            raise AgentMessageError(400, f"itemtype {_quoted(itemtype)} is not supported: kiemke takes inventories of computers only")
        if not isinstance(data.get("content"), dict):
            raise AgentMessageError(400, "inventory has no content object")
        partial = data.get("partial") is True or data.get("partial") in (1, "1", "true")
        return Inventory(report_from_json(data, partial=partial))
    deviceid = data.get("deviceid")
    return Unsupported(action=_safe_word(action), protocol="json", deviceid=None if deviceid is None else _deviceid(deviceid))


def _read_xml(text: bytes, agent_id_header: str | None) -> Message:
    reader = _RequestReader()
    parser = DefusedXMLParser(target=reader, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(text)
        parser.close()
    except defusedxml.DefusedXmlException:
        raise AgentMessageError(400, "XML with a DTD, entities or external references is refused") from None
    except ParseError:
        raise AgentMessageError(400, "body is not well-formed XML") from None
    except RecursionError:
        raise AgentMessageError(400, "XML nested too deeply") from None
    if reader.root != "REQUEST":
        raise AgentMessageError(400, "XML body is not an agent REQUEST")
    query = (reader.fields.get("query") or "").strip().upper()
    deviceid = _deviceid(reader.fields.get("deviceid"))
    if query == "PROLOG":
        agent_id = (agent_id_header or "").strip()
        return Prolog(
            deviceid=deviceid,
            token=_short(reader.fields.get("token")),
            glpi_agent_id=agent_id if _UUID.match(agent_id) else None,
        )
    if query == "INVENTORY":
        if reader.content is None:
            raise AgentMessageError(400, "INVENTORY request has no CONTENT")
        return Inventory(report_from_xml(reader.content, deviceid=deviceid))
    if not query:
        raise AgentMessageError(400, "XML request has no QUERY")
    return Unsupported(action=_safe_word(query), protocol="xml", deviceid=deviceid)


class _RequestReader:
    """An expat target that keeps REQUEST's own fields and CONTENT's kept sections, lower-cased:
    `content["cpus"] == [{"name": ..., "core": ...}, ...]`. Everything else is skipped as it is
    read, so memory follows what the mapping needs, not what the agent sent."""

    def __init__(self) -> None:
        self.root: str | None = None
        self.fields: dict[str, str] = {}
        self.content: dict[str, Any] | None = None
        self._path: list[str] = []
        self._entry: dict[str, str] | None = None  # the kept section entry being read
        self._text: list[str] = []
        self._text_len = 0
        self._elements = 0

    def start(self, tag: str, _attrib: dict[str, str]) -> None:
        self._elements += 1
        if self._elements > MAX_XML_ELEMENTS:
            raise AgentMessageError(413, f"XML has more than {MAX_XML_ELEMENTS} elements")
        depth = len(self._path)
        self._path.append(tag)
        self._text, self._text_len = [], 0
        if depth == 0:
            self.root = tag
        elif depth == 1 and tag == "CONTENT" and self.content is None:
            self.content = {}
        elif depth == 2 and self._in_content() and tag.lower() in KEPT_SECTIONS:
            self._entry = {}

    def data(self, text: str) -> None:
        if self._text_len < _MAX_FIELD_CHARS:
            self._text.append(text)
            self._text_len += len(text)

    def end(self, tag: str) -> None:
        depth = len(self._path)
        text = "".join(self._text)[:_MAX_FIELD_CHARS]
        self._text, self._text_len = [], 0
        if depth == 2 and tag != "CONTENT":
            self.fields.setdefault(tag.lower(), text)
        elif depth == 3 and self._entry is not None and self.content is not None:
            self._keep_section(tag.lower(), self._entry, text)
            self._entry = None
        elif depth == 4 and self._entry is not None:
            self._entry.setdefault(tag.lower(), text)
        self._path.pop()

    def close(self) -> None:
        return None

    def _in_content(self) -> bool:
        return self._path[:2] == [self.root, "CONTENT"] and self.content is not None

    def _keep_section(self, name: str, entry: dict[str, str], text: str) -> None:
        assert self.content is not None
        if not entry and text.strip():  # a text section: <VERSIONCLIENT>FusionInventory-Agent_v2.6</VERSIONCLIENT>
            self.content.setdefault(name, text)
            return
        entries = self.content.get(name)
        if not isinstance(entries, list):
            entries = self.content[name] = []
        if len(entries) >= MAX_SECTION_ENTRIES:
            raise AgentMessageError(400, f"section {name} has more than {MAX_SECTION_ENTRIES} entries")
        entries.append(entry)


def _deviceid(value: Any) -> str:
    """The agent's id of the machine: a short printable text, required in every message."""
    if not isinstance(value, str) or not value.strip():
        raise AgentMessageError(400, "message has no deviceid")
    deviceid = value.strip()
    if len(deviceid) > MAX_DEVICEID_CHARS or clean_text(deviceid) != deviceid or "\n" in deviceid or "\t" in deviceid:
        raise AgentMessageError(400, f"deviceid is not a short printable text (at most {MAX_DEVICEID_CHARS} characters)")
    return deviceid


def _short(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(clean_text(value[:400]).split())[:100]
    return text or None


def _safe_word(value: str) -> str:
    """An action or query name fit to log and answer with, or a placeholder."""
    value = value.strip()
    return value if _SAFE_WORD.match(value) else "(unreadable)"


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) and _SAFE_WORD.match(value) else "(unreadable)"


# --- answering --------------------------------------------------------------------------------


def prolog_reply_xml(freq_hours: int = DEFAULT_FREQ_HOURS) -> bytes:
    """The legacy answer to a PROLOG: come back in `freq_hours`, and send an inventory now."""
    _check_freq(freq_hours)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<REPLY><PROLOG_FREQ>{freq_hours}</PROLOG_FREQ><RESPONSE>SEND</RESPONSE></REPLY>\n').encode()


def inventory_reply_xml() -> bytes:
    """The legacy answer to an inventory. FusionInventory accepts any well-formed REPLY; OCS's
    agent wants ACCOUNT_UPDATE or NO_ACCOUNT_UPDATE, and NO_ACCOUNT_UPDATE leaves its TAG alone."""
    return b'<?xml version="1.0" encoding="UTF-8"?>\n<REPLY><RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE></REPLY>\n'


def error_reply_xml(message: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<REPLY><ERROR>{escape(message)}</ERROR></REPLY>\n'.encode()


def ok_reply_json(freq_hours: int = DEFAULT_FREQ_HOURS) -> bytes:
    """GLPI's answer to an inventory, and to a GLPI Agent's PROLOG (which switches it to JSON)."""
    _check_freq(freq_hours)
    return json.dumps({"status": "ok", "expiration": freq_hours}).encode()


def contact_reply_json(freq_hours: int = DEFAULT_FREQ_HOURS) -> bytes:
    """The answer to "contact": run the inventory task and send it in GLPI's JSON ("server": "glpi")."""
    _check_freq(freq_hours)
    tasks = {"inventory": {"server": "glpi", "version": GLPI_SERVER_VERSION}}
    return json.dumps({"status": "ok", "expiration": freq_hours, "tasks": tasks}).encode()


def error_reply_json(message: str) -> bytes:
    """GLPI Agent logs `message` as a server error."""
    return json.dumps({"status": "error", "message": message}).encode()


def answer_for(message: Message, encoding: Encoding, *, freq_hours: int = DEFAULT_FREQ_HOURS) -> Answer:
    """The answer to a message that was read (and, for an Inventory, stored)."""
    match message:
        case Prolog(glpi_agent_id=agent_id) if agent_id:
            return _answer(200, ok_reply_json(freq_hours), encoding, "json")
        case Prolog():
            return _answer(200, prolog_reply_xml(freq_hours), encoding, "xml")
        case Contact():
            return _answer(200, contact_reply_json(freq_hours), encoding, "json")
        case Inventory(report=report) if report.protocol == "json":
            return _answer(200, ok_reply_json(freq_hours), encoding, "json")
        case Inventory():
            return _answer(200, inventory_reply_xml(), encoding, "xml")
        case Unsupported(action=action, protocol=protocol):
            # GLPI answers an unknown query with 400 and a message the agent logs.
            return error_answer(AgentMessageError(400, f"{action} is not supported by this server", encoding=encoding), protocol=protocol)
    raise TypeError(f"not an agent message: {type(message).__name__}")


def error_answer(error: AgentMessageError, *, protocol: Protocol | None = None) -> Answer:
    """The answer to a refused body: the error's status and message, as JSON unless the request
    was XML, compressed like the request when its compression was recognised."""
    protocol = protocol or error.protocol or "json"
    encoding: Encoding = error.encoding or "plain"
    if protocol == "xml":
        return _answer(error.status, error_reply_xml(error.message), encoding, "xml")
    return _answer(error.status, error_reply_json(error.message), encoding, "json")


def _answer(status: int, payload: bytes, encoding: Encoding, kind: Protocol) -> Answer:
    return Answer(status=status, body=encode_reply(payload, encoding), content_type=reply_content_type(encoding, kind))


def _check_freq(freq_hours: int) -> None:
    if isinstance(freq_hours, bool) or not isinstance(freq_hours, int) or freq_hours < 1:
        raise ValueError("freq_hours must be a whole number of hours, at least 1 (agents refuse 0)")
