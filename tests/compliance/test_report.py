"""Quarterly report: quarter parsing and due dates, hand-checked figures, the workbook and the PDF.

Findings of the hand-made dataset, quarter 2026Q3 (01/07 - 30/09/2026):

  #  severity  status    site  first_seen  resolved_at  open at end  opened  resolved  waived
  1  critical  open      X01   2026-06-15  -            yes          -       -         -
  2  critical  open      X01   2026-08-01  -            yes          yes     -         -
  3  high      resolved  X01   2026-07-10  2026-09-05   -            yes     yes       -
  4  high      resolved  P01   2026-05-01  2026-10-02   yes          -       -         -
  5  medium    waived    W01   2026-07-20  -            -            yes     -         yes
  6  low       open      X01   2026-10-05  -            -            -       -         -
  7  high      open      P01   2026-03-01  2026-04-01   yes (reopened: an open finding is open)
"""

from __future__ import annotations

import base64
import re
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from compliance.planner import Plan, build_plan
from compliance.policy import load_policy
from compliance.report import QuarterlyReport, build_report, quarter_bounds, write_report_xlsx
from compliance.report_pdf import ReportPdfError, find_font, write_report_pdf
from tests.compliance.test_planner import PRICES, province_approved, province_devices, with_prices

# ------------------------------------------------------------------ quarters


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026Q1", (date(2026, 1, 1), date(2026, 3, 31), date(2026, 3, 22))),
        ("2026Q2", (date(2026, 4, 1), date(2026, 6, 30), date(2026, 6, 22))),
        ("2026Q3", (date(2026, 7, 1), date(2026, 9, 30), date(2026, 9, 22))),
        ("2026Q4", (date(2026, 10, 1), date(2026, 12, 31), date(2026, 12, 22))),
        ("2028-q2", (date(2028, 4, 1), date(2028, 6, 30), date(2028, 6, 22))),
        (" 2027 Q1 ", (date(2027, 1, 1), date(2027, 3, 31), date(2027, 3, 22))),
    ],
)
def test_quarter_bounds(text: str, expected: tuple[date, date, date]) -> None:
    assert quarter_bounds(text) == expected


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "2026", "Q3 2026", "26Q3", "", "2026Q3x", None, 20263])
def test_bad_quarter(text: object) -> None:
    with pytest.raises(ValueError, match=r"invalid quarter .*expected YYYYQn with n from 1 to 4, e\.g\. 2026Q3"):
        quarter_bounds(text)  # type: ignore[arg-type]


# ------------------------------------------------------------------ figures


@pytest.fixture(scope="module")
def plan() -> Plan:
    return build_plan(province_devices(), province_approved(), with_prices(load_policy(), PRICES))


def compliance_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [("X01", "Xã Mường Phăng", 8, 6), ("P01", "Văn phòng Tỉnh ủy", 12, 9), ("W01", "Phường Mường Thanh", 5, 5)],
        columns=["site_code", "site_name", "devices", "compliant"],
    )


def findings_frame() -> pd.DataFrame:
    d = date
    return pd.DataFrame(
        [
            ("zone.mac_both_zones", "critical", "open", "X01", d(2026, 6, 15), None),
            ("net.telnet_off", "critical", "open", "X01", d(2026, 8, 1), None),
            ("net.ssh_v2_only", "high", "resolved", "X01", d(2026, 7, 10), d(2026, 9, 5)),
            ("ep.os_supported", "high", "resolved", "P01", d(2026, 5, 1), d(2026, 10, 2)),
            ("ep.av_fresh", "medium", "waived", "W01", d(2026, 7, 20), None),
            ("ep.ram", "low", "open", "X01", d(2026, 10, 5), None),
            ("ep.disk", "high", "open", "P01", d(2026, 3, 1), d(2026, 4, 1)),
        ],
        columns=["rule_id", "severity", "status", "site_code", "first_seen", "resolved_at"],
    )


