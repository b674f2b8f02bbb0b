"""The trend chart: an SVG drawn on the server from the daily snapshots (one vertex per day in each
share band and in the critical line, the values the snapshots hold, dates in the page's language,
a title and a description); the overview and the site page show it, or say honestly that there is
not enough history yet."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from sqlmodel import Session

from compliance.trends import take_snapshots
from tests.web.conftest import csrf_token
from web.charts import trend_svg

pytestmark = pytest.mark.db

SVG = "{http://www.w3.org/2000/svg}"
WORDS = {"title": "Xu hướng", "desc_format": "Từ {first} đến {last}: {compliant} tuân thủ, {non_compliant}, {unknown}; {critical} nghiêm trọng"}


def _point(day: date, devices: int, compliant: int, non_compliant: int, critical: int) -> dict:
    return {"day": day, "devices": devices, "compliant": compliant, "non_compliant": non_compliant, "unknown": devices - compliant - non_compliant, "critical": critical}


POINTS = [
    _point(date(2026, 6, 1), 10, 0, 0, 0),
    _point(date(2026, 6, 2), 10, 2, 5, 4),
    _point(date(2026, 6, 4), 10, 5, 3, 2),  # 3 June missing: a gap on the time axis
    _point(date(2026, 6, 5), 8, 6, 2, 1),
]


def _parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def _pairs(element: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in element.get("points").split()]


def test_svg_has_one_vertex_per_day_and_the_values():
    root = _parse(trend_svg(POINTS, words=WORDS, lang="vi"))
    assert root.tag == SVG + "svg" and root.get("role") == "img"
    bands = {el.get("class"): el for el in root.iter(SVG + "polygon")}
    assert set(bands) == {"band-compliant", "band-non_compliant", "band-unknown"}
    for band in bands.values():
        assert len(_pairs(band)) == 2 * len(POINTS)  # along its top, back along its bottom
    assert bands["band-compliant"].get("data-values") == "0 20 50 75"
    assert bands["band-non_compliant"].get("data-values") == "0 50 30 25"
    assert bands["band-unknown"].get("data-values") == "100 30 20 0"
    (line,) = root.iter(SVG + "polyline")
    assert line.get("data-values") == "0 4 2 1"
    xs = [x for x, _ in _pairs(line)]
    assert xs == sorted(xs) and (xs[2] - xs[1]) == pytest.approx(2 * (xs[1] - xs[0]))  # the missing day keeps its place
    ys = [y for _, y in _pairs(line)]
    assert ys[1] == min(ys) and ys[0] == max(ys)  # 4 critical at the top of its scale, 0 at the bottom
    # the stacked bands reach 100% where there are devices: unknown's top edge is the plot's top
    top = _pairs(bands["band-unknown"])[: len(POINTS)]
    assert len({y for _, y in top}) == 1


def test_dates_title_and_description_in_the_page_language():
    vi = _parse(trend_svg(POINTS, words=WORDS, lang="vi", chart_id="t1"))
    days = [el.text for el in vi.iter(SVG + "text") if el.get("class") == "axis-day"]
    assert days[0] == "01/06" and days[-1] == "05/06"
    assert vi.find(SVG + "title").text == "Xu hướng"
    desc = vi.find(SVG + "desc").text
    assert desc == "Từ 01/06 đến 05/06: 75% tuân thủ, 25%, 0%; 1 nghiêm trọng"
    assert vi.get("aria-labelledby") == "t1-title t1-desc"
    en = _parse(trend_svg(POINTS, words=WORDS, lang="en"))
    days = [el.text for el in en.iter(SVG + "text") if el.get("class") == "axis-day"]
    assert days[0] == "Jun 1" and days[-1] == "Jun 5"
    assert not list(en.iter(SVG + "script")) and "http" not in str(trend_svg(POINTS, words=WORDS)).replace("http://www.w3.org/2000/svg", "")


def test_words_are_escaped():
    hostile = {"title": "<script>x</script>", "desc_format": "{first} <b>"}
    root = _parse(trend_svg(POINTS, words=hostile))
    assert root.find(SVG + "title").text == "<script>x</script>" and not list(root.iter(SVG + "script"))


def test_fresh_install_says_not_enough_history(login_as, seed):
    client = login_as("viewer")
    for path in ("/", f"/sites/{seed.site_code}"):
        body = client.get(path).get_data(as_text=True)
        assert "Chưa đủ dữ liệu lịch sử" in body and "trend-chart" not in body, path


def test_pages_draw_the_last_days_once_there_is_history(login_as, seed, engine):
    today = date.today()
    with Session(engine) as session:
        for back in (2, 1, 0):
            take_snapshots(session, today - timedelta(days=back))
        session.commit()
    client = login_as("viewer")
    for path, chart in (("/", "trend-province"), (f"/sites/{seed.site_code}", "trend-site")):
        body = client.get(path).get_data(as_text=True)
        assert "Chưa đủ dữ liệu lịch sử" not in body, path
        start = body.index('<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart"')
        root = _parse(body[start : body.index("</svg>", start) + len("</svg>")])
        assert root.get("aria-labelledby") == f"{chart}-title {chart}-desc"
        (line,) = root.iter(SVG + "polyline")
        assert line.get("data-values") == "1 1 1"  # the seed's one open critical finding, each day
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    body = client.get("/").get_data(as_text=True)
    assert "90-day trend" in body and "Compliance and critical findings, last 90 days" in body


def test_report_page_draws_the_quarters_trend(login_as, seed, engine):
    client = login_as("security_officer")
    assert "Chưa đủ dữ liệu lịch sử" in client.get("/reports/?quarter=2026Q2").get_data(as_text=True)
    with Session(engine) as session:
        for day in (date(2026, 3, 31), date(2026, 6, 1), date(2026, 6, 2)):  # 31 March: the quarter before
            take_snapshots(session, day)
        session.commit()
    body = client.get("/reports/?quarter=2026Q2").get_data(as_text=True)
    assert "Chưa đủ dữ liệu lịch sử" not in body
    start = body.index('<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart"')
    root = _parse(body[start : body.index("</svg>", start) + len("</svg>")])
    assert root.get("aria-labelledby") == "trend-quarter-title trend-quarter-desc"
    (line,) = root.iter(SVG + "polyline")
    assert line.get("data-values") == "1 1"
