"""Vietnamese first; English by a switch kept in the session."""

from __future__ import annotations

from flask import session
from flask_babel import Babel, get_locale

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT = "vi"


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT


def current_language() -> str:
    return str(get_locale() or DEFAULT)


def init_app(app) -> None:
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=current_language)