def security_frame(last: tuple[str, date | None] = ("drafting", None)) -> pd.DataFrame:
    rows = [(f"Hệ thống {i}", 2 if i < 6 else 3, "approved", date(2026, 1, i + 1)) for i in range(9)]
    rows.append(("Hệ thống thư điện tử", 3, *last))
    return pd.DataFrame(rows, columns=["name", "security_level", "dossier_status", "assessed_on"])


def report_for(plan: Plan, quarter: str = "2026Q3", today: date = date(2026, 9, 10), **kw) -> QuarterlyReport:
    args = dict(compliance_by_site=compliance_frame(), findings=findings_frame(), plan=plan,
                security_levels=security_frame(), today=today) | kw  # fmt: skip
    return build_report(quarter, **args)


def test_compliance(plan: Plan) -> None:
    r = report_for(plan)
    assert (r.compliance.part, r.compliance.whole, r.compliance.pct) == (20, 25, 80.0)
    by_site = r.compliance_by_site.set_index("site_code")
    assert by_site["compliance_pct"].to_dict() == {"P01": 75.0, "W01": 100.0, "X01": 75.0}
    assert by_site["open_findings"].to_dict() == {"P01": 2, "W01": 0, "X01": 2}


def test_findings_by_severity(plan: Plan) -> None:
    f = report_for(plan).findings.set_index("severity")
    assert list(f.index) == ["critical", "high", "medium", "low"]
    assert f.loc["critical"].to_dict() == {"open_at_end": 2, "opened": 1, "resolved": 0, "waived": 0}
    assert f.loc["high"].to_dict() == {"open_at_end": 2, "opened": 1, "resolved": 1, "waived": 0}
    assert f.loc["medium"].to_dict() == {"open_at_end": 0, "opened": 1, "resolved": 0, "waived": 1}
    assert f.loc["low"].to_dict() == {"open_at_end": 0, "opened": 0, "resolved": 0, "waived": 0}
    # in Q4 the low finding is opened and the finding resolved on 2 October counts as resolved
    q4 = report_for(plan, "2026Q4").findings.set_index("severity")
    assert q4.loc["low", "opened"] == 1 and q4.loc["high", "resolved"] == 1 and q4.loc["high", "open_at_end"] == 1


def test_findings_with_time_zones_are_read_in_vietnam_time(plan: Plan) -> None:
    utc = UTC
    findings = pd.DataFrame(
        [("a", "high", "resolved", "X01", datetime(2026, 7, 1, 1, tzinfo=utc), datetime(2026, 9, 30, 16, 30, tzinfo=utc)),
         ("b", "high", "resolved", "X01", datetime(2026, 7, 1, 1, tzinfo=utc), datetime(2026, 9, 30, 17, 30, tzinfo=utc)),
         ("c", "low", "open", "X01", datetime(2026, 6, 30, 17, 30, tzinfo=utc), None)],
        columns=["rule_id", "severity", "status", "site_code", "first_seen", "resolved_at"],
    )  # fmt: skip
    f = report_for(plan, findings=findings).findings.set_index("severity")
    # 16:30 UTC on 30/09 is 23:30 in Vietnam (resolved in Q3); 17:30 UTC is 00:30 on 01/10 (still open)
    assert f.loc["high", "resolved"] == 1 and f.loc["high", "open_at_end"] == 1
    # 17:30 UTC on 30/06 is 00:30 on 01/07 in Vietnam: opened in Q3
    assert f.loc["low", "opened"] == 1


def test_schedule_progress_and_procurement(plan: Plan) -> None:
    r = report_for(plan)
    p = r.progress.set_index("device_class")
    assert list(p.index) == ["firewall", "access_switch", "desktop", "laptop", "tablet"]
    assert p.loc["laptop"].to_dict() == {"approved": 15, "share_pct": 40, "target": 6, "counting": 8,
                                         "unknown": 0, "shortfall": 1, "progress_pct": 83.33}  # fmt: skip
    assert p["shortfall"].to_dict() == {"firewall": 1, "access_switch": 0, "desktop": 3, "laptop": 1, "tablet": 4}
    assert p["progress_pct"].to_dict() == {"firewall": 50.0, "access_switch": 100.0, "desktop": 0.0, "laptop": 83.33, "tablet": 20.0}
    buy = r.procurement.set_index("device_class")
    assert buy["to_buy"].to_dict() == {"firewall": 1, "access_switch": 0, "desktop": 3, "laptop": 1, "tablet": 4}
    assert buy["cost"].sum() == 296
    t = r.procurement_total
    assert t is not None and (t["units"], t["cost"], t["phasing"], t["difference"], t["status"]) == (9, 296, 35000, -34704, "under")
    # 2027: the laptop target doubles
    assert report_for(plan, "2027Q1").progress.set_index("device_class").loc["laptop", "target"] == 4 + 8


