"""Vietnamese first; English by a switch kept in the session."""

from __future__ import annotations

from datetime import date

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


# A day the way each language writes it, as the workbooks and the printed report do
# (inventory.io.table_export's formats, compliance.workbook.vi_date).
DAY_FORMATS = {"vi": "%d/%m/%Y", "en": "%Y-%m-%d"}


def day_format() -> str:
    return DAY_FORMATS.get(current_language(), DAY_FORMATS["en"])


def day_text(value: date | str | None) -> str:
    """22/12/2026 in Vietnamese, 2026-12-22 in English; a text that is no ISO day as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime(day_format())


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
