"""Endpoint agents' daily inventories against a real `kiemke serve` on 127.0.0.1: 20 concurrent
simulated agents (threads, stdlib http.client, one keep-alive connection each) post compressed
GLPI-agent JSON inventories (about 60 KB before compression; zlib and gzip alternately) for
5,000 distinct endpoints of the demo province, each with its site's agent account.
Target: the province's 4,300 endpoints in under 2 minutes (>= 40 inventories/s), p95 <= 500 ms.

    .venv/bin/python scripts/bench/agent_bench.py [--endpoints 5000] [--agents 20] [--threads 8]
                                                  [--database-url postgresql+psycopg://.../postgres]

The endpoints are made from tests/collectors/agents/fixtures/windows11_laptop.json: serial,
UUID, MACs, host name, device id and address vary; a software list pads each to about 60 KB
(what a Windows PC's agent sends; kiemke keeps none of it). The server runs in a process of its
own with a temporary KIEMKE_HOME and SQLite, or with --database-url a fresh database made (and
dropped at the end) on that PostgreSQL server. Peak memory is the server's resident set (VmHWM
from /proc), sampled with its children. The reported devices are evaluated in the server by its
batcher while the agents post, as in production.
"""

from __future__ import annotations

import argparse
import base64
import copy
import gzip
import http.client
import ipaddress
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scratch_db import drop_postgres, fresh_postgres  # noqa: E402 (beside this script)

from collectors.agents.accounts import add_account  # noqa: E402
from inventory import db  # noqa: E402
from inventory.demo import load_demo  # noqa: E402
from inventory.models import Device, Site  # noqa: E402

FIXTURE = ROOT / "tests/collectors/agents/fixtures/windows11_laptop.json"
TARGET_RATE = 40.0
TARGET_P95_MS = 500.0
PADDED_BYTES = 60_000
KIEMKE = [sys.executable, "-c", "from web.main import main; main()"]

SOFTWARE = [  # (name, publisher): what Windows PCs of a commune carry
    ("Microsoft Edge", "Microsoft Corporation"), ("Google Chrome", "Google LLC"), ("Mozilla Firefox (x64 vi)", "Mozilla"),
    ("Cốc Cốc", "Cốc Cốc Company Limited"), ("Microsoft Office Professional Plus 2019", "Microsoft Corporation"),
    ("Microsoft Visual C++ 2015-2022 Redistributable (x64)", "Microsoft Corporation"), ("Zalo", "VNG Corporation"),
    ("UniKey", "Pham Kim Long"), ("Foxit PDF Reader", "Foxit Software Inc."), ("WinRAR 6.24 (64-bit)", "win.rar GmbH"),
    ("VNPT-CA Plugin", "VNPT"), ("Viettel-CA Token Manager", "Viettel Group"), ("HTKK", "Tổng cục Thuế"),
    ("Adobe Acrobat Reader DC", "Adobe Systems Incorporated"), ("TeamViewer", "TeamViewer"), ("UltraViewer", "DucFabulous"),
    ("Intel(R) Graphics Driver", "Intel Corporation"), ("Realtek High Definition Audio Driver", "Realtek Semiconductor Corp."),
    ("Canon LBP2900 Printer Driver", "Canon Inc."), ("HP LaserJet Pro MFP M127 Basic Device Software", "HP Inc."),
    ("Java 8 Update 411", "Oracle Corporation"), ("Microsoft .NET Framework 4.8.1", "Microsoft Corporation"),
    ("Microsoft Update Health Tools", "Microsoft Corporation"), ("Windows PC Health Check", "Microsoft Corporation"),
    ("KB5044285", "Microsoft Corporation"), ("Microsoft OneDrive", "Microsoft Corporation"), ("Notepad++ (64-bit x64)", "Notepad++ Team"),
    ("VLC media player", "VideoLAN"), ("Bkav Pro Internet Security", "Bkav Corporation"), ("Microsoft Teams", "Microsoft Corporation"),
]  # fmt: skip


# -- inventories ---------------------------------------------------------------------------------


