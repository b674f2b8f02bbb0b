"""Jinja filters and globals shared by every template."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import request, url_for
from flask_wtf.csrf import generate_csrf

from inventory.choices import LOCAL_TIMEZONE
from inventory.repository import COMPLIANCE_STATES, share_percent
from web.access import may
from web.check_texts import check_text, evidence_text
from web.labels import COMPLIANCE_COLOURS, SHARE_PHRASES, compliance_reason, label

LOCAL = ZoneInfo(LOCAL_TIMEZONE)


def when(value) -> str:
    """Dates as YYYY-MM-DD, times as local YYYY-MM-DD HH:MM (stored in UTC)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


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
    app.jinja_env.filters.update(label=label, when=when, as_json=as_json, segment=segment, shares=shares, compliance_reason=compliance_reason, check_text=check_text, evidence_text=evidence_text)
    app.jinja_env.globals.update(may=may, url_with=url_with, csrf_token=generate_csrf, rule_title=rule_title, compliance_colours=COMPLIANCE_COLOURS, endpoints=lambda: app.view_functions.keys())
    app.jinja_env.autoescape = True  # also for templates whose names do not end in .html
