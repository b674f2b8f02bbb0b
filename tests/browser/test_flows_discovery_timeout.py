"""A discovery that times out keeps its partial results (issue 15, item 7), in a real browser.

The technician discovers a /23 of loopback added to a commune's Internet zone, which kiemke sweeps
as two /24s with the real nmap. The second piece gets no time (its nmap is killed by the timeout,
as a slow subnet's would be); the first one's listener is still found and listed, the run is
"partial", and the page says in Vietnamese what happened and what to try. The progress shows the
phase while the sweep runs."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time

import pytest
from sqlmodel import Session, select

from collectors import nmap as N
from inventory.models import ScanRun, Site, Subnet, Zone
from tests.collectors.test_discovery_partial import serve_banner

pytestmark = pytest.mark.browser

WIDE = "127.66.0.0/23"  # swept as 127.66.0.0/24 and 127.66.1.0/24; loopback only
LISTENER = ("127.66.0.5", 2222)  # kiemke's extra SSH port: always in the swept port list


@pytest.fixture
def wide_subnet(live_server):
    """The commune's Internet zone holds the /23 for this test only."""
    with Session(live_server.engine) as session:
        site = session.exec(select(Site).where(Site.code == live_server.seeded.discovered_site)).one()
        zone = session.exec(select(Zone).where(Zone.site_id == site.id, Zone.kind == "internet")).one()
        subnet = Subnet(zone_id=zone.id, cidr=WIDE)
        session.add(subnet)
        session.commit()
        subnet_id = subnet.id
    yield
    with Session(live_server.engine) as session:
        session.delete(session.get(Subnet, subnet_id))
        session.commit()


@pytest.fixture
def slow_second_piece(monkeypatch):
    """nmap as it is, but the first piece starts late (the sweep phase can be seen) and the second
    piece's nmap has 10 ms to finish: a real nmap timeout."""
    real = N.run_subprocess

    def run(command, timeout):
        if "127.66.1.0/24" in command:
            return real(command, 0.01)
        if "127.66.0.0/24" in command:
            time.sleep(2.5)
        return real(command, timeout)

    monkeypatch.setattr(N, "run_subprocess", run)


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
def test_a_discovery_that_times_out_keeps_its_partial_results(browse, wide_subnet, slow_second_piece):
    page = browse.page
    seeded = browse.server.seeded
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a previous run's connections may linger
    listener.bind(LISTENER)
    listener.listen(8)
    threading.Thread(target=serve_banner, args=(listener,), daemon=True).start()
    try:
        browse.login("technician")
        browse.goto("/scans/")
        page.check("input[name=kind][value=discover]")
        page.select_option("form.scan-start select[name=site]", seeded.discovered_site)
        page.select_option("form.scan-start select[name=zone]", "internet")
        page.fill("form.scan-start input[name=subnet]", WIDE)
        page.click("form.scan-start details.scan-timeouts summary")
        page.fill("form.scan-start input[name=nmap_timeout]", "30")
        browse.shot("form-with-timeouts")
        with page.expect_navigation():
            page.click("form.scan-start button[type=submit]")
        assert re.search(r"/scans/\d+$", page.url), page.locator("main").inner_text()
        run_id = int(page.url.rsplit("/", 1)[1])

        # While the first piece is swept: the phase, with its counts, in Vietnamese.
        page.wait_for_function("() => { const p = document.querySelector('[data-phase-text]'); return p && p.textContent.includes('Dò quét địa chỉ (nmap)'); }")
        phase = page.locator("[data-phase-text]").inner_text()
        assert "dải 0/2" in phase and "0/512 địa chỉ" in phase, phase
        browse.shot("progress-sweep")

        page.wait_for_selector("dl.facts", timeout=90_000)  # progress.js reloads the page when done
        browse.shot("partial-results")
        facts = page.locator("dl.facts").inner_text()
        assert "Một phần" in facts, facts  # the run's status
        assert "1 phần của dải mạng không quét được; kết quả của các phần khác vẫn được ghi nhận." in facts
        assert "Nên thử:" in facts and "dải nhỏ hơn" in facts
        assert "Phần dải 127.66.1.0/24" in facts and "nmap không quét xong" in facts
        results = page.locator("main").inner_text()
        assert LISTENER[0] in results  # found on the piece that was swept: kept
        # It offered SSH (the banner) but no credential applies: an error to fix, not "not manageable".
        assert "không quản lý được</span>" not in page.content() and "Không có thông tin đăng nhập nào áp dụng" in results
        assert "did not finish" not in results  # the English text stays in the database
        browse.guard.assert_clean()
    finally:
        listener.close()

    with Session(browse.server.engine) as session:
        run = session.get(ScanRun, run_id)
        assert run.status == "partial" and run.params["nmap_timeout"] == 30
        assert [e["subnet"] for e in run.summary["subnet_errors"]] == ["127.66.1.0/24"]
        assert run.summary["hosts_found"] == 1 and run.summary["manageable_silent"] == [LISTENER[0]] and run.summary["errors"] == 1
