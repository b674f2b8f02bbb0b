"""The main pages in the Vietnamese UI speak Vietnamese: every visible word that is English (a word
of the English catalog's translations, or a common English UI word) and not a product, protocol,
unit or code fails the test, naming the page, the word and its context.

What is not read: tags' attribute values, <code>/<pre>/<kbd>/<script>/<style>, evidence blocks
(class "evidence"), parts marked lang="en" (shown English on purpose), and words joined to digits
or code punctuation ("net.telnet_off", "sw1", "10.1.1.2"), which are codes and data.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import update
from sqlmodel import Session, select

from compliance.events import raise_event
from inventory import audit
from inventory.models import AuditLog, Device, Event, EventDelivery, Finding, NotificationChannel, ScanOutcome, ScanRun, User

pytestmark = pytest.mark.db

CATALOG = Path(__file__).parents[2] / "web/translations/en/LC_MESSAGES/messages.po"

# Common English UI words, beyond those of the catalog's translations.
COMMON_WORDS = """
    the of and or not no yes on off in to for with from by at is are was were be been has have had this that these those it
    found failed passed none unknown open waived error errors warning ok success successful done running finished started
    device devices site sites scan scans finding findings rule rules user users admin web scheduler cli manual status kind
    created updated deleted create update delete login logout password role name value values field fields before after
    action entity changed change changes edit save cancel back next previous page total all any other more less
    expected actual evidence allowed origin enabled disabled true false null timeout timed out response retries
    refused unreachable reachable host hosts port ports address addresses subnet network interface interfaces report reports
    import export file files row rows column columns sheet template required invalid must least characters date time
    number hostname serial assigned class zone poll discover collect sweep probe up down default platform release
"""
COMMON = set(COMMON_WORDS.split())

# Words that read the same in Vietnamese (written without diacritics) or that are not English
# when shown: product, protocol and format names, units, the seed's own data values, and "agent",
# a loanword Vietnamese IT staff use as it is (the labels gloss it: "Tác nhân (agent)").
ALLOWED_WORDS = """
    an in do to con ban tin xa so vi binh nam ha
    kiemke snmp ssh http https csv xlsx pdf json xml ip ipv mac api cpu ram tpm uuid glpi ocs fusioninventory smtp
    starttls webhook hmac bml internet community mbps gbps gb mb kb tb os id url telnet cisco ios xe dell model
    english secure boot sysname sysdescr sysobjectid vpn wan lan nmap rw ro syslog ntp aaa radius tacacs
    vlan dhcp dns sha md windows linux macos office bitlocker defender antivirus firewall
    script alert xss bold img src onerror
    agent agents
"""
ALLOWED = set(ALLOWED_WORDS.split())

# Phrases that are allowed as a whole: configuration statements the check texts quote (the
# Vietnamese sentence around them is read), anything between backticks, and English terms kept
# in brackets beside their Vietnamese name.
ALLOWED_PHRASES = re.compile(
    r"`[^`]*`|aaa new-model|aaa authentication login|login authentication|login list|line vty|enable secret|enable password"
    r"|service password-encryption|(?:ipv6 |ip http )?access-class|snmp-server(?: community)?|authPriv|mức bảo mật priv"
    r"|dùng password thay vì secret|bằng secret|\(agent\)|giao diện web|trang web"
    r"|auth key|priv key|[Mm]ật khẩu enable|\(secret\)|basic auth|X-Kiemke-\w+|kiemke \w+|xa-an-binh-agents"
)
SKIPPED_TAGS = {"code", "pre", "kbd", "script", "style", "samp", "textarea"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def english_words() -> set[str]:
    catalog = read_po(CATALOG.open("rb"))
    words = set(COMMON)
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            words.update(w.lower() for w in re.findall(r"[A-Za-z]+", re.sub(r"%\(\w+\)[sd]|\{\w+\}", " ", text or "")))
    return {w for w in words if len(w) > 1} - ALLOWED


class VisibleText(HTMLParser):
    """The text a reader sees, without skipped elements (a stack of open tags that skip)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            self.parts.append(" ")
            return
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        skip = tag in SKIPPED_TAGS or "evidence" in classes or attrs.get("lang") == "en" or "hidden" in attrs
        self.stack.append((tag, skip))
        self.parts.append(" ")

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break
        self.parts.append(" ")

    def handle_data(self, data):
        if not any(skip for _, skip in self.stack):
            self.parts.append(data)

    def text(self) -> str:
        return " ".join("".join(self.parts).split())


