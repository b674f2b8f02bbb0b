"""Latency of the web UI on a large inventory: a temporary SQLite database with the demo
province's sites topped up to 50,000 devices and 200,000 findings, the real app under waitress
on 127.0.0.1 (in a child process, as `kiemke serve` runs; --in-process: in a thread of this one),
and 10 concurrent signed-in clients (threads, stdlib HTTP with a cookie jar, the CSRF token from
the login form) each fetching every page N times, back to back. Prints p50/p95 per page.
Target: p95 <= 300 ms.

    .venv/bin/python scripts/bench/web_bench.py [--devices 50000] [--findings 200000]
                                                [--clients 10] [--requests 20] [--threads 8]
                                                [--workdir DIR]   # keep (and reuse) the database
                                                [--database-url postgresql+psycopg://...]

"alone" is the median of 3 sequential warm-up requests (one client, nothing else running).
"cold" is one request just after a change to the data: the derived views (overview, counts,
plan) are kept until the data revision moves on (inventory/revision.py), so this is what the
first reader after a poll, an import or a waiver waits. --change-every S adds a writer that
changes one device every S seconds during the measurement, as a busy scheduler would.
"server cpu" is the CPU time the server process spent per request while the clients ran (Linux,
child process only): with one process the p95 is about ten times it, and it moves far less than
the latencies when other work shares the machine (the load average is printed at both ends).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import multiprocessing
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlmodel import Session

from inventory import db
from inventory.demo import load_demo
from inventory.models import Device, DeviceMac, Finding, Site, Zone
from inventory.users import add_user

TARGET_P95_MS = 300.0
PASSWORD = "mat-khau-do-tai-123"
BATCH = 10_000
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

CLASSES = ["laptop"] * 35 + ["desktop"] * 35 + ["printer"] * 15 + ["scanner"] * 5 + ["tablet"] * 2 + ["access_switch"] * 4 + ["firewall"] * 4
VENDORS = {"laptop": ["Dell", "HP", "Lenovo"], "desktop": ["Dell", "HP", "FPT Elead"], "printer": ["Canon", "HP", "Brother"],
           "scanner": ["Canon", "Epson"], "tablet": ["Samsung"], "access_switch": ["Cisco"], "firewall": ["Fortinet"]}  # fmt: skip
RULES = [  # (rule id, severity)
    ("ep.os_supported", "critical"), ("lc.service_life", "medium"), ("origin.allowed", "high"), ("lc.broken", "high"),
    ("net.telnet_off", "critical"), ("net.firmware_supported", "high"), ("ep.av_fresh", "medium"), ("ep.disk_encryption", "low"),
]  # fmt: skip


SURNAMES = ("Nguyễn Văn", "Trần Thị", "Lò Văn", "Đặng Thị", "Lường Văn", "Quàng Thị", "Phạm Văn", "Vàng A")
GIVEN = ("Minh", "Hương", "Thắng", "Lan", "Dũng", "Mai", "Sơn", "Páo")


def build(url: str, n_devices: int, n_findings: int, rng: random.Random) -> dict:
    started = time.perf_counter()
    db.upgrade(url)
    engine = db.engine_for(url)
    with Session(engine) as session:
        load_demo(session, actor="bench")
        add_user(session, "bench_planner", "planner", PASSWORD, actor="bench")
        session.commit()
    with engine.begin() as conn:
        sites = conn.execute(select(Site.id)).scalars().all()
        zones = {}
        for zone_id, site_id, kind in conn.execute(select(Zone.id, Zone.site_id, Zone.kind)):
            zones.setdefault(site_id, {})[kind] = zone_id
        have = conn.execute(select(func.count()).select_from(Device)).scalar_one()
        now = datetime.now(UTC)
        rows = []
        for i in range(max(0, n_devices - have)):
            cls = rng.choice(CLASSES)
            site = rng.choice(sites)
            zone = "party_wan" if cls in ("firewall", "access_switch", "desktop") and rng.random() < 0.5 else "internet"
            rows.append({
                "device_class": cls, "site_id": site, "zone_id": zones[site][zone], "hostname": f"BENCH-{cls[:2].upper()}{i:06d}",
                "mgmt_ip": None, "vendor": rng.choice(VENDORS[cls]), "model": f"M{rng.randint(100, 999)}", "serial": f"BN{i:08d}",
                "os_name": "Windows 11 Pro" if cls in ("laptop", "desktop") else None, "os_version": "24H2" if cls in ("laptop", "desktop") else None,
                "country_of_origin": rng.choice(["US", "VN", "CN", "JP", "TW", None]),
                "purchase_date": date(rng.randint(2012, 2025), rng.randint(1, 12), rng.randint(1, 28)),
                "status": rng.choices(["in_use", "in_stock", "broken", "disposed"], [90, 4, 5, 1])[0],
                "assigned_user": f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}" if rng.random() < 0.33 else None,
                "source": rng.choices(["recorded", "imported", "discovered"], [80, 15, 5])[0], "platform": None, "notes": "",
                "created_at": now, "updated_at": now,
            })  # fmt: skip
            if len(rows) >= BATCH:
                conn.execute(insert(Device.__table__), rows)
                rows = []
        if rows:
            conn.execute(insert(Device.__table__), rows)
        devices = conn.execute(select(Device.id, Device.site_id)).all()
        # Most devices carry a MAC (the global search finds them by it, in any notation).
        taken = set(conn.execute(select(DeviceMac.mac)).scalars())
        macs = []
        for device_id, _ in devices:
            mac = f"02:be:{device_id >> 24 & 255:02x}:{device_id >> 16 & 255:02x}:{device_id >> 8 & 255:02x}:{device_id & 255:02x}"
            if mac not in taken and rng.random() < 0.8:
                macs.append({"device_id": device_id, "mac": mac})
            if len(macs) >= BATCH:
                conn.execute(insert(DeviceMac.__table__), macs)
                macs = []
        if macs:
            conn.execute(insert(DeviceMac.__table__), macs)

    # Findings: (rule, device) pairs without repeats (rule_id + subject_key is unique).
    pairs = rng.sample(range(len(devices) * len(RULES)), min(n_findings, len(devices) * len(RULES)))
    today = date.today()
    with engine.begin() as conn:
        rows = []
        for k in pairs:
            device_id, site_id = devices[k // len(RULES)]
            rule_id, severity = RULES[k % len(RULES)]
            status = rng.choices(["open", "resolved", "waived"], [75, 20, 5])[0]
            rows.append({
                "rule_id": rule_id, "subject_key": f"device:{device_id}", "device_id": device_id, "site_id": site_id,
                "severity": severity, "expected": "theo chuẩn 3676", "actual": "không đạt", "evidence": "", "status": status,
                "first_seen": now - timedelta(days=rng.randint(1, 300)), "last_seen": now,
                "resolved_at": now if status == "resolved" else None,
                "waiver_reason": "bench" if status == "waived" else None,
                "waiver_expires": today + timedelta(days=90) if status == "waived" else None,
                "waived_by": "bench" if status == "waived" else None,
            })  # fmt: skip
            if len(rows) >= BATCH:
                conn.execute(insert(Finding.__table__), rows)
                rows = []
        if rows:
            conn.execute(insert(Finding.__table__), rows)
    counts = existing(url)
    if engine.dialect.name == "postgresql":
        # Autovacuum vacuums and analyzes a table soon after a bulk load; measuring before it has
        # would time plans made for empty tables and index scans without a visibility map.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    counts["seconds"] = time.perf_counter() - started
    engine.dispose()
    return counts


def existing(url: str) -> dict:
    """What the pages measured need to know of the data (a database built now or reused by
    --workdir: both read it here, so a reused one names the same site and MAC)."""
    engine = db.engine_for(url)
    with engine.connect() as conn:
        return {
            "devices": conn.execute(select(func.count()).select_from(Device)).scalar_one(),
            "findings": conn.execute(select(func.count()).select_from(Finding)).scalar_one(),
            "laptops": conn.execute(select(func.count()).select_from(Device).where(Device.device_class == "laptop")).scalar_one(),
            "sites": conn.execute(select(func.count()).select_from(Site)).scalar_one(),
            "first_site": conn.execute(select(Site.code).order_by(Site.code)).scalars().first(),
            "a_mac": conn.execute(select(DeviceMac.mac).where(DeviceMac.mac.like("02:be:%")).order_by(DeviceMac.id)).scalars().first(),
        }


def make_server(home: Path, url: str, port: int, threads: int):
    import logging

    import waitress

    from inventory.settings import Settings
    from web import create_app

    app = create_app(Settings(home=home, database_url=url))
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth": expected under load
    return waitress.create_server(app, host="127.0.0.1", port=port, threads=threads, ident="kiemke-bench")


def serve(home: Path, url: str, port: int, threads: int) -> None:
    """The child process: waitress serving the app until the parent terminates it."""
    make_server(home, url, port, threads).run()


def wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not start on 127.0.0.1:{port}")


class Client:
    """One signed-in user: a cookie jar, the login form's CSRF token, plain urllib."""

    def __init__(self, base: str, username: str, password: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = self.get("/login")
        token = _TOKEN.search(form)
        if not token:
            raise RuntimeError("no CSRF token on the login form")
        body = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token.group(1)}).encode()
        with self.opener.open(self.base + "/login", data=body, timeout=180) as response:
            if "/login" in response.geturl():
                raise RuntimeError(f"sign-in refused for {username}")
            response.read()

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=180) as response:
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status}")
            return response.read().decode("utf-8")

    def timed(self, path: str) -> float:
        started = time.perf_counter()
        self.get(path)
        return (time.perf_counter() - started) * 1000


