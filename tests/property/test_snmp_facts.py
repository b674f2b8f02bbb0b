"""SNMP facts property: whatever var-binds a device answers with (any tag, any octets, any row
index), building a visit's DeviceFacts never raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.records import DeviceFacts
from collectors.snmp import ber
from collectors.snmp import facts as F
from collectors.vendors import vendor_data
from tests.property.budget import examples

TAGS = st.sampled_from([ber.INTEGER, ber.OCTETS, ber.NULL, ber.OID, ber.IPADDRESS, ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS, ber.COUNTER64, ber.NO_SUCH_INSTANCE, ber.END_OF_MIB_VIEW])
VALUE = st.one_of(
    st.binary(max_size=24),
    st.sampled_from(
        [
            b"",
            b"\x00",
            b"\xff" * 9,
            b"\x00\x11\x22\x33\x44\x55",
            b"\x01\x0a\x00\x00\x01",
            b"\x07\xe8\x01\x02\x00\x00\x00\x00",
            ber.encode_oid("1.3.6.1.2.1.25.2.1.4"),
            ber.encode_oid("1.3.6.1.2.1.25.3.1.3"),
        ]
    ),
)
VAR = st.tuples(st.just(b"+\x06\x01"), TAGS, VALUE)
INDEX = st.lists(st.one_of(st.integers(0, 300), st.integers(0, 2**63)), max_size=7).map(tuple)
ROW = st.dictionaries(INDEX, VAR, max_size=3)


def rows(count: int):
    return st.lists(ROW, min_size=count, max_size=count)


@st.composite
def visit(draw):
    probe = {oid: draw(VAR) for oid in F.PROBE_OIDS if draw(st.booleans())}
    parts = {
        "texts": {oid: draw(VAR) for oid in F.TEXT_OIDS if draw(st.booleans())},
        "entity": {name: draw(VAR) for name in F.ENT_COLUMNS if draw(st.booleans())},
        "interfaces": draw(rows(len(F.IF_COLUMNS))),
        "arp": draw(rows(1)),
        "lldp": [draw(rows(len(F.LLDP_REM_COLUMNS))), draw(ROW)],
    }
    if draw(st.booleans()):
        parts["fdb"] = draw(rows(2))
    if draw(st.booleans()):
        parts["storage"], parts["devices"], parts["software"] = draw(rows(4)), draw(rows(1)), draw(rows(2))
    return probe, parts


VENDORS = vendor_data()


@given(visit())
@settings(max_examples=examples(0.3))
def test_any_answers_build_facts(answers):
    probe, parts = answers
    warnings: list[str] = []
    facts = F.build_facts("192.0.2.1", probe, parts, VENDORS, warnings)
    assert isinstance(facts, DeviceFacts)
