"""Importer properties: a generated CSV (random headers, formula-leading text, control
characters, long and huge cells, empty rows) gives an ImportReport or a clean TableFormatError,
never another exception; a file with any error and partial=False changes nothing."""

from __future__ import annotations

import csv
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from inventory.io.columns import KINDS
from inventory.io.importer import ImportReport, import_file
from inventory.io.tabular import MAX_CELL, TableFormatError
from inventory.models import ApprovedQuantity, AuditLog, Device, DeviceMac, Province, Site, Subnet, Zone
from tests.inventory.factories import make_province
from tests.property.budget import examples

pytestmark = pytest.mark.db

MODELS = (Province, Site, Zone, Subnet, Device, DeviceMac, ApprovedQuantity, AuditLog)
GOOD = [
    "S1", "S2", "S9", "laptop", "desktop", "switch", "internet", "party_wan", "commune", "10.1.2.7", "10.1.0.0/24",
    "02:00:00:00:00:01", "in_use", "2023-05-12", "5", "0", "cisco_ios", "Dell", "Nguyễn Thị Hương",
]  # fmt: skip
CELL = st.one_of(
    st.just(""),
    st.sampled_from(GOOD),
    st.sampled_from(["=", "+", "-", "@", "\t", "\r"]).flatmap(lambda lead: st.text(max_size=20).map(lambda t: lead + t)),  # formula-leading
    st.text(max_size=30),  # unicode, control characters, NUL
    st.integers(-(10**40), 10**40).map(str),  # huge integers
    st.sampled_from(["9" * 400, "1e309", "NaN", "-0", "2023-02-30", "10.1.2.300", "::1", "0" * 50 + "1"]),
    st.sampled_from([MAX_CELL - 1, MAX_CELL, MAX_CELL + 1]).map(lambda n: "x" * n),  # around the cell limit
)


@st.composite
def table(draw, kind: str) -> tuple[list[str], list[list[str]]]:
    headers = [c.header_vi for c in KINDS[kind]]
    if draw(st.booleans()):
        headers = draw(st.permutations(headers))
    if draw(st.integers(0, 4)) == 0:  # a random header: unknown, duplicated or dropped
        choice = draw(st.sampled_from(["add", "duplicate", "drop"]))
        if choice == "add":
            headers = [*headers, draw(st.text(max_size=15))]
        elif choice == "duplicate":
            headers = [*headers, headers[0]]
        else:
            headers = headers[1:]
    width = len(headers)
    row = st.one_of(st.just([]), st.just([""] * width), st.lists(CELL, min_size=width, max_size=width), st.lists(CELL, max_size=width + 2))
    return headers, draw(st.lists(row, max_size=4))


def counts(session) -> tuple[int, ...]:
    return tuple(session.execute(select(func.count()).select_from(m)).scalar_one() for m in MODELS)


_files = itertools.count()


@given(data=st.data(), kind=st.sampled_from(sorted(KINDS)), partial=st.booleans())
@settings(max_examples=examples(0.2))
def test_import_is_a_report_or_a_table_error_and_all_or_nothing(session, tmp_path, data, kind, partial):
    if session.execute(select(Site.id)).first() is None:
        make_province(session)
        session.commit()
    headers, rows = data.draw(table(kind))
    path = tmp_path / f"fuzz-{next(_files)}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    before = counts(session)
    try:
        try:
            report = import_file(session, kind, path, partial=partial, actor="fuzz")
        except TableFormatError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 300
            assert counts(session) == before
            return
        assert isinstance(report, ImportReport)
        if report.errors and not partial:
            assert not report.applied
            assert counts(session) == before
    finally:
        session.rollback()  # applied imports are not kept: every example starts from the same rows
