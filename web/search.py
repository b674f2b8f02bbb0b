"""The global search in every page's header: one box for hostname, IP, MAC, serial, site,
assigned user -> devices, sites and findings, grouped, with what matched highlighted. The
matching is inventory.search's; this view keeps the folded names until the data changes and
marks the matches (escaped text around <mark>, never the data as markup).

Who sees what: every role reads devices, sites and findings (web/devices.py, sites.py and
findings.py admit EVERYONE), so every signed-in user searches all three and the results are
alike for all, which is why they may be cached by query alone. A group some role could not
open would have to be left out here, and the role added to the cache key.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from markupsafe import Markup, escape

from inventory.search import NameIndex, SearchQuery, load_name_index, mac_span, match_span, search
from web.access import EVERYONE, role_required
from web.database import cached, get_session
from web.procurement import number

bp = Blueprint("search", __name__, url_prefix="/search")


def marked(text: str | None, span: tuple[int, int] | None) -> Markup:
    """`text` escaped, its `span` inside <mark>."""
    if not text:
        return Markup("")
    if span is None:
        return escape(text)
    start, end = span
    return escape(text[:start]) + Markup("<mark>") + escape(text[start:end]) + Markup("</mark>") + escape(text[end:])


def _names() -> NameIndex:
    db = get_session()
    return cached("search.names", lambda: load_name_index(db))


@bp.route("/")
@role_required(*EVERYONE)
def index():
    query = SearchQuery.parse(request.args.get("q"))
    results = None
    if query:  # alike for every role (see above): kept until the data changes, as list counts are
        results = cached(("search", query.text), lambda: search(get_session(), query, _names()), store="kiemke.counts")
    return render_template(
        "search/results.html",
        query=query,
        results=results,
        hl=lambda text: marked(text, match_span(text, query)) if query else escape(text or ""),
        hl_mac=lambda mac: marked(mac, mac_span(mac, query)) if query else escape(mac),
        count=lambda group: (number(group.total) + "+") if group.capped else number(group.total),
    )