def english_leftovers(html: str, english: set[str]) -> list[tuple[str, str]]:
    """(word, context) for every English word in the page's visible text."""
    parser = VisibleText()
    parser.feed(html)
    text = ALLOWED_PHRASES.sub(" ", parser.text())
    found = []
    for chunk in re.finditer(r"[^\s:#]+", text):
        value = chunk.group().strip(".,;!?()[]{}«»\"'“”…·|")
        if not value or re.search(r"[0-9_/=@]|\.\w", value):
            continue
        for word in re.findall(r"[A-Za-zÀ-ỹĐđ]+", value):
            if not word.isascii() or word.isupper() and len(word) > 1:
                continue  # Vietnamese, or an acronym (SNMP, RW)
            if word.lower() in english:
                start = max(chunk.start() - 40, 0)
                found.append((word, text[start : chunk.end() + 40]))
    return found


@pytest.fixture
def known_data(engine, seed):
    """The web seed, plus what the pages show beyond it: finished and failed scans started by
    someone on the web, the scheduler and the command line, an audit trail with a device edit,
    a waived finding and events."""
    with Session(engine, expire_on_commit=False) as session:
        site_id = session.get(Device, seed.device_id).site_id
        now = datetime.now(UTC)
        runs = [
            ScanRun(kind="discover", site_id=site_id, status="ok", triggered_by="web:u_admin#abcd1234", started_at=now - timedelta(minutes=3), finished_at=now,
                    params={"subnet": "10.1.1.0/24", "zone": "party_wan"}, summary={"found": 2, "new": 1, "hosts": 254}),
            ScanRun(kind="poll", site_id=site_id, status="failed", triggered_by="scheduler", started_at=now - timedelta(minutes=3), finished_at=now,
                    summary={"ok": 0, "failed": 1}, error="SNMP timeout: no response from 10.1.1.2 after 2 retries"),
            ScanRun(kind="poll", site_id=site_id, status="partial", triggered_by="cli:root", started_at=now - timedelta(minutes=3), finished_at=now, summary={"ok": 1, "failed": 1}),
        ]  # fmt: skip
        session.add_all(runs)
        session.flush()
        session.add_all(
            [
                ScanOutcome(scan_run_id=runs[1].id, device_id=seed.device_id, address="10.1.1.2", status="failed", error_kind="timeout", message="timed out after 2.0 s"),
                ScanOutcome(scan_run_id=runs[2].id, device_id=seed.device_id, address="10.1.1.2", status="ok"),
            ]
        )
        # The conftest seed's placeholders, as the checks, the CLI and people would have written them.
        texts = [("telnet disabled on all management access", "telnet allowed"), ("no read-write community", None),
                 ("an allowed country of origin", "unknown origin")]  # fmt: skip
        for finding_id, (expected, actual) in zip(seed.finding_ids, texts, strict=True):
            finding = session.get(Finding, finding_id)
            finding.expected, finding.actual = expected, actual or finding.actual
        names = iter(["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em"])
        renamed = {}
        for user in session.exec(select(User)):
            user.full_name = renamed[user.id] = next(names)
        for entry in session.exec(select(AuditLog).where(AuditLog.entity == "user", AuditLog.action == "create")):
            entry.after = entry.after | {"full_name": renamed[int(entry.entity_id)]}
        session.execute(update(AuditLog).where(AuditLog.actor == "test").values(actor="cli:root"))
        session.execute(update(ScanRun).where(ScanRun.triggered_by == "test").values(triggered_by="cli:root"))
        switch = session.get(Device, seed.device_id)
        before = audit.snapshot(switch)
        switch.assigned_user, switch.status = "Nguyễn Văn A", "in_stock"
        audit.record(session, "u_technician", "update", "device", switch.id, before=before, after=audit.snapshot(switch))
        audit.record(session, "u_admin", "create", "site", "S1", after={"code": "S1", "name": "Sở", "kind": "commune"})
        audit.record(session, "agent:xa-1", "import", "agent_inventory", runs[2].id, after={"created": 3, "updated": 1})
        waived = session.get(Finding, seed.finding_ids[2])
        waived.status, waived.waiver_reason, waived.waiver_expires = "waived", "Máy dự phòng", date.today() + timedelta(days=30)
        waived.waived_by = "u_security_officer"
        raise_event(session, "run_failed", "high", "run_failed:test", site_id=site_id, scan_run_id=runs[1].id,
                    data={"run_kind": "poll", "status": "failed", "error": runs[1].error, "triggered_by": "scheduler"})  # fmt: skip
        raise_event(session, "new_critical_finding", "critical", "ncf:test", site_id=site_id, device_id=seed.device_id,
                    finding_id=seed.finding_ids[0], data={"rule_id": "net.telnet_off"})  # fmt: skip
        channel = NotificationChannel(name="Phòng an ninh", kind="webhook", settings={"url": "https://10.1.1.9/hook"}, min_severity="high")
        session.add(channel)
        session.flush()
        event_id = session.exec(select(Event.id)).first()
        session.add(EventDelivery(event_id=event_id, channel_id=channel.id, status="failed", attempts=5, last_error="no answer within the timeout"))
        session.commit()
        return seed