def cpu_ms(pid: int | None) -> float | None:
    """The CPU time (user + system) process `pid` has used, in ms; None where /proc does not
    tell (not Linux, or the server runs in this process). Divided by the requests served, it is
    the figure the p95 follows: with one Python process (one GIL) and 10 clients a request
    waits for about ten others, so it is steadier than the latencies on a busy machine."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def touch(url: str) -> None:
    """A real change through kiemke's engine: one device's notes (moves the data revision on)."""
    with db.engine_for(url).begin() as conn:
        conn.execute(update(Device.__table__).where(Device.__table__.c.id == 1).values(notes=f"bench {time.time()}"))


def writer(url: str, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        touch(url)


def measure(clients: list[Client], path: str, per_client: int, deadline: float) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients))

    def work(client: Client) -> None:
        barrier.wait()
        for _ in range(per_client):
            if time.monotonic() > deadline:
                break
            try:
                ms = client.timed(path)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                latencies.append(ms)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50_000, help="devices in the database in all (demo province included)")
    parser.add_argument("--findings", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--requests", type=int, default=20, help="requests per client per page")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads (as `kiemke serve`)")
    parser.add_argument("--max-seconds", type=float, default=120, help="per page: stop sending requests after this long")
    parser.add_argument("--in-process", action="store_true", help="run waitress in a thread of this process (the clients then share its GIL)")
    parser.add_argument("--workdir", type=Path, help="keep the database here; an existing one is reused as it is")
    parser.add_argument("--database-url", help="an empty (or earlier bench) database to use instead of SQLite, e.g. PostgreSQL")
    parser.add_argument("--change-every", type=float, default=0, help="seconds between data changes during the measurement (0: none)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kiemke-web-bench-") as tmp:
        home = (args.workdir or Path(tmp)) / "home"
        url = args.database_url or f"sqlite:///{home / 'kiemke.sqlite3'}"
        if (home / "kiemke.sqlite3").exists() if not args.database_url else db.current_revision(url) is not None:
            db.upgrade(url)
            counts = existing(url)
            loaded = f"reused {url if args.database_url else home}"
        else:
            counts = build(url, args.devices, args.findings, random.Random(3676))
            loaded = f"loaded in {counts['seconds']:.1f} s"
        print(f"data: {counts['devices']:,} devices, {counts['findings']:,} findings, {counts['sites']} sites "
              f"({loaded}); {db.engine_for(url).dialect.name}, waitress {args.threads} threads, "
              f"{args.clients} clients x {args.requests} requests per page"
              + (f"; a device changes every {args.change_every:g} s" if args.change_every else "")
              + f"; load average {load_average()} (1, 5, 15 min; {os.cpu_count()} CPUs)")  # fmt: skip

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        if args.in_process:  # waitress in a thread of this process: the clients share its GIL
            server = make_server(home, url, port, args.threads)
            stop = server.close
            server_pid = None
            threading.Thread(target=server.run, daemon=True).start()
        else:  # waitress (its own worker threads) in a child process, as `kiemke serve` runs
            child = multiprocessing.get_context("spawn").Process(target=serve, args=(home, url, port, args.threads), daemon=True)
            child.start()
            stop = child.terminate
            server_pid = child.pid
        try:
            wait_for_port(port, timeout=60)
            clients = [Client(base, "bench_planner", PASSWORD) for _ in range(args.clients)]
            per_page = 50
            last = max(1, -(-counts["laptops"] // per_page))
            pages = [
                ("overview", "/"),
                ("devices class=laptop, page 1", "/devices/?device_class=laptop"),
                (f"devices class=laptop, page {last} (last)", f"/devices/?device_class=laptop&page={last}"),
                ("procurement", "/procurement/"),
                ("findings, open, page 1 (extra)", "/findings/"),
                ("findings, one site's open high, sorted by device", f"/findings/?status=open&severity=high&site={counts['first_site']}&sort=device"),
                ("global search, a MAC written with dashes", f"/search/?q={counts['a_mac'].replace(':', '-').upper()}"),
                ("global search, a hostname", "/search/?q=BENCH-LA000123"),
                ("global search, a name without diacritics", "/search/?q=nguyen+van"),
            ]
            try:
                clients[0].get("/procurement/")
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
                pages = [p for p in pages if p[0] != "procurement"]
                print("procurement: no such page (web/procurement.py); skipped")
            failed = False
            for name, path in pages:
                touch(url)
                cold = clients[0].timed(path)
                alone = statistics.median(clients[0].timed(path) for _ in range(3))  # warm-up, not counted
                stop_writer = threading.Event()
                if args.change_every:
                    threading.Thread(target=writer, args=(url, args.change_every, stop_writer), daemon=True).start()
                cpu_before = cpu_ms(server_pid)
                try:
                    latencies, errors = measure(clients, path, args.requests, time.monotonic() + args.max_seconds)
                finally:
                    stop_writer.set()
                if not latencies:
                    print(f"{name:<40} no successful request ({len(errors)} errors: {errors[:1]})")
                    failed = True
                    continue
                cpu_after = cpu_ms(server_pid)
                p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
                verdict = "ok" if p95 <= TARGET_P95_MS else "OVER"
                failed |= p95 > TARGET_P95_MS or bool(errors)
                cpu = f"  server cpu {(cpu_after - cpu_before) / (len(latencies) + len(errors)):5.1f} ms/req" if cpu_before is not None and cpu_after is not None else ""
                print(f"{name:<38} n={len(latencies):<4} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  max {max(latencies):8.1f} ms"
                      f"  alone {alone:6.1f} ms  cold {cold:7.1f} ms{cpu}  errors {len(errors)}  [{verdict}]")  # fmt: skip
            print(f"target: p95 <= {TARGET_P95_MS:.0f} ms per page; load average now {load_average()} (1, 5, 15 min; {os.cpu_count()} CPUs)")
        finally:
            stop()
            if not args.in_process:
                child.join(timeout=10)
            db.engine_for(url).dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