def test_year_outside_the_plan(plan: Plan) -> None:
    r = report_for(plan, "2030Q1", today=date(2030, 1, 5))
    assert r.progress.empty and r.procurement.empty and r.procurement_total is None
    assert any("2030" in n for n in r.notes)


def test_security_share_against_the_90_percent_target(plan: Plan) -> None:
    r = report_for(plan)
    assert (r.security.part, r.security.whole, r.security.pct) == (9, 10, 90.0)
    assert not r.security_meets_target  # "more than 90%"
    approved_later = security_frame(("approved", date(2026, 10, 15)))
    assert report_for(plan, security_levels=approved_later).security.part == 9  # approved after the quarter
    q4 = report_for(plan, "2026Q4", security_levels=approved_later)
    assert q4.security.pct == 100.0 and q4.security_meets_target
    levels = r.security_by_level.set_index("security_level")
    assert levels.loc[2].to_dict() == {"systems": 6, "assessed": 6}
    assert levels.loc[3].to_dict() == {"systems": 4, "assessed": 3}
    empty = report_for(plan, security_levels=security_frame().iloc[0:0])
    assert empty.security.pct is None and not empty.security_meets_target


def test_due_date_and_overdue(plan: Plan) -> None:
    on_time = report_for(plan, today=date(2026, 9, 22))
    assert on_time.due_date == date(2026, 9, 22) and not on_time.overdue and on_time.days_to_due == 0
    late = report_for(plan, today=date(2026, 9, 23))
    assert late.overdue and late.days_to_due == -1
    assert report_for(plan, quarter="2026-q3").quarter == "2026Q3"


def test_bad_inputs(plan: Plan) -> None:
    with pytest.raises(ValueError, match="findings: missing column.*resolved_at"):
        report_for(plan, findings=findings_frame().drop(columns="resolved_at"))
    bad = compliance_frame()
    bad.loc[0, "compliant"] = 99
    with pytest.raises(ValueError, match="compliant outside 0..devices at X01"):
        report_for(plan, compliance_by_site=bad)


def test_to_json(plan: Plan) -> None:
    import json

    data = json.loads(json.dumps(report_for(plan).to_json()))
    assert data["due_date"] == "2026-09-22" and data["overdue"] is False
    assert data["security"] == {"part": 9, "whole": 10, "pct": 90.0, "target_pct": 90.0, "meets_target": False}


# ------------------------------------------------------------------ printed


