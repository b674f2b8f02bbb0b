"""Golden SNMP recordings (tests/collectors/golden/snmp/<device key>/), read and written here,
and an in-memory agent that answers a collector from a recorded walk.

Per device, recorded from the collector tests' lab by `python -m tests.collectors.record_snmp_golden`:
    walk.txt          every var-bind the agent serves, in OID order: `oid|tag|value`, the value
                      as `=text` when it is printable ASCII, else as hex
    facts.json        the DeviceFacts that SnmpCollector collected over v2c
    <version>.wire    the datagrams of one SnmpCollector visit (v2c, v3), each request line
                      (`>` hex) followed by its answer (`<` hex)
"""

from __future__ import annotations

import bisect
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collectors.lab.spec import LabDevice
from collectors.records import DeviceFacts, SnmpCredential, Target
from collectors.snmp import SnmpCollector
from collectors.snmp.ber import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    Var,
    _subids,
    decode_oid,
    encode_oid,
)
from collectors.snmp.transport import _Session, _Timing

GOLDEN = Path(__file__).parent / "golden" / "snmp"
WIRE_VERSIONS = ("v2c", "v3")


# ------------------------------------------------------------------------------ walks
def _value_text(raw: bytes) -> str:
    if raw and all(0x20 <= b < 0x7F for b in raw):
        return "=" + raw.decode("ascii")
    return raw.hex()


def write_walk(path: Path, varbinds: Sequence[Var]) -> None:
    lines = [f"{decode_oid(oid)}|{tag:02x}|{_value_text(value)}" for oid, tag, value in varbinds]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def read_walk(path: Path) -> list[Var]:
    out = []
    for line in path.read_text(encoding="ascii").splitlines():
        oid, tag, value = line.split("|", 2)
        raw = value[1:].encode("ascii") if value.startswith("=") else bytes.fromhex(value)
        out.append((encode_oid(oid), int(tag, 16), raw))
    return out


# ------------------------------------------------------------------------------ wire
def write_wire(path: Path, exchanges: Sequence[tuple[bytes, bytes]]) -> None:
    path.write_text("".join(f"> {sent.hex()}\n< {answer.hex()}\n" for sent, answer in exchanges), encoding="ascii")


def read_wire(path: Path) -> list[tuple[bytes, bytes]]:
    lines = path.read_text(encoding="ascii").splitlines()
    assert len(lines) % 2 == 0 and all(line[:2] == "> " for line in lines[::2]), f"{path}: not request/answer pairs"
    return [(bytes.fromhex(sent[2:]), bytes.fromhex(answer[2:])) for sent, answer in zip(lines[::2], lines[1::2], strict=True)]


# ------------------------------------------------------------------------------ facts
def facts_json(facts: DeviceFacts) -> Any:
    """DeviceFacts as plain JSON values (dates as ISO text, tuples as lists)."""
    return json.loads(json.dumps(dataclasses.asdict(facts), default=str, ensure_ascii=False))


def write_facts(path: Path, facts: DeviceFacts) -> None:
    path.write_text(json.dumps(facts_json(facts), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def read_facts(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ in-memory agent
class WalkSession(_Session):
    """Answers GET and GETBULK from a recorded walk, as an agent serving it would."""

    def __init__(self, walk: Sequence[Var]) -> None:
        self.host, self.port, self.received = "walk", 0, 0
        ordered = sorted(walk, key=lambda var: _subids(var[0]))
        self.keys = [_subids(oid) for oid, _, _ in ordered]
        self.vars = ordered
        self.by_oid = {var[0]: var for var in ordered}

    async def get(self, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        return [self.by_oid.get(oid, (oid, NO_SUCH_INSTANCE, b"")) for oid in oids]

    async def bulk(self, oids: Sequence[bytes], repetitions: int, timing: _Timing) -> list[Var]:
        current = list(oids)
        out: list[Var] = []
        for _ in range(repetitions):
            for i, oid in enumerate(current):
                at = bisect.bisect_right(self.keys, _subids(oid))
                var = self.vars[at] if at < len(self.vars) else (oid, END_OF_MIB_VIEW, b"")
                out.append(var)
                current[i] = var[0]
        return out


class WalkCollector(SnmpCollector):
    """SnmpCollector whose visits read recorded walks (by address) instead of the network."""

    def __init__(self, walks: dict[str, Sequence[Var]]) -> None:
        super().__init__()
        self.walks = walks

    async def _open(self, target: Target, credential: SnmpCredential) -> _Session:
        return WalkSession(self.walks[target.address])


def recorded_keys() -> list[str]:
    """The device keys that have golden recordings."""
    return sorted(p.parent.name for p in GOLDEN.glob("*/walk.txt"))


def device_dir(device: LabDevice) -> Path:
    return GOLDEN / device.key
