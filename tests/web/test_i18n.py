"""Vietnamese by default, English by the switch, kept in the session (also across sign-in)."""

from __future__ import annotations

import pytest

from inventory.choices import LABELS_VI, SEVERITY_LABELS_VI, Severity, values
from tests.web.conftest import csrf_token, login
from web.labels import LABELS, SEVERITY_LABELS

pytestmark = pytest.mark.db


def test_vietnamese_is_the_default(login_as):
    body = login_as("viewer").get("/devices/").get_data(as_text=True)
    assert '<html lang="vi">' in body
    assert "Tổng quan" in body and "Thiết bị chuyển mạch nhánh" in body


def test_switch_to_english_and_back(login_as, seed):
    client = login_as("viewer")
    token = csrf_token(client, "/")
    response = client.post("/language/en", data={"csrf_token": token, "next": "/devices/?site=S1"})
    assert response.headers["Location"] == "/devices/?site=S1"
    body = client.get("/devices/").get_data(as_text=True)
    assert '<html lang="en">' in body
    assert "Overview" in body and "Access switch" in body and "Tổng quan" not in body
    body = client.get("/").get_data(as_text=True)
    assert "Telnet disabled on all management access" in body  # rule titles follow the language
    client.post("/language/vi", data={"csrf_token": token})
    assert "Tổng quan" in client.get("/").get_data(as_text=True)


def test_language_survives_sign_in(app, seed):
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/language/en", data={"csrf_token": token})
    assert "Sign in" in client.get("/login").get_data(as_text=True)
    login(client, seed.users["viewer"])
    assert "Overview" in client.get("/").get_data(as_text=True)


def test_unknown_language_is_ignored(app, seed):
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/language/xx", data={"csrf_token": token})
    assert '<html lang="vi">' in client.get("/login").get_data(as_text=True)


def test_labels_match_the_inventory_vocabulary():
    assert set(LABELS) == set(LABELS_VI)
    for code, text in LABELS_VI.items():
        assert LABELS[code]._args[-1] == text, code
    # Severities: the same labels the report prints, in the same order as the vocabulary.
    assert list(SEVERITY_LABELS) == list(SEVERITY_LABELS_VI) == values(Severity)
    for code, text in SEVERITY_LABELS_VI.items():
        assert SEVERITY_LABELS[code]._args[-1] == text, code


def test_every_catalog_entry_is_translated_and_current():
    """Nothing fuzzy, empty or obsolete in the English catalog (an obsolete entry is one the
    code no longer asks for; a context entry that fell out of it showed Vietnamese in English)."""
    from pathlib import Path

    from babel.messages.pofile import read_po

    import web

    with (Path(web.__file__).parent / "translations/en/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle)
    assert not catalog.obsolete
    for message in catalog:
        if message.id:
            assert message.string and not message.fuzzy, message.id


def test_every_label_reads_in_english(app):
    from web.labels import _TABLES, label

    with app.test_request_context():
        from flask import session

        session["lang"] = "en"
        for table in _TABLES:
            for code, text in table.items():
                english = label(code)
                assert english and english != text._args[-1], (code, english)


def test_every_message_in_the_code_is_in_the_catalog():
    """What `pybabel extract` finds in web/ (see web/babel.cfg) has an English entry: a string
    added to a page without a catalog update would show Vietnamese in the English UI."""
    from pathlib import Path

    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.pofile import read_po

    import web

    root = Path(web.__file__).parent
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_pgettext": ((1, "c"), 2)}
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(str(root), method_map, keywords=keywords):
        found.add((context, message if isinstance(message, str) else message[0]))
    with (root / "translations/en/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle)
    known = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}
    assert found and not found - known, sorted(found - known)
