"""The quarterly report PDF on demo-size data, rendered to PNG: a sane page count, no near-empty
page, the letterhead from the admin's settings, one number format, and the letterhead form."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import Session, select

from inventory.demo import load_demo
from inventory.letterhead import Letterhead, load_letterhead
from inventory.models import AuditLog
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db

PDFTOPPM, PDFTOTEXT = shutil.which("pdftoppm"), shutil.which("pdftotext")
needs_poppler = pytest.mark.skipif(not (PDFTOPPM and PDFTOTEXT), reason="poppler-utils (pdftoppm, pdftotext) not installed: scripts/setup.sh installs it")

# A page with only a few lines of text: below this share of non-white pixels at 40 dpi (a full
# table page is ~12%, a page of two short sections ~5%, the signature block alone ~0.5%).
NEAR_EMPTY_SHARE = 0.02
LETTERHEAD = Letterhead(parent_agency="UBND tỉnh Điện Biên", agency="Sở Khoa học và Công nghệ", document_number="127/BC-SKHCN", place="Điện Biên", document_date="2026-10-05")


@pytest.fixture
def demo(engine, seed):
    with Session(engine) as session:
        load_demo(session, actor="test")
        session.commit()


def save_letterhead_form(client, letterhead: Letterhead, **overrides):
    data = {
        "parent_agency": letterhead.parent_agency, "agency": letterhead.agency, "document_number": letterhead.document_number,
        "place": letterhead.place, "document_date": letterhead.document_date, "csrf_token": csrf_token(client, "/reports/tieu-de"),
    } | overrides  # fmt: skip
    return client.post("/reports/tieu-de", data=data)


def pages_of(pdf: Path, out: Path) -> list[Path]:
    subprocess.run([PDFTOPPM, "-r", "40", "-png", str(pdf), str(out / "page")], check=True, timeout=60)
    return sorted(out.glob("page-*.png"))


def ink_share(png: Path) -> float:
    image = Image.open(png).convert("L")
    histogram = image.histogram()
    return sum(histogram[:200]) / (image.width * image.height)


@needs_poppler
def test_demo_report_pdf_has_the_letterhead_and_no_near_empty_page(login_as, demo, tmp_path, app):
    admin = login_as("admin")
    assert save_letterhead_form(admin, LETTERHEAD).status_code == 302
    assert load_letterhead(app.extensions["kiemke.settings"].home) == LETTERHEAD

    response = login_as("planner").get("/reports/bao-cao.pdf?quarter=2026Q4")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    pdf = tmp_path / "bao-cao.pdf"
    pdf.write_bytes(response.data)

    pages = pages_of(pdf, tmp_path)
    assert 3 <= len(pages) <= 20, f"{len(pages)} pages for the demo province"
    shares = {p.name: round(ink_share(p), 4) for p in pages}
    assert all(share >= NEAR_EMPTY_SHARE for share in shares.values()), f"near-empty page(s): {shares}"

    text = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60).stdout
    first_page = text.split("\f")[0]
    for expected in ("UBND TỈNH ĐIỆN BIÊN", "SỞ KHOA HỌC VÀ CÔNG NGHỆ", "Số: 127/BC-SKHCN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                     "Điện Biên, ngày 05 tháng 10 năm 2026"):  # fmt: skip
        assert expected in first_page, expected
    # One number format: Vietnamese thousands with dots (4.508), never English commas (4,508).
    assert re.search(r"\d\.\d{3}\b", text), "the demo has thousands"
    assert not re.search(r"\d,\d{3}\b", text), re.findall(r".{20}\d,\d{3}\b.{0,10}", text)[:3]


@needs_poppler
def test_words_are_not_broken_across_lines(login_as, demo, tmp_path):
    """Every header word of the site table is printed whole on one line (no 'Khôn' / 'g')."""
    data = login_as("security_officer").get("/reports/bao-cao.pdf?quarter=2026Q4").data
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(data)
    text = subprocess.run([PDFTOTEXT, str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60).stdout
    words = set(text.split())
    for whole in ("Không", "thiết", "Thiết", "đánh", "thông", "Phường", "P-DIEN-BIEN-PHU"):
        assert whole in words, whole
    for broken in ("Khôn", "thiế", "đán", "thôn"):
        assert broken not in words, broken


def test_letterhead_defaults_and_a_bad_date_is_refused(login_as, seed, app):
    home = app.extensions["kiemke.settings"].home
    assert load_letterhead(home) == Letterhead()
    admin = login_as("admin")
    page = admin.get("/reports/tieu-de").get_data(as_text=True)
    assert "Cơ quan báo cáo" in page and Letterhead().agency in page
    refused = save_letterhead_form(admin, LETTERHEAD, document_date="05/10/2026x", agency="")
    assert refused.status_code == 400 and 'class="flash error"' in refused.get_data(as_text=True)
    assert load_letterhead(home) == Letterhead()  # nothing stored


def test_letterhead_change_is_audited_and_needs_admin(login_as, seed, app, engine):
    assert save_letterhead_form(login_as("planner"), LETTERHEAD).status_code == 403
    assert save_letterhead_form(login_as("admin"), LETTERHEAD).status_code == 302
    with Session(engine) as session:
        entry = session.exec(select(AuditLog).where(AuditLog.entity == "report_letterhead")).one()
    assert entry.actor == seed.users["admin"]
    assert entry.before["agency"] == Letterhead().agency and entry.after["agency"] == LETTERHEAD.agency


def test_letterhead_post_without_csrf_is_refused(login_as, seed, app):
    response = login_as("admin").post("/reports/tieu-de", data={"agency": "X", "document_number": "1", "place": "Y"})
    assert response.status_code == 400
    assert load_letterhead(app.extensions["kiemke.settings"].home) == Letterhead()


def test_report_page_speaks_one_number_format_and_no_codes(login_as, demo):
    from tests.web.test_procurement_pages import SNAKE, visible

    client = login_as("planner")
    text = visible(client.get("/reports/?quarter=2026Q4").get_data(as_text=True))
    assert re.search(r"\d\.\d{3}\b", text) and not re.search(r"\d,\d{3}\b", text)
    assert not SNAKE.findall(text), sorted(set(SNAKE.findall(text)))
    with client.session_transaction() as session:
        session["lang"] = "en"
    english = visible(client.get("/reports/?quarter=2026Q4").get_data(as_text=True))
    assert re.search(r"\d,\d{3}\b", english) and not re.search(r"\d\.\d{3}\b", english)