def main_pages(seed) -> list[tuple[str, str]]:
    """(role, path) of the pages a day's work passes through."""
    return [
        ("security_officer", "/"),
        ("security_officer", "/devices/"),
        ("security_officer", f"/devices/{seed.device_id}"),
        ("security_officer", f"/devices/{seed.device_id}/history"),
        ("security_officer", "/findings/"),
        ("security_officer", "/findings/?status=all"),
        ("security_officer", f"/findings/{seed.finding_ids[0]}"),
        ("security_officer", f"/findings/{seed.finding_ids[2]}"),
        ("security_officer", "/sites/"),
        ("security_officer", f"/sites/{seed.site_code}"),
        ("technician", "/scans/"),
        ("security_officer", "/events/"),
        ("security_officer", "/audit/"),
        ("planner", "/procurement/"),
        ("planner", "/reports/"),
        ("admin", "/admin/users"),
    ]


def more_pages(seed) -> list[tuple[str, str]]:
    """(role, path) of the other pages: forms, searches, administration."""
    return [
        ("technician", f"/devices/{seed.device_id}/edit"),
        ("technician", "/scans/2"),
        ("technician", "/scans/3"),
        ("technician", "/scans/4"),
        ("security_officer", f"/devices/{seed.hostile_device_id}"),
        ("security_officer", f"/devices/{seed.hostile_device_id}/history"),
        ("technician", "/transfers/"),
        ("security_officer", "/search/?q=sw1"),
        ("security_officer", "/search/?q=S1"),
        ("admin", "/admin/"),
        ("admin", "/admin/schedule"),
        ("admin", "/admin/notifications"),
        ("admin", "/admin/credentials"),
        ("admin", "/admin/agents/"),
        ("admin", "/admin/token"),
        ("viewer", "/password"),
    ]


def test_the_detector_finds_english_and_lets_vietnamese_and_codes_pass():
    english = english_words()
    html = """<p>Thiết bị <b>sw1</b> (10.1.1.2) không tuân thủ net.telnet_off: SNMP, Cisco IOS-XE.</p>
              <pre>transport input telnet</pre><code>device failed</code><p title="device not found">Đơn vị</p>
              <p class="evidence">line vty 0 4 failed</p><span lang="en">Device</span>"""
    assert english_leftovers(html, english) == []
    words = [word for word, _ in english_leftovers("<td>Device not found</td><td>web:admin#ab12 · scheduler</td>", english)]
    assert words == ["Device", "not", "found", "web", "admin", "scheduler"]


