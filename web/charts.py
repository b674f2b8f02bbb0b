"""A trend series (compliance.trends.series) drawn as a small inline SVG, on the server: the three
compliance shares stacked over the days (compliant at the bottom, then non-compliant, then
unknown) and a line of open critical findings on its own scale at the right. No script, no
external font; a title and a description say in words what the picture shows.

`trend_svg` is a pure function of the points and the words (tested by parsing its output);
`panel` fills the words in the page's language for the templates (web/templates/_trend.html).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from babel.dates import format_date
from markupsafe import Markup, escape

from compliance.trends import enough_history
from compliance.trends import series as trend_series

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 40, 10, 26  # margins: share axis, critical axis, date labels
STACK = ("compliant", "non_compliant", "unknown")  # bottom to top
COLOURS = {"compliant": "#2e7d32", "non_compliant": "#b3261e", "unknown": "#9aa3ad", "critical": "#1d1d1f"}
DATE_PATTERNS = {"vi": "dd/MM", "en": "MMM d"}
DATE_TICKS = 4


def day_label(day: date, lang: str) -> str:
    return format_date(day, DATE_PATTERNS.get(lang, DATE_PATTERNS["vi"]), locale=lang if lang in DATE_PATTERNS else "vi")


def _percent(part: int, whole: int) -> float:
    return 100 * part / whole if whole else 0.0


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def trend_svg(points: list[dict[str, Any]], *, words: dict[str, str], lang: str = "vi", chart_id: str = "trend") -> Markup:
    """The chart of `points` (oldest first, at least one). `words`: title, and desc_format (with
    {first}, {last}, {compliant}, {non_compliant}, {unknown}, {critical}: the first and last day
    and the last day's figures). The legend is the page's (web/templates/_trend.html)."""
    first, last = points[0]["day"], points[-1]["day"]
    span = max((last - first).days, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_h

    def x(day: date) -> float:
        return LEFT + plot_w * ((day - first).days / span if last != first else 0.5)

    def y(percent: float) -> float:
        return bottom - plot_h * percent / 100

    top_critical = max(1, max(p["critical"] for p in points))
    parts = []
    # Stacked shares: each band a polygon along its upper edge, back along its lower edge.
    below = [0.0] * len(points)
    for state in STACK:
        above = [b + _percent(p[state], p["devices"]) for b, p in zip(below, points, strict=True)]
        upper = [f"{_n(x(p['day']))},{_n(y(a))}" for p, a in zip(points, above, strict=True)]
        lower = [f"{_n(x(p['day']))},{_n(y(b))}" for p, b in reversed(list(zip(points, below, strict=True)))]
        values = " ".join(_n(a - b) for a, b in zip(above, below, strict=True))
        parts.append(f'<polygon class="band-{state}" data-values="{values}" fill="{COLOURS[state]}" fill-opacity="0.85" points="{" ".join(upper + lower)}"/>')
        below = above
    critical = " ".join(f"{_n(x(p['day']))},{_n(bottom - plot_h * p['critical'] / top_critical)}" for p in points)
    values = " ".join(str(p["critical"]) for p in points)
    parts.append(f'<polyline class="line-critical" data-values="{values}" fill="none" stroke="{COLOURS["critical"]}" stroke-width="2" points="{critical}"/>')
    # Axes: shares at the left, critical findings at the right, a few dates below.
    axis = 'font-size="11" fill="#444"'
    parts.append(f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#444"/>')
    for percent in (0, 50, 100):
        parts.append(f'<text class="axis-share" x="{LEFT - 4}" y="{_n(y(percent) + 4)}" text-anchor="end" {axis}>{percent}%</text>')
    for count in sorted({0, top_critical}):
        parts.append(f'<text class="axis-critical" x="{WIDTH - RIGHT + 4}" y="{_n(bottom - plot_h * count / top_critical + 4)}" {axis}>{count}</text>')
    ticks = sorted({round(i * (len(points) - 1) / (DATE_TICKS - 1)) for i in range(DATE_TICKS)}) if len(points) > 1 else [0]
    for index in ticks:
        day = points[index]["day"]
        anchor = "start" if index == 0 else "end" if index == len(points) - 1 else "middle"
        parts.append(f'<text class="axis-day" x="{_n(x(day))}" y="{HEIGHT - 8}" text-anchor="{anchor}" {axis}>{escape(day_label(day, lang))}</text>')
    latest = points[-1]
    desc = words["desc_format"].format(
        first=day_label(first, lang), last=day_label(last, lang), critical=latest["critical"],
        **{state: _n(_percent(latest[state], latest["devices"])) + "%" for state in STACK},
    )  # fmt: skip
    chart_id = escape(chart_id)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'font-family="sans-serif" aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(words["title"])}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
    )  # fmt: skip
    return Markup(head + "".join(parts) + "</svg>")  # noqa: S704 - numbers we computed; every text escaped above


def panel(points: list[dict[str, Any]], *, heading: str, title: str, chart_id: str, lang: str | None = None) -> dict[str, Any]:
    """What web/templates/_trend.html shows: {"heading", "enough": bool, "days": n, "svg": Markup
    or None}; fewer than two days of snapshots draw nothing (compliance.trends.enough_history)."""
    from flask_babel import gettext as _

    from web.i18n import current_language

    if not enough_history(points):
        return {"heading": heading, "enough": False, "days": len(points), "svg": None}
    words = {
        "title": title,
        "desc_format": _("Từ {first} đến {last}. Ngày cuối: {compliant} tuân thủ, {non_compliant} không tuân thủ, {unknown} chưa rõ; {critical} phát hiện nghiêm trọng đang mở."),
    }
    svg = trend_svg(points, words=words, lang=lang or current_language(), chart_id=chart_id)
    return {"heading": heading, "enough": True, "days": len(points), "svg": svg}


def trend_panel(session, site_ids=None, *, chart_id: str = "trend", lang: str | None = None) -> dict[str, Any]:
    """The last 90 days of `site_ids` (None: the province), for the overview and the site page."""
    from flask_babel import gettext as _

    points = trend_series(session, site_ids)
    return panel(points, heading=_("Xu hướng 90 ngày"), title=_("Tuân thủ và phát hiện nghiêm trọng, 90 ngày gần nhất"), chart_id=chart_id, lang=lang)


def quarter_panel(report, *, lang: str | None = None) -> dict[str, Any]:
    """The quarterly report's province trend (compliance.report.QuarterlyReport.trend_province)."""
    from flask_babel import gettext as _

    points = report.trend_province.to_dict(orient="records")
    return panel(points, heading=_("Xu hướng trong quý"), title=_("Tuân thủ và phát hiện nghiêm trọng trong quý"), chart_id="trend-quarter", lang=lang)


# ------------------------------------------------------------------------------ risk reduced per billion VND

SERIES_COLOURS = ("#1f5f99", "#c77700", "#5b8c3a", "#7a4b94")  # one per plan or scenario compared


def risk_per_billion_svg(series: list[tuple[str, dict[int, float | None]]], years: list[int], *, words: dict[str, str], fmt=_n, chart_id: str = "risk-per-billion") -> Markup:
    """Grouped bars: for each plan year, one bar per series (a plan or scenario) of the risk
    points the purchases of that year remove per billion VND spent (None: nothing bought, no bar).
    `words`: title and desc (the description in words, already filled in); `fmt` formats the
    value written above each bar (the page's number format). The legend is the page's."""
    width, height, left, right, top, bottom = 640, 220, 56, 10, 18, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for _, values in series for v in values.values() if v is not None] + [0.0])
    scale = _round_up(peak)
    slot = plot_w / max(1, len(years))
    bar_w = min(56.0, slot * 0.8 / max(1, len(series)))
    axis = 'font-size="11" fill="#444"'
    parts = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#444"/>']
    for share in (0, 0.5, 1):
        y = top + plot_h - plot_h * share
        parts.append(f'<line x1="{left}" y1="{_n(y)}" x2="{width - right}" y2="{_n(y)}" stroke="#ddd"/>')
        parts.append(f'<text class="axis-value" x="{left - 4}" y="{_n(y + 4)}" text-anchor="end" {axis}>{escape(fmt(scale * share))}</text>')
    for i, year in enumerate(years):
        x0 = left + i * slot + (slot - bar_w * len(series)) / 2
        for j, (label, values) in enumerate(series):
            value = values.get(year)
            if value is None:
                continue
            h = plot_h * value / scale
            x, y = x0 + j * bar_w, top + plot_h - h
            colour = SERIES_COLOURS[j % len(SERIES_COLOURS)]
            parts.append(
                f'<rect class="bar-series-{j}" data-year="{year}" data-value="{_n(value)}" x="{_n(x)}" y="{_n(y)}" width="{_n(bar_w - 2)}" '
                f'height="{_n(h)}" fill="{colour}"><title>{escape(label)} · {year}: {escape(fmt(value))}</title></rect>'
            )  # fmt: skip
            parts.append(f'<text x="{_n(x + (bar_w - 2) / 2)}" y="{_n(y - 3)}" text-anchor="middle" {axis}>{escape(fmt(value))}</text>')
        parts.append(f'<text class="axis-year" x="{_n(left + (i + 0.5) * slot)}" y="{height - 8}" text-anchor="middle" {axis}>{year}</text>')
    chart_id = escape(chart_id)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="risk-chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'font-family="sans-serif" aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(words["title"])}</title><desc id="{chart_id}-desc">{escape(words["desc"])}</desc>'
    )  # fmt: skip
    return Markup(head + "".join(parts) + "</svg>")  # noqa: S704 - numbers we computed; every text escaped above


def _round_up(value: float) -> float:
    """The axis's top: 1, 2, 2.5 or 5 times a power of ten, at least `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if value <= step * power)
