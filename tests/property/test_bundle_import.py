"""Scan bundle import properties: a bundle written by the real offline-scan path, then damaged
(values replaced, keys dropped, JSON text cut or flipped), imports or fails with one
ServiceError, never another exception; a failed import changes nothing."""

from __future__ import annotations

import itertools
import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import collectors.service as service
from collectors.records import ArpRecord, CollectorError, DeviceFacts, FdbRecord, HostRecord, InterfaceRecord, LldpRecord, SoftwareRecord, Target
from collectors.runner import Outcome
from collectors.service import ServiceError, import_bundle, scan_to_bundle
from inventory import db
from inventory.models import AuditLog, ConfigSnapshot, Device, DeviceMac, Finding, Interface, MacSighting, Observation, ScanOutcome, ScanRun
from tests.inventory.factories import make_province
from tests.property.budget import examples

pytestmark = pytest.mark.db

MODELS = (Device, DeviceMac, Interface, Observation, MacSighting, ConfigSnapshot, ScanRun, ScanOutcome, Finding, AuditLog)
CONFIG = "hostname fuzz-r1\nsnmp-server community s3cr3t RO\ninterface Gi0/1\n ip address 10.1.2.9 255.255.255.0\n"


def written_bundle(engine, monkeypatch) -> dict:
    """A bundle from scan_to_bundle, with the network parts (discovery, collection) replaced."""
    target = Target(address="10.1.2.9", site_code="S1", zone="internet")
    facts = DeviceFacts(
        address="10.1.2.9", source="ssh", sys_name="fuzz-r1", sys_descr="Cisco IOS 15.2", uptime_seconds=86400, vendor="Cisco",
        model="C2960", serial="FOC123", os_name="IOS", os_version="15.2", running_config=CONFIG, mac="00:11:22:33:44:55",
        interfaces=(InterfaceRecord(1, "Gi0/1", "uplink", "", "00:11:22:33:44:55", 1000, True, True),),
        fdb=(FdbRecord("00:aa:bb:cc:dd:01", 1, "Gi0/1"),), arp=(ArpRecord("10.1.2.20", "00:aa:bb:cc:dd:02", 1),),
        lldp=(LldpRecord(1, "core-1", "Gi1/0/1", "00:aa:bb:cc:dd:03"),),
        host=HostRecord(4, 8_000_000, (("C:", 250_000_000),), (SoftwareRecord("Office", date(2024, 1, 2)),)),
        open_ports=(22, -161), services=((22, "ssh"),), warnings=("lldp: partial",),
    )  # fmt: skip
    failed = Target(address="10.1.2.10", site_code="S1", zone="internet")
    error = CollectorError("timed out")
    error.kind = "timeout"
    outcomes = [Outcome(target, (facts,), None, ("lab-ssh",), 5), Outcome(failed, (), error, ("lab-snmp",), 9000)]
    monkeypatch.setattr(service, "discovery_targets", lambda *a, **k: ([target, failed], {"subnets": ["10.1.2.0/24"], "hosts_found": 2}))
    monkeypatch.setattr(service, "run_sync", lambda targets, book, options=None: outcomes)
    return scan_to_bundle(engine, None, site="S1", subnet="10.1.2.0/24")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
FIELD_VALUES = st.one_of(JSON, st.sampled_from(["", "S9", "10.1.2.999", "not-a-mac", "x" * 5000, "\x00\x1b[2J", "2024-13-45", -1, 2**63, 1.5, [], {}]))


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


@st.composite
def damaged(draw, bundle: dict) -> str:
    """The bundle's JSON text after a few edits of its tree, or of its text."""
    tree = json.loads(json.dumps(bundle))
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(list(paths(tree))))
        if not where:
            continue
        parent = tree
        for step in where[:-1]:
            parent = parent[step]
        if draw(st.integers(0, 3)) == 0:
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(FIELD_VALUES)
    text = json.dumps(tree)
    if draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", "}", "\x00", "\ud800", '"', "9" * 4000])) + text[at + draw(st.integers(0, 3)) :]
    return text


def counts(engine) -> tuple[int, ...]:
    with db.session_scope(engine) as session:
        return tuple(session.execute(select(func.count()).select_from(m)).scalar_one() for m in MODELS)


_ids = itertools.count()


@pytest.fixture
def bundle(engine, monkeypatch) -> dict:
    with db.session_scope(engine) as session:
        make_province(session)
    return written_bundle(engine, monkeypatch)


@given(data=st.data())
@settings(max_examples=examples(0.2))
def test_a_damaged_bundle_imports_or_is_one_service_error_and_changes_nothing(engine, bundle, tmp_path, data):
    original_id = bundle["bundle_id"]
    text = data.draw(damaged(bundle))
    # A fresh bundle id (unless the damage hit it) so that earlier examples' imports do not
    # turn this one into "already imported".
    text = text.replace(original_id, f"fuzz-{next(_ids)}")
    imports_or_is_one_service_error(engine, tmp_path, text)


def imports_or_is_one_service_error(engine, tmp_path, text: str) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    before = counts(engine)
    try:
        result = import_bundle(engine, path, triggered_by="fuzz")
    except ServiceError as exc:
        assert "\n" not in str(exc) and "Traceback" not in str(exc)
        assert counts(engine) == before
        return
    assert result.status in {"ok", "partial", "failed", "already-imported"}


# Crashers the property found, kept as regression cases.
KNOWN_CRASHERS = [
    pytest.param("9" * 4301, id="json-number-over-4300-digits"),  # was a bare ValueError (int digit limit)
    pytest.param("[" * 100_000 + "]" * 100_000, id="json-nested-100000-deep"),
]


@pytest.mark.parametrize("text", KNOWN_CRASHERS)
def test_known_damaged_bundles(engine, tmp_path, text):
    imports_or_is_one_service_error(engine, tmp_path, text)


def test_the_undamaged_bundle_imports(engine, bundle, tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = import_bundle(engine, path, triggered_by="fuzz")
    assert result.status == "partial"  # one device collected, one timed out
    with db.session_scope(engine) as session:
        assert session.execute(select(Device.hostname).where(Device.mgmt_ip == "10.1.2.9")).scalar_one() is not None
