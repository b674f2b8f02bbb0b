"""Poll N simulated 24-port switches with kiemke's SnmpCollector and with the net-snmp CLI;
print devices/s and client CPU per device for each, and the ratios.

    .venv/bin/python scripts/bench/poll_bench.py [--devices 100] [--concurrency 16]
        [--netsnmp-concurrency 16] [--rounds 2] [--version v2c|v3] [--timeout 15]

Both clients ask the same agents for the same data: the system group, the ENTITY-MIB chassis
row, the IF-MIB columns kiemke uses (ifDescr, ifSpeed, ifPhysAddress, ifAdminStatus,
ifOperStatus, ifName, ifHighSpeed, ifAlias), dot1dBasePortIfIndex, dot1dTpFdbPort,
ipNetToMediaPhysAddress, the lldpRemTable columns and lldpLocPortId.

* kiemke: `SnmpCollector.collect` per device under an asyncio.Semaphore(concurrency), in this
  process; client CPU = getrusage(RUSAGE_SELF) delta (it includes building the DeviceFacts and,
  for v3, hashing each device's own passwords: every bench switch has its own v3 user).
* net-snmp: per device one `snmpget` (all scalars) and one `snmpbulkwalk -Cr30` per column
  ("columns": exactly the same OIDs) or per table ("tables": fewer processes, more data), the
  processes of a device in sequence, `--netsnmp-concurrency` devices at once from a thread
  pool; client CPU = getrusage(RUSAGE_CHILDREN) delta (the CLI processes only; their output is
  captured but not parsed).
* agent CPU (snmpsim, from /proc/<pid>/stat) is printed too: on a small machine the agents,
  not the clients, bound devices/s.

Agents: `SnmpLab` (snmpsim) on 127.253.x.y:1161; ~15 devices/s per snmpsim process.
Targets: kiemke >= 0.8x net-snmp's devices/s and <= 2x its client CPU per device.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collectors.lab.snmp_agents import SnmpLab
from collectors.lab.spec import ArpEntry, FdbEntry, LabDevice, LabInterface, LldpNeighbour, SnmpAccess
from collectors.records import DeviceFacts, SnmpCredential, Target
from collectors.snmp import SnmpCollector

PORT = 1161
SCALARS = [
    "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.2.1.0", "1.3.6.1.2.1.17.1.2.0",
    "1.3.6.1.2.1.25.2.2.0", "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.6.0",
    *(f"1.3.6.1.2.1.47.1.1.1.1.{n}.1" for n in (5, 9, 10, 11, 12, 13)),
]  # fmt: skip
COLUMNS = [
    *(f"1.3.6.1.2.1.2.2.1.{n}" for n in (2, 5, 6, 7, 8)),
    *(f"1.3.6.1.2.1.31.1.1.1.{n}" for n in (1, 15, 18)),
    "1.3.6.1.2.1.17.1.4.1.2", "1.3.6.1.2.1.17.4.3.1.2", "1.3.6.1.2.1.4.22.1.2",
    *(f"1.0.8802.1.1.2.1.4.1.1.{n}" for n in (4, 5, 6, 7, 9)),
    "1.0.8802.1.1.2.1.3.7.1.3",
]  # fmt: skip
TABLES = [
    "1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1", "1.3.6.1.2.1.17.1.4.1.2", "1.3.6.1.2.1.17.4.3.1.2",
    "1.3.6.1.2.1.4.22.1.2", "1.0.8802.1.1.2.1.4.1.1", "1.0.8802.1.1.2.1.3.7.1.3",
]  # fmt: skip


# ------------------------------------------------------------------------------ the lab
def switch(n: int) -> LabDevice:
    """A realistic access switch: 24 GigE + 2 uplinks + Vlan1, ~45 FDB entries, ARP, LLDP."""
    a, b = divmod(n, 250)
    mac = lambda *tail: ":".join(f"{x:02x}" for x in (0x00, 0x1A, a, b, *tail))  # noqa: E731
    host = lambda port, k: ":".join(f"{x:02x}" for x in (0x3C, 0x52, a, b, port, k))  # noqa: E731
    interfaces = [LabInterface(i, f"GigabitEthernet1/0/{i}", mac(0x01, i), 1000, i % 5 != 0) for i in range(1, 25)] + [
        LabInterface(25, "TenGigabitEthernet1/1/1", mac(0x01, 25), 10000, True),
        LabInterface(26, "TenGigabitEthernet1/1/2", mac(0x01, 26), 10000, False),
        LabInterface(100, "Vlan1", mac(0x01, 100), 1000, True),
    ]
    fdb = [FdbEntry(host(i, 1), i) for i in range(1, 25) if i % 5 != 0]  # one PC per live access port
    fdb += [FdbEntry(host(i, 2), i) for i in range(1, 25, 4)]  # an IP phone on some
    fdb += [FdbEntry(host(25, k), 25) for k in range(1, 21)]  # the rest of the site behind the uplink
    arp = [ArpEntry(f"10.{a}.{b}.{k}", host(25, k), 100) for k in range(1, 9)]
    lldp = [
        LldpNeighbour(25, f"core-{a}-{b}", "TenGigabitEthernet1/0/3", host(25, 1)),
        LldpNeighbour(1, f"phone-{b}-1", "eth0", host(1, 2)),
        LldpNeighbour(5, f"phone-{b}-5", "eth0", host(5, 2)),
    ]
    return LabDevice(
        key=f"bench{n}", site_code=f"S{a:02d}", zone="party_wan", device_class="access_switch",
        hostname=f"sw-{a}-{b}", address=f"127.253.{a}.{b + 1}", vendor="Cisco", model="WS-C2960X-24TS-L",
        serial=f"FOC{n:08d}", os_name="IOS", os_version="15.2(7)E8", sys_object_id="1.3.6.1.4.1.9.1.1208",
        sys_descr="Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, RELEASE SOFTWARE (fc3)",
        country_of_origin="US", recorded=True,
        snmp=SnmpAccess(PORT, f"bench{n}ro", f"bench{n}", f"bench-auth-{n}", f"bench-priv-{n}"),
        interfaces=tuple(interfaces), fdb=tuple(fdb), arp=tuple(arp), lldp=tuple(lldp),
    )  # fmt: skip


def credential(d: LabDevice, version: str) -> SnmpCredential:
    s = d.snmp
    assert s is not None
    if version == "v2c":
        return SnmpCredential(name="bench", version="v2c", community=SecretStr(s.community), port=s.port)
    return SnmpCredential(
        name="bench", version="v3", user=s.v3_user, auth_key=SecretStr(s.v3_auth_key),
        priv_key=SecretStr(s.v3_priv_key), port=s.port,
    )  # fmt: skip


# ------------------------------------------------------------------------------ measuring
def cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def agent_cpu(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


@dataclass
class Pass:
    name: str
    devices: int
    ok: int
    seconds: float
    client_cpu: float
    agent_cpu: float
    driver_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.devices / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.client_cpu / self.devices * 1000

    def line(self) -> str:
        extra = f", driver {self.driver_cpu / self.devices * 1000:5.1f} ms/device" if self.driver_cpu else ""
        return (
            f"{self.name:<22} {self.rate:6.1f} devices/s  client CPU {self.cpu_ms:6.1f} ms/device  "
            f"agent CPU {self.agent_cpu / self.devices * 1000:5.1f} ms/device  ok {self.ok}/{self.devices}"
            f"  ({self.seconds:.2f} s{extra})"
        )


def check(facts: DeviceFacts | BaseException, d: LabDevice) -> bool:
    return (
        isinstance(facts, DeviceFacts)
        and not facts.warnings
        and len(facts.interfaces) == len(d.interfaces)
        and len(facts.fdb) == len(d.fdb)
        and len(facts.arp) == len(d.arp)
        and len(facts.lldp) == len(d.lldp)
        and facts.serial == d.serial
    )


def run_kiemke(devices: list[LabDevice], version: str, concurrency: int, timeout: float, pids: list[int], backend: str = "native") -> Pass:
    async def main() -> tuple[list, float, float, float]:
        collector = SnmpCollector(v3_backend=backend)
        limit = asyncio.Semaphore(concurrency)

        async def one(d: LabDevice):
            async with limit:
                try:
                    return await collector.collect(Target(d.address), credential(d, version), timeout)
                except Exception as exc:  # noqa: BLE001
                    return exc

        if version == "v3" and backend == "pysnmp":  # engines (~75 ms each) built outside the timing
            await asyncio.gather(*(collector._v3_engine(credential(d, version)) for d in devices))
        c0, a0, t0 = cpu(resource.RUSAGE_SELF), agent_cpu(pids), time.perf_counter()
        results = await asyncio.gather(*(one(d) for d in devices))
        t1, c1, a1 = time.perf_counter(), cpu(resource.RUSAGE_SELF), agent_cpu(pids)
        await collector.aclose()
        return results, t1 - t0, c1 - c0, a1 - a0

    results, seconds, client, agents = asyncio.run(main())
    ok = sum(check(r, d) for r, d in zip(results, devices, strict=True))
    bad = [r for r, d in zip(results, devices, strict=True) if not check(r, d)]
    if bad:
        print(f"  kiemke: {len(bad)} incomplete, e.g. {str(bad[0])[:300]}", file=sys.stderr)
    name = f"kiemke {version}" + (" pysnmp" if version == "v3" and backend == "pysnmp" else "")
    return Pass(name, len(devices), ok, seconds, client, agents)


def netsnmp_commands(d: LabDevice, version: str, mode: str, timeout: float) -> list[list[str]]:
    s = d.snmp
    assert s is not None
    if version == "v2c":
        auth = ["-v2c", "-c", s.community]
    else:
        auth = ["-v3", "-l", "authPriv", "-u", s.v3_user, "-a", "SHA", "-A", s.v3_auth_key, "-x", "AES", "-X", s.v3_priv_key]
    common = [*auth, "-On", "-t", str(timeout / 2), "-r", "1", f"{d.address}:{s.port}"]
    walks = COLUMNS if mode == "columns" else TABLES
    return [["snmpget", *common, *SCALARS]] + [["snmpbulkwalk", "-Cr30", *common, oid] for oid in walks]


def run_netsnmp(devices: list[LabDevice], version: str, mode: str, concurrency: int, timeout: float, pids: list[int]) -> Pass:
    def one(d: LabDevice) -> bool:
        good = True
        for cmd in netsnmp_commands(d, version, mode, timeout):
            proc = subprocess.run(cmd, capture_output=True, check=False)
            good = good and proc.returncode == 0 and bool(proc.stdout) and b"Timeout" not in proc.stderr
        return good

    c0, s0, a0, t0 = cpu(resource.RUSAGE_CHILDREN), cpu(resource.RUSAGE_SELF), agent_cpu(pids), time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, devices))
    t1, c1, s1, a1 = time.perf_counter(), cpu(resource.RUSAGE_CHILDREN), cpu(resource.RUSAGE_SELF), agent_cpu(pids)
    return Pass(f"net-snmp {version} {mode}", len(devices), sum(results), t1 - t0, c1 - c0, a1 - a0, s1 - s0)


# ------------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=16, help="kiemke: devices in flight")
    ap.add_argument("--netsnmp-concurrency", type=int, default=16, help="net-snmp: devices in flight (threads)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--version", choices=["v2c", "v3"], default="v2c")
    ap.add_argument("--modes", default="columns,tables", help="net-snmp modes: columns,tables")
    ap.add_argument("--timeout", type=float, default=15.0)
    ap.add_argument("--v3-backend", choices=["native", "pysnmp"], default="native", help="kiemke's SNMPv3 engine")
    ap.add_argument("--processes", type=int, default=None, help="snmpsim processes (default: SnmpLab's choice)")
    args = ap.parse_args()

    devices = [switch(n) for n in range(args.devices)]
    with tempfile.TemporaryDirectory(prefix="kiemke-pollbench-") as tmp:
        lab = SnmpLab(devices, Path(tmp), processes=args.processes)
        t0 = time.monotonic()
        lab.start(timeout=180)
        pids = lab.pids()
        print(
            f"{len(devices)} switches ({len(devices[0].interfaces)} interfaces, {len(devices[0].fdb)} FDB, "
            f"{len(devices[0].arp)} ARP, {len(devices[0].lldp)} LLDP each) on {lab.n_processes} snmpsim "
            f"process(es), started in {time.monotonic() - t0:.1f} s; {os.cpu_count()} CPUs; SNMP{args.version}"
        )
        try:
            warm = devices[: min(4, len(devices))]
            run_kiemke(warm, args.version, args.concurrency, args.timeout, pids, args.v3_backend)
            for mode in args.modes.split(","):
                run_netsnmp(warm, args.version, mode, args.netsnmp_concurrency, args.timeout, pids)
            passes: dict[str, list[Pass]] = {}
            for _ in range(args.rounds):
                p = run_kiemke(devices, args.version, args.concurrency, args.timeout, pids, args.v3_backend)
                print(p.line(), flush=True)
                passes.setdefault(p.name, []).append(p)
                for mode in args.modes.split(","):
                    p = run_netsnmp(devices, args.version, mode, args.netsnmp_concurrency, args.timeout, pids)
                    print(p.line(), flush=True)
                    passes.setdefault(p.name, []).append(p)
        finally:
            lab.stop()

    print("\nmedian over rounds:")
    median = {name: (statistics.median(p.rate for p in ps), statistics.median(p.cpu_ms for p in ps)) for name, ps in passes.items()}
    for name, (rate, ms) in median.items():
        print(f"{name:<22} {rate:6.1f} devices/s  client CPU {ms:6.1f} ms/device")
    k_rate, k_ms = next(v for k, v in median.items() if k.startswith("kiemke"))
    for name, (rate, ms) in median.items():
        if name.startswith("net-snmp"):
            print(f"kiemke / {name}: devices/s x{k_rate / rate:.2f} (target >= 0.8), CPU per device x{k_ms / ms:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