def software_entry(rng: random.Random, n: int) -> dict:
    name, publisher = SOFTWARE[n % len(SOFTWARE)]
    version = f"{rng.randint(1, 130)}.{rng.randint(0, 20)}.{rng.randint(0, 9999)}.{rng.randint(0, 99)}"
    guid = "{" + str(uuid.UUID(int=rng.getrandbits(128))).upper() + "}"
    return {
        "name": name if n < len(SOFTWARE) else f"{name} ({n // len(SOFTWARE)})", "publisher": publisher, "version": version,
        "arch": rng.choice(["x86_64", "i586"]), "from": "registry", "guid": guid, "install_date": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(18, 26)}",
        "system_category": "application", "uninstall_string": f'MsiExec.exe /X{guid}', "helplink": "https://support.example.vn/",
    }  # fmt: skip


def inventory(template: dict, n: int, address: str, rng: random.Random) -> bytes:
    """Endpoint n's inventory, as GLPI Agent sends it (before compression)."""
    doc = copy.deepcopy(template)
    content = doc["content"]
    host = f"PC-BENCH-{n:05d}"
    doc["deviceid"] = f"{host}-2026-12-03-08-{n % 60:02d}-{n // 60 % 60:02d}"
    content["hardware"]["name"] = host
    content["hardware"]["uuid"] = str(uuid.UUID(int=(0xBE4C << 112) | n)).upper()
    content["bios"]["ssn"] = f"BN{n:07d}"
    content["storages"][0]["serial"] = f"S64KNX0T{n:07d}"
    mac = f"a4:bb:6d:{n >> 16 & 0xFF:02x}:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}"
    for nic in content["networks"]:
        if not nic.get("virtualdev"):
            nic["mac"] = mac
            if "ipaddress" in nic:
                nic["ipaddress"] = address
                network = ipaddress.ip_network(f"{address}/24", strict=False)
                nic["ipsubnet"] = str(network.network_address)
    content.pop("envs", None)
    content.pop("processes", None)
    content["softwares"] = []
    size = len(json.dumps(doc).encode())
    while size < PADDED_BYTES:
        entry = software_entry(rng, len(content["softwares"]))
        content["softwares"].append(entry)
        size += len(json.dumps(entry).encode()) + 2  # and ", "
    return json.dumps(doc).encode()