def test_main_pages_have_no_english_words_in_the_vietnamese_ui(login_as, known_data):
    english = english_words()
    clients: dict[str, object] = {}
    problems = []
    for role, path in main_pages(known_data) + more_pages(known_data):
        client = clients.get(role) or clients.setdefault(role, login_as(role))
        response = client.get(path)
        assert response.status_code == 200, path
        problems += [f"{path}: {word!r} in …{context}…" for word, context in english_leftovers(response.get_data(as_text=True), english)]
    assert not problems, "English words in the Vietnamese UI:\n" + "\n".join(problems)


@pytest.mark.parametrize(("lang", "required", "too_short"), [("vi", "Trường này bắt buộc phải nhập.", "Độ dài phải từ 10"), ("en", "This field is required.", "Field must be between 10")])
def test_wtforms_own_messages_follow_the_page_language(app, lang, required, too_short):
    from flask import session

    from web.forms import ChangePasswordForm

    with app.test_request_context("/password", method="POST", data={"current": "", "new": "ngan", "confirm": "ngan"}):
        session["lang"] = lang
        form = ChangePasswordForm(meta={"csrf": False})
        assert not form.validate()
        assert form.errors["current"] == [required]
        assert form.errors["new"][0].startswith(too_short)


def test_refused_forms_say_why_in_vietnamese(login_as, known_data):
    """A form refused by WTForms' own validators, and an account refused by inventory.users."""
    from tests.web.conftest import csrf_token
    from tests.web.test_device_edit import form_of

    english = english_words()
    admin = login_as("admin")
    token = csrf_token(admin, "/admin/users")
    blank = admin.post("/admin/users", data={"csrf_token": token, "username": "", "role": "viewer"})
    assert blank.status_code == 400 and "Trường này bắt buộc phải nhập." in blank.get_data(as_text=True)
    taken = admin.post("/admin/users", data={"csrf_token": token, "username": "u_viewer", "role": "viewer"})
    body = taken.get_data(as_text=True)
    assert taken.status_code == 400 and "tên đăng nhập “u_viewer” đã có người dùng" in body
    technician = login_as("technician")
    typed = form_of(technician, known_data.device_id) | {"mgmt_ip": "10.1.1.300", "country_of_origin": "Việt", "purchase_date": "31/02/2022"}
    bad_day = technician.post(f"/devices/{known_data.device_id}/edit", data=typed)
    bad_ip = technician.post(f"/devices/{known_data.device_id}/edit", data=typed | {"purchase_date": "2022-02-28"})
    assert bad_day.status_code == bad_ip.status_code == 400
    responses = (blank, taken, bad_day, bad_ip)
    problems = [f"{word!r} in …{context}…" for response in responses for word, context in english_leftovers(response.get_data(as_text=True), english)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("lang", "count", "amount", "day", "moment"),
    [("vi", "4.511", "60.485,95", "22/12/2026", "22/12/2026 14:05"), ("en", "4,511", "60,485.95", "2026-12-22", "2026-12-22 14:05")],
)
def test_one_number_and_date_format_per_language(app, lang, count, amount, day, moment):
    from flask import render_template_string, session

    with app.test_request_context("/"):
        session["lang"] = lang
        page = render_template_string("{{ 4511|number }} {{ 60485.951|number(2) }} {{ d|when }} {{ t|when }}", d=date(2026, 12, 22), t=datetime(2026, 12, 22, 7, 5, tzinfo=UTC))
    assert page == f"{count} {amount} {day} {moment}"  # 07:05 UTC is 14:05 in Vietnam


def test_import_previews_speak_vietnamese(login_as, known_data):
    """A device file with errors (an unknown class, an unknown site) and one with changes: what the
    preview says about each row."""
    from tests.web.test_import_preview import HEADER, preview

    english = english_words()
    client = login_as("technician")
    problems = []
    for content in (HEADER + "S1,internet,spaceship,x,SN-X,,\nS9,internet,laptop,y,SN-Y,,\n",
                    HEADER + "S2,party_wan,access_switch,sw1,SN-SW1,Lò Văn Minh,broken — Hư hỏng\nS1,internet,laptop,may-moi,SN-MOI,,\n"):  # fmt: skip
        response, _held, _token = preview(client, content)
        problems += [f"{word!r} in …{context}…" for word, context in english_leftovers(response.get_data(as_text=True), english)]
    assert not problems, "\n".join(problems)