def test_workbook(plan: Plan, tmp_path: Path) -> None:
    path = write_report_xlsx(report_for(plan, today=date(2026, 9, 25)), tmp_path / "bao_cao.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Tổng hợp", "Tuân thủ theo đơn vị", "Độ bao phủ dữ liệu", "Thiết bị không phản hồi", "Phát hiện", "Tiến độ trang bị",
                             "Mua sắm", "Cấp độ ATTT", "Danh sách hệ thống", "Xu hướng", "Xu hướng theo đơn vị"]  # fmt: skip
    for ws in wb.worksheets:
        assert ws["A1"].value == "BÁO CÁO TIẾN ĐỘ QUÝ III NĂM 2026"
        assert ws.freeze_panes == "A6" and ws.print_title_rows == "$5:$5"
        assert int(ws.page_setup.paperSize) == 9 and ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws["A5"].font.b
    summary = [v for row in wb["Tổng hợp"].iter_rows(values_only=True) for v in row if v]
    assert "Trước ngày 23/09/2026 (hạn chót 22/09/2026)" in summary
    assert "Quá hạn 3 ngày (tính đến 25/09/2026)" in summary
    # The three states together (the frame says nothing of non-compliance: the rest is unknown).
    assert "80,00% tuân thủ · 0,00% không tuân thủ · 20,00% chưa rõ" in summary
    assert "9/10 = 90,00%" in summary and "Mục tiêu trên 90%: Chưa đạt" in summary

    ws = wb["Phát hiện"]
    rows = [r for r in ws.iter_rows(min_row=5, values_only=True)]
    assert rows[0] == ("Mức độ", "Còn mở cuối quý", "Phát sinh trong quý", "Đã khắc phục trong quý", "Được miễn trừ")
    assert rows[1] == ("Nghiêm trọng", 2, 1, 0, 0)
    assert rows[5] == ("Tổng cộng", 4, 3, 1, 1)

    ws = wb["Tuân thủ theo đơn vị"]
    totals = next(r for r in ws.iter_rows(min_row=6, values_only=True) if r[0] == "Tổng cộng")
    assert totals[2:] == (25, 20, 80.0, 0, 0.0, 5, 20.0, 4)
    ws = wb["Mua sắm"]
    totals = next(r for r in ws.iter_rows(min_row=6, values_only=True) if r[0] == "Tổng cộng")
    assert totals == ("Tổng cộng", 9, 296)


def pdf_title(data: bytes) -> str:
    """The document-information Title, a UTF-16BE PDF string with octal escapes."""
    raw = re.search(rb"/Title \((.*?)(?<!\\)\)", data, re.S)
    assert raw, "no /Title"
    body = re.sub(rb"\\([0-7]{1,3})", lambda m: bytes([int(m.group(1), 8)]), raw.group(1))
    body = re.sub(rb"\\(.)", rb"\1", body)
    return body.decode("utf-16") if body.startswith(b"\xfe\xff") else body.decode("latin-1")


@pytest.fixture
def pdf_font() -> None:
    pytest.importorskip("reportlab", reason="reportlab not installed")
    try:
        find_font()
    except ReportPdfError as exc:
        pytest.skip(str(exc))


def test_pdf(plan: Plan, tmp_path: Path, pdf_font: None) -> None:
    path = write_report_pdf(report_for(plan), tmp_path / "bao_cao.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert [int(n) for n in re.findall(rb"/Count (\d+)", data)] == [len(re.findall(rb"/Type /Page\b", data))]
    assert len(re.findall(rb"/Type /Page\b", data)) >= 1
    assert pdf_title(data) == "BÁO CÁO TIẾN ĐỘ QUÝ III NĂM 2026"
    assert b"DejaVuSans" in data  # the Unicode font is embedded
    # page contents are ASCII85 + Flate encoded by reportlab: every page shows text
    pages = re.findall(rb"/Filter \[ /ASCII85Decode /FlateDecode \].*?stream\r?\n(.*?)~>\s*endstream", data, re.S)
    contents = [zlib.decompress(base64.a85decode(p.strip())) for p in pages]
    assert len(contents) == len(re.findall(rb"/Type /Page\b", data))
    assert all(b" Tj" in c for c in contents)


def test_pdf_text_is_extractable(plan: Plan, tmp_path: Path, pdf_font: None) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf not installed (only this extra check needs it)")
    path = write_report_pdf(report_for(plan), tmp_path / "bao_cao.pdf")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    assert "BÁO CÁO TIẾN ĐỘ QUÝ III NĂM 2026" in text
    assert "Máy tính xách tay" in text and "Nghiêm trọng" in text


def test_pdf_without_font(plan: Plan, tmp_path: Path) -> None:
    pytest.importorskip("reportlab", reason="reportlab not installed")
    with pytest.raises(ReportPdfError, match="fonts-dejavu-core"):
        write_report_pdf(report_for(plan), tmp_path / "x.pdf", font_path=tmp_path / "missing.ttf")