# -- the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_rss_kb(pid: int) -> int:
    """Resident set of a process and its children (kB), from /proc."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


def peak_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.peak = max(self.peak, tree_rss_kb(self.pid))


def wait_for_port(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kiemke serve exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"kiemke serve did not start on 127.0.0.1:{port}")


# -- the agents -----------------------------------------------------------------------------------


def post_all(port: int, jobs: list[tuple[bytes, str]], agents: int) -> tuple[list[float], list[str], float]:
    """Each agent thread takes the next job (body, Authorization) and posts it; latencies in ms."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    queue = iter(range(len(jobs)))
    barrier = threading.Barrier(agents + 1)

    def agent() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        barrier.wait()
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                break
            body, authorization = jobs[index]
            headers = {"Content-Type": "application/x-compress-zlib", "Authorization": authorization, "User-Agent": "GLPI-Agent_v1.12",
                       "GLPI-Agent-ID": str(uuid.UUID(int=index))}  # fmt: skip
            started = time.perf_counter()
            try:
                connection.request("POST", "/inventory", body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                ms = (time.perf_counter() - started) * 1000
                decoded = zlib.decompress(answer) if answer[:2] == b"\x78\x9c" else gzip.decompress(answer) if answer[:2] == b"\x1f\x8b" else answer
                if response.status != 200 or json.loads(decoded).get("status") != "ok":
                    raise RuntimeError(f"HTTP {response.status}: {decoded[:200]!r}")
            except Exception as exc:  # noqa: BLE001 - counted and reported
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                latencies.append(ms)
        connection.close()

    threads = [threading.Thread(target=agent) for _ in range(agents)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[0] if len(ordered) == 1 else statistics.quantiles(ordered, n=100, method="inclusive")[q - 1]


# -- the database ---------------------------------------------------------------------------------


def prepare(url: str, endpoints: int) -> tuple[list[tuple[str, str]], dict[str, str], int]:
    """The demo province and an agent account per site (Party WAN zone: the demo's subnets are
    the lab's loopback ones, which no endpoint reports); (address, site code) per endpoint, the
    accounts' Authorization headers by site code, and how many devices there were before."""
    engine = db.engine_for(url)
    with Session(engine) as session:
        load_demo(session, actor="agent-bench")
        session.commit()
        codes = list(session.execute(select(Site.code).order_by(Site.code)).scalars())
        authorization = {}
        for code in codes:
            issued = add_account(session, f"bench-{code.lower()}", site=code, zone="party_wan", actor="agent-bench")
            authorization[code] = "Basic " + base64.b64encode(f"{issued.name}:{issued.password}".encode()).decode()
        session.commit()
        before = session.execute(select(func.count()).select_from(Device)).scalar_one()
    # Round robin over the sites; each site's endpoints in a private /16 of its own.
    placed = [(f"10.{100 + n % len(codes) % 150}.{n // len(codes) // 250}.{n // len(codes) % 250 + 2}", codes[n % len(codes)]) for n in range(endpoints)]
    return placed, authorization, before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=20, help="concurrent simulated agents")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads (kiemke serve --threads)")
    parser.add_argument("--database-url", help="a PostgreSQL server's URL (e.g. .../postgres): the bench makes a fresh database there and drops it after")
    args = parser.parse_args()
    rng = random.Random(4300)

    with tempfile.TemporaryDirectory(prefix="kiemke-agent-bench-") as tmp:
        home = Path(tmp) / "home"
        url = fresh_postgres(args.database_url, "kiemke_agent_bench") if args.database_url else f"sqlite:///{home / 'kiemke.sqlite3'}"
        env = os.environ | {"KIEMKE_HOME": str(home), "DATABASE_URL": url}
        try:
            subprocess.run([*KIEMKE, "init"], env=env, check=True, capture_output=True, cwd=ROOT)
            started = time.perf_counter()
            placed, authorization, before = prepare(url, args.endpoints)
            rng.shuffle(placed)
            template = json.loads(FIXTURE.read_text(encoding="utf-8"))
            jobs, raw_sizes = [], []
            for n, (address, code) in enumerate(placed):
                raw = inventory(template, n, address, rng)
                raw_sizes.append(len(raw))
                jobs.append((zlib.compress(raw) if n % 2 == 0 else gzip.compress(raw), authorization[code]))
            sent = [len(body) for body, _ in jobs]
            print(f"data: demo province ({before:,} devices, {len(authorization)} site accounts), {len(jobs):,} endpoints in "
                  f"{len({c for _, c in placed})} sites; {db.engine_for(url).dialect.name}; inventories {statistics.mean(raw_sizes) / 1000:.0f} KB "
                  f"({statistics.mean(sent) / 1000:.1f} KB compressed, zlib/gzip alternately); prepared in {time.perf_counter() - started:.1f} s")  # fmt: skip

            port = free_port()
            log_path = Path(tmp) / "serve.log"
            with log_path.open("wb") as log:
                server = subprocess.Popen([*KIEMKE, "serve", "--port", str(port), "--threads", str(args.threads)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
            try:
                wait_for_port(port, server, timeout=60)
                sampler = Sampler(server.pid)
                sampler.start()
                latencies, errors, seconds = post_all(port, jobs, args.agents)
                sampler.stop.set()
                peak = max(sampler.peak, peak_kb(server.pid))
            finally:
                server.terminate()
                server.wait(timeout=30)
            with db.engine_for(url).connect() as connection:
                after = connection.execute(select(func.count()).select_from(Device)).scalar_one()
        finally:
            if args.database_url:
                drop_postgres(args.database_url, url)

        rate = len(latencies) / seconds if seconds else 0.0
        print(f"agents: {args.agents} concurrent, waitress {args.threads} threads; {len(jobs):,} inventories in {seconds:.1f} s")
        print(f"inventories/s: {rate:.1f} (target >= {TARGET_RATE:g}) {'ok' if rate >= TARGET_RATE else 'UNDER'}")
        if latencies:
            p95 = percentile(latencies, 95)
            print(f"latency ms: p50 {percentile(latencies, 50):.0f}, p95 {p95:.0f} (target <= {TARGET_P95_MS:g}) {'ok' if p95 <= TARGET_P95_MS else 'OVER'}, max {max(latencies):.0f}")
        print(f"server peak memory: {peak / 1024:.0f} MB resident")
        print(f"devices: {after - before:,} new (of {len(jobs):,} endpoints)")
        print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
        if errors:
            tail = log_path.read_text(errors="replace").splitlines()[-5:]
            print("server log tail:\n  " + "\n  ".join(tail))
        ok = not errors and latencies and rate >= TARGET_RATE and percentile(latencies, 95) <= TARGET_P95_MS and after - before == len(jobs)
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
