"""Record the golden SNMP files from the collector tests' lab (snmpsim on 127.252.1.x:1161).

    .venv/bin/python -m tests.collectors.record_snmp_golden

Run it again after changing a recorded device in tests/collectors/snmp_lab.py; the tests in
test_snmp_ber.py, test_snmp_usm.py and test_snmp_facts.py then read the new files. It needs
snmpsim (the `lab` extra) and must not run while the collector's lab tests do (same addresses).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from collectors.lab.snmp_agents import SnmpLab
from collectors.lab.spec import LabDevice
from collectors.records import DeviceFacts, Target
from collectors.snmp import SnmpCollector, transport
from collectors.snmp.ber import (
    END_OF_MIB_VIEW,
    BerError,
    Var,
    decode_message,
    encode_oid,
)
from collectors.snmp.transport import _NoAnswer, _Timing, _TooBig, _V2cSession
from collectors.snmp.usm import decode_v3
from tests.collectors import snmp_golden
from tests.collectors.snmp_lab import ENDPOINT, HOSTILE, SWITCH, v2c, v3

RECORDED = (SWITCH, ENDPOINT, HOSTILE)
WIRE_RECORDED = (SWITCH, ENDPOINT)  # HOSTILE's 64 KB answers would make megabytes of hex


async def walk_everything(d: LabDevice) -> list[Var]:
    """Every var-bind the agent serves, by GETBULK from 1.0 to endOfMibView."""
    session = _V2cSession(d.address, d.snmp.port, d.snmp.community.encode(), 1)
    await session.open()
    loop = asyncio.get_running_loop()
    out: list[Var] = []
    last, repetitions = encode_oid("1.0"), 16
    try:
        while True:
            timing = _Timing(loop.time() + 10, 2.0, 1)
            try:
                varbinds = await session.bulk([last], repetitions, timing)
            except (_NoAnswer, _TooBig):
                if repetitions == 1:
                    raise
                repetitions = 1  # a value near 64 KB: one var-bind per answer
                continue
            for var in varbinds:
                if var[1] == END_OF_MIB_VIEW:
                    return out
                out.append(var)
                last = var[0]
            repetitions = 16
    finally:
        session.close()


def _request_key(message: bytes) -> int:
    """The id that pairs a request with its answer: request-id (v2c) or msgID (v3)."""
    try:
        return decode_v3(message).msg_id
    except BerError:  # not SNMPv3
        return decode_message(message)[2]


async def record_visit(d: LabDevice, version: str) -> tuple[DeviceFacts, list[tuple[bytes, bytes]]]:
    """One SnmpCollector visit, with every datagram it sent and received."""
    sent: list[bytes] = []
    received: list[bytes] = []
    exchange, datagram_received = transport._UdpSession.exchange, transport._UdpProtocol.datagram_received

    async def recording_exchange(self: transport._UdpSession, request_id: int, message: bytes, timing: _Timing) -> Any:
        sent.append(message)
        return await exchange(self, request_id, message, timing)

    def recording_datagram_received(self: transport._UdpProtocol, data: bytes, addr: Any) -> None:
        received.append(data)
        datagram_received(self, data, addr)

    transport._UdpSession.exchange = recording_exchange
    transport._UdpProtocol.datagram_received = recording_datagram_received
    collector = SnmpCollector()
    try:
        facts = await collector.collect(Target(d.address), v2c(d) if version == "v2c" else v3(d), 10)
    finally:
        transport._UdpSession.exchange = exchange
        transport._UdpProtocol.datagram_received = datagram_received
        await collector.aclose()
    answers = {}
    for data in received:
        answers.setdefault(_request_key(data), data)
    pairs, seen = [], set()
    for message in sent:
        key = _request_key(message)
        if key in answers and key not in seen:  # a retry's copy is left out
            seen.add(key)
            pairs.append((message, answers[key]))
    return facts, pairs


async def record(root: Path) -> None:
    for d in RECORDED:
        folder = root / d.key
        folder.mkdir(parents=True, exist_ok=True)
        snmp_golden.write_walk(folder / "walk.txt", await walk_everything(d))
        facts, pairs = await record_visit(d, "v2c")
        snmp_golden.write_facts(folder / "facts.json", facts)
        if d in WIRE_RECORDED:
            snmp_golden.write_wire(folder / "v2c.wire", pairs)
            _, pairs = await record_visit(d, "v3")
            snmp_golden.write_wire(folder / "v3.wire", pairs)
        print(f"recorded {d.key} ({d.hostname}) in {folder}")


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        lab = SnmpLab(list(RECORDED), Path(workdir))
        lab.start(timeout=60)
        try:
            asyncio.run(record(snmp_golden.GOLDEN))
        finally:
            lab.stop()


if __name__ == "__main__":
    main()
