"""Findings list pages: most severe first, then by rule and id; every page under every filter
is exactly the slice of the whole ordered list (pages are found severity by severity)."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from compliance.findings import FindingFilter, list_findings
from inventory.models import Device, Finding
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db

SEVERITIES = ("low", "critical", "medium", "high")  # stored out of order on purpose
RULES = ("net.telnet_off", "ep.av_present", "lc.service_life", "origin.allowed", "zone.one_zone")
STATUSES = ("open", "open", "resolved", "waived")


@pytest.fixture
def findings(engine):
    with Session(engine) as session:
        province = make_province(session, sites=2)
        devices = []
        for n in range(12):
            site = province[f"S{n % 2 + 1}"]
            devices.append(Device(device_class="laptop", site_id=site["site"], zone_id=site["internet"], hostname=f"pc{n}"))
        session.add_all(devices)
        session.flush()
        for n in range(97):
            device = devices[n % len(devices)]
            session.add(Finding(rule_id=RULES[n % len(RULES)], subject_key=f"device:{device.id}:{n}", device_id=device.id, site_id=device.site_id,
                                severity=SEVERITIES[(n * 7) % 4], status=STATUSES[(n * 3) % 4], expected="e", actual="a"))  # fmt: skip
        session.commit()
    return engine


def _key(row):
    return ({"critical": 0, "high": 1, "medium": 2, "low": 3}[row["severity"]], row["rule_id"], row["id"])


@pytest.mark.parametrize(
    "flt",
    [FindingFilter(), FindingFilter(status="open"), FindingFilter(site="S2"), FindingFilter(severity="high"),
     FindingFilter(rule="ep.av_present", status="open"), FindingFilter(site="S1", status="waived"), FindingFilter(site="NOPE")],
)  # fmt: skip
def test_every_page_is_a_slice_of_the_whole_list(findings, flt):
    with Session(findings) as session:
        everything, total = list_findings(session, flt, per_page=None)
        assert len(everything) == total
        assert [_key(r) for r in everything] == sorted(_key(r) for r in everything)
        ids = [r["id"] for r in everything]
        for per_page in (1, 7, 20, 100):
            for page in range(1, -(-total // per_page) + 2):
                rows, counted = list_findings(session, flt, page=page, per_page=per_page)
                assert counted == total
                assert [r["id"] for r in rows] == ids[(page - 1) * per_page : page * per_page], (flt, per_page, page)
        if everything:
            assert {"site_code", "hostname"} <= set(everything[0])
        if flt.site:
            assert all(r["site_code"] == flt.site for r in everything)
