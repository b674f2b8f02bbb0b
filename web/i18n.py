"""Vietnamese first; English by a switch kept in the session."""

from __future__ import annotations

from babel.support import NullTranslations
from flask import g, session
from flask_babel import Babel, get_locale, get_translations

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT = "vi"


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT


def current_language() -> str:
    found = g.get("_kiemke_language")
    if found is None:
        found = g._kiemke_language = str(get_locale() or DEFAULT)
    return found


def translations() -> NullTranslations:
    """This request's catalog, looked up once: Flask-Babel resolves it anew on every call, which
    is a third of a list page's rendering time."""
    found = g.get("_kiemke_translations")
    if found is None:
        found = g._kiemke_translations = get_translations()
    return found


def init_app(app) -> None:
    from web import form_messages  # WTForms' own messages follow the page's language too

    Babel(app, locale_selector=select_locale)
    form_messages.init_app(app)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=current_language)
