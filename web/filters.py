"""Jinja filters and globals shared by every template."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import request, url_for
from flask_wtf.csrf import generate_csrf

from compliance.workbook import vi_number
from inventory.choices import LOCAL_TIMEZONE
from inventory.repository import COMPLIANCE_STATES, share_percent
from web.access import may
from web.check_texts import check_text, evidence_text
from web.i18n import current_language, day_format
from web.labels import COMPLIANCE_COLOURS, SHARE_PHRASES, audit_fields, compliance_reason, label, link_state, outcome_word, run_kind, who_ran
from web.notify_texts import delivery_error

LOCAL = ZoneInfo(LOCAL_TIMEZONE)


def when(value) -> str:
    """Dates as 22/12/2026 in Vietnamese and 2026-12-22 in English; times as the local day and
    HH:MM (stored in UTC)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            return value
    day = day_format()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(LOCAL).strftime(f"{day} %H:%M")
    if isinstance(value, date):
        return value.strftime(day)
    return str(value)


def number(value, decimals: int = 0, *, lang: str | None = None) -> str:
    """A count or an amount in the page's language (or `lang`, for a caller formatting thousands
    that looks it up once): 4.511 and 60.485,95 in Vietnamese (as the report and the workbooks),
    4,511 and 60,485.95 in English; '' for a missing value."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return ""
    if not isinstance(value, int | float):
        try:
            value = float(value) if "." in str(value) else int(value)
        except ValueError:
            return str(value)  # not a number: shown as it is
    if (lang or current_language()) == "vi":
        return vi_number(value, decimals)
    return f"{value:,.{decimals}f}"


def run_error(text: str | None) -> str:
    """A run's stored error in the page's language: what happened (web.scan_texts reads its
    shape; the hint is on the run's own page)."""
    if not text:
        return ""
    from web.scan_texts import scan_failure  # the scans' module, loaded when a page shows a failure

    return scan_failure(text).what


def as_json(value) -> str:
    """Pretty JSON as text (the template escapes it like any other text)."""
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


def url_with(**changes) -> str:
    """This page's URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [value]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def segment(value) -> str:
    """A value quoted as one URL path segment: `base ~ value|segment` builds row links in a long
    table without a url_for per row (a tenth of a list page's time)."""
    return quote(str(value), safe="")


def shares(counts: dict[str, int] | None) -> str:
    """The three compliance shares together, never one alone: "15% tuân thủ · 60% không tuân
    thủ · 25% chưa rõ" (counts: state -> devices; a device never evaluated counts as unknown)."""
    counts = counts or {}
    total = sum(counts.get(state, 0) for state in COMPLIANCE_STATES)
    return " · ".join(str(SHARE_PHRASES[state]) % {"share": share_percent(counts.get(state, 0), total)} for state in COMPLIANCE_STATES)


def rule_title(rule_id: str) -> str:
    from web.i18n import current_language
    from web.queries import rule_titles

    return rule_titles().get(rule_id, {}).get(current_language(), "")


def init_app(app) -> None:
    app.jinja_env.filters.update(label=label, when=when, as_json=as_json, segment=segment, shares=shares, compliance_reason=compliance_reason, check_text=check_text, evidence_text=evidence_text,
                                 number=number, run_kind=run_kind, who_ran=who_ran, link_state=link_state, run_error=run_error, audit_fields=audit_fields,
                                 delivery_error=delivery_error, outcome_word=outcome_word)  # fmt: skip
    app.jinja_env.globals.update(may=may, url_with=url_with, csrf_token=generate_csrf, rule_title=rule_title, compliance_colours=COMPLIANCE_COLOURS, endpoints=lambda: app.view_functions.keys())
    app.jinja_env.autoescape = True  # also for templates whose names do not end in .html
