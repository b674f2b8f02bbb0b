"""A hub on PostgreSQL ingesting collectors' results with 1 and with 2 `kiemke worker` processes.

For each worker count: a fresh database on the given PostgreSQL server, the demo province plus
N devices (each zone of each site gets a /17 of its own, so every device has an address in
its zone), one registered collector per site-zone (real Ed25519 keys), and, from each collector,
one poll cycle of its devices as signed batches of 250 results (real frames, as
`kiemke collector run` uploads them). The frames go through the hub's `receive` (signature,
storing, one `apply_collector_batch` job per batch in the same transaction) from 4 threads, as
collectors uploading at once; the workers apply each batch (reconciliation) and evaluate what it
touched. Printed per worker count:
- results ingested and evaluated per second (devices of the cycle / time from the first upload
  to the last job done),
- p50/p95 time from a result's arrival (its batch received) to its devices evaluated (the job's
  end, from procrastinate's events),
- database growth per 10,000 results (pg_database_size before and after),
and the throughput ratio 2 workers / 1 worker. Targets: a 50,000-device cycle in <= 300 s,
ratio >= 1.6.

    .venv/bin/python scripts/bench/scale_bench.py --database-url postgresql+psycopg://kiemke@127.0.0.1:55432/postgres
        [--devices 50000] [--workers 1,2] [--concurrency 4] [--keep]

Start a throw-away server with `source scripts/pg_test_server.sh; PG_TEST_PORT=55440 pg_test_server_start`.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scratch_db import drop_postgres, fresh_postgres  # noqa: E402 (beside this script)

from collectors.fleet import identity, registry, wire  # noqa: E402
from collectors.fleet.receive import receive  # noqa: E402
from collectors.outcome_json import outcome_to_json  # noqa: E402
from collectors.records import DeviceFacts, InterfaceRecord, Target  # noqa: E402
from collectors.runner import Outcome  # noqa: E402
from collectors.work.queue import ensure_schema  # noqa: E402
from inventory import db  # noqa: E402
from inventory.demo import load_demo  # noqa: E402
from inventory.models import CollectorBatch, Device, Site, Subnet, Zone  # noqa: E402
from inventory.settings import Settings  # noqa: E402

BATCH_DEVICES = 250
TARGET_SECONDS = 300.0
TARGET_RATIO = 1.6
CLASSES = [("access_switch", "Cisco", "C9200-24T", "cisco_ios"), ("firewall", "Fortinet", "FortiGate-60F", "fortinet"),
           ("server", "Dell", "PowerEdge R650", None), ("printer", "HP", "LaserJet M404", None)]  # fmt: skip


def build(url: str, n_devices: int, rng: random.Random) -> list[tuple[str, str, list[dict]]]:
    """The hub's database and each site-zone's devices: [(site code, zone kind, [device rows])]."""
    db.upgrade(url)
    engine = db.engine_for(url)
    ensure_schema(engine)
    with Session(engine) as session:
        load_demo(session, actor="bench")
        session.commit()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        sites = conn.execute(select(Site.id, Site.code).order_by(Site.id)).all()
        zones = {(site_id, kind): zone_id for zone_id, site_id, kind in conn.execute(select(Zone.id, Zone.site_id, Zone.kind))}
        # Each zone of site k gets 10.<k>.<0|128>.0/17: room for 32,000 addresses per zone.
        slices, subnet_rows = [], []
        for k, (site_id, code) in enumerate(sites):
            for half, kind in enumerate(("party_wan", "internet")):
                if (site_id, kind) not in zones:
                    continue
                network = ipaddress.ip_network(f"10.{k % 250}.{128 * half}.0/17")
                subnet_rows.append({"zone_id": zones[(site_id, kind)], "cidr": str(network)})
                slices.append((site_id, code, kind, network))
        conn.execute(insert(Subnet.__table__), subnet_rows)
        rows = []
        for i in range(n_devices):  # beside the demo's own devices: the cycle polls these
            site_id, code, kind, network = slices[i % len(slices)]
            cls, vendor, model, platform = rng.choice(CLASSES)
            address = str(network.network_address + 1 + i // len(slices))
            rows.append({
                "device_class": cls, "site_id": site_id, "zone_id": zones[(site_id, kind)], "hostname": f"SCALE-{i:06d}", "mgmt_ip": address,
                "vendor": vendor, "model": model, "serial": f"SC{i:08d}", "os_name": None, "os_version": None, "country_of_origin": "US",
                "purchase_date": date(rng.randint(2015, 2025), rng.randint(1, 12), 1), "status": "in_use", "assigned_user": None,
                "source": "recorded", "platform": platform, "notes": "", "created_at": now, "updated_at": now,
            })  # fmt: skip
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(Device.__table__), rows[start : start + 10_000])
        by_zone: dict[tuple[str, str], list[dict]] = {}
        query = select(Device.mgmt_ip, Device.hostname, Device.vendor, Device.model, Device.serial, Site.code, Zone.kind).join(Site, Site.id == Device.site_id)
        query = query.join(Zone, Zone.id == Device.zone_id).where(Device.hostname.like("SCALE-%"))
        for address, hostname, vendor, model, serial, code, kind in conn.execute(query):
            by_zone.setdefault((code, kind), []).append({"address": address, "hostname": hostname, "vendor": vendor, "model": model, "serial": serial})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return [(code, kind, devices) for (code, kind), devices in sorted(by_zone.items())]


def outcome(device: dict, code: str, kind: str, rng: random.Random) -> dict:
    """What a poll of the device brings: identity, software and two interfaces, as SNMP gives them;
    the same each cycle but for the uptime."""
    facts = DeviceFacts(
        address=device["address"], source="snmp", sys_name=device["hostname"], sys_descr=f"{device['vendor']} {device['model']}",
        vendor=device["vendor"], model=device["model"], serial=device["serial"], os_name="IOS" if device["vendor"] == "Cisco" else None,
        os_version=("17.9.4", "17.12.2", "7.2.8")[int(device["serial"][2:]) % 3], uptime_seconds=rng.randint(1000, 10_000_000),
        interfaces=(InterfaceRecord(1, "Gi0/1", oper_up=True, admin_up=True), InterfaceRecord(2, "Gi0/2", oper_up=False, admin_up=True)),
    )  # fmt: skip
    target = Target(address=device["address"], site_code=code, zone=kind, hostname=device["hostname"])
    return outcome_to_json(Outcome(target, (facts,), None, ("snmp:bench",), rng.randint(50, 400)))


def register_collectors(slices, workdir: Path, engine) -> list[tuple[identity.CollectorKeys, str, str, list[dict]]]:
    """One collector per site-zone, registered on the hub with real keys."""
    collectors = []
    with Session(engine) as session:
        for code, kind, devices in slices:
            name = f"{code.lower()}-{kind.replace('_', '-')}"
            keys = identity.collector_keys(Settings(home=workdir / name), name)
            registry.register(session, keys.public_line(), code, kind, "bench")
            collectors.append((keys, code, kind, devices))
        session.commit()
    return collectors


def sign_cycle(collectors, cycle: int, rng: random.Random) -> list[bytes]:
    """Each collector's poll cycle `cycle` (1, 2, ...) as one signed frame of numbered batches."""
    out = []
    now = datetime.now(UTC).isoformat()
    for keys, code, kind, devices in collectors:
        per_cycle = -(-len(devices) // BATCH_DEVICES)
        batches = []
        for n, start in enumerate(range(0, len(devices), BATCH_DEVICES)):
            chunk = devices[start : start + BATCH_DEVICES]
            run = {"kind": "poll", "params": {"zone": kind}, "started_at": now, "finished_at": now, "status": "ok"}
            body = {"run": run, "outcomes": [outcome(d, code, kind, rng) for d in chunk]}
            batches.append({"seq": (cycle - 1) * per_cycle + n + 1, "kind": "poll", "created_at": now, "body": body})
        status = {"acked_seq": (cycle - 1) * per_cycle, "pending": len(batches), "oldest_unacked_at": now, "dropped": 0}
        payload = wire.pack_batches(keys.name, batches, status, datetime.now(UTC))
        out.append(wire.Frame(wire.BATCHES, keys.name, keys.sign(payload), payload).to_bytes())
    return out


def start_workers(url: str, count: int, concurrency: int, home: Path) -> list[subprocess.Popen]:
    env = os.environ | {"DATABASE_URL": url, "KIEMKE_HOME": str(home), "KIEMKE_JOBS": "workers"}
    kiemke = str(Path(sys.executable).with_name("kiemke"))
    Settings(home=home).credential_key  # noqa: B018 (made on first use: workers refuse to start without the hub's key)
    return [subprocess.Popen([kiemke, "worker", "--concurrency", str(concurrency)], env=env, stdout=subprocess.DEVNULL,
                             stderr=(home / f"worker-{n}.log").open("wb")) for n in range(count)]  # fmt: skip


def jobs_left(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")).scalar_one()


def database_size(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()


def arrival_to_evaluated(engine, after_batch_id: int) -> list[float]:
    """Per batch of this cycle: seconds from its arrival on the hub to the last of its devices
    evaluated (the workers delete a job once it succeeds, so the devices' evaluation times tell)."""
    query = text("""
        SELECT b.received_at, max(c.evaluated_at) FROM collector_batch b
        JOIN scan_outcome o ON o.scan_run_id = b.scan_run_id
        JOIN device_compliance c ON c.device_id = o.device_id
        WHERE b.id > :after
        GROUP BY b.id, b.received_at""")
    with engine.connect() as conn:
        return [(done - received).total_seconds() for received, done in conn.execute(query, {"after": after_batch_id}) if done is not None]


def last_batch_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.coalesce(func.max(CollectorBatch.id), 0))).scalar_one()


def push_cycle(engine, settings: Settings, cycle: list[bytes], procs, workdir: Path) -> dict:
    """Upload one cycle's frames (4 at once) and wait for every job: its figures."""
    after = last_batch_id(engine)
    size_before = database_size(engine)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        receipts = list(pool.map(lambda frame: receive(engine, settings, frame, via="https", actor="bench"), cycle))
    uploaded = time.perf_counter() - t0
    while jobs_left(engine):
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a worker exited (its log: {workdir / 'hub'})")
        time.sleep(0.5)
    elapsed = time.perf_counter() - t0
    with engine.connect() as conn:
        states = dict(conn.execute(select(CollectorBatch.status, func.count()).where(CollectorBatch.id > after).group_by(CollectorBatch.status)).all())
    latencies = arrival_to_evaluated(engine, after)
    return {"stored": sum(r.stored for r in receipts), "states": states, "uploaded": uploaded, "elapsed": elapsed, "latencies": latencies,
            "growth": database_size(engine) - size_before}  # fmt: skip


def one_round(admin_url: str, n_devices: int, workers: int, concurrency: int, cycles: int, keep: bool, seed: int) -> list[dict]:
    rng = random.Random(seed)
    url = fresh_postgres(admin_url, "kiemke_scale_bench")
    workdir = Path(tempfile.mkdtemp(prefix="kiemke-scale-"))
    procs: list[subprocess.Popen] = []
    try:
        started = time.perf_counter()
        slices = build(url, n_devices, rng)
        engine = db.engine_for(url)
        collectors = register_collectors(slices, workdir, engine)
        results = sum(len(devices) for _, _, devices in slices)
        print(f"  built in {time.perf_counter() - started:.0f} s: {results:,} devices in {len(slices)} site-zones, {len(collectors)} collectors", flush=True)
        procs = start_workers(url, workers, concurrency, workdir / "hub")
        settings = Settings(home=workdir / "hub", database_url=url, jobs="workers")
        time.sleep(2)  # the workers connect and listen before the first upload
        rounds = []
        for cycle in range(1, cycles + 1):
            frames = sign_cycle(collectors, cycle, rng)
            figures = push_cycle(engine, settings, frames, procs, workdir)
            latencies = figures.pop("latencies")
            rounds.append(figures | {
                "workers": workers, "cycle": cycle, "results": results, "per_second": results / figures["elapsed"], "mb": sum(len(f) for f in frames) / 1e6,
                "p50": statistics.median(latencies) if latencies else float("nan"),
                "p95": statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else float("nan"),
                "growth_per_10k": figures["growth"] / results * 10_000,
            })  # fmt: skip
        return rounds
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not keep:
            drop_postgres(admin_url, url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server's URL (.../postgres): a fresh database per round, dropped after")
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--workers", default="1,2", help="worker process counts to measure, comma-separated")
    parser.add_argument("--concurrency", type=int, default=1, help="jobs each worker process runs at once")
    parser.add_argument("--cycles", type=int, default=2, help="poll cycles: the first finds every device's facts new, the next ones mostly unchanged")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    first_cycles = []
    for count in (int(w) for w in args.workers.split(",")):
        print(f"== {count} worker(s), {args.devices:,} devices, {args.cycles} cycle(s)", flush=True)
        for r in one_round(args.database_url, args.devices, count, args.concurrency, args.cycles, args.keep, seed=17):
            print(f"scale: {r['workers']} worker(s) x concurrency {args.concurrency}, cycle {r['cycle']}: {r['results']:,} results ({r['mb']:.1f} MB signed) "
                  f"in {r['elapsed']:.1f} s (uploads {r['uploaded']:.1f} s) = {r['per_second']:.0f} results/s ingested and evaluated; arrival -> evaluated "
                  f"p50 {r['p50']:.1f} s, p95 {r['p95']:.1f} s; batches {r['states']}; database growth {r['growth_per_10k'] / 1e6:.1f} MB per 10,000 results",
                  flush=True)  # fmt: skip
            if r["cycle"] == 1:
                first_cycles.append(r)
    verdicts = [f"cycle of {r['results']:,} with {r['workers']}: {r['elapsed']:.0f} s ({'ok' if r['elapsed'] <= TARGET_SECONDS else 'OVER'} target {TARGET_SECONDS:.0f} s)" for r in first_cycles]
    if len(first_cycles) >= 2:
        ratio = first_cycles[-1]["per_second"] / first_cycles[0]["per_second"]
        verdicts.append(f"throughput {first_cycles[-1]['workers']} / {first_cycles[0]['workers']} workers: {ratio:.2f}x ({'ok' if ratio >= TARGET_RATIO else 'UNDER'} target {TARGET_RATIO}x)")
    load = os.getloadavg()
    print(f"scale_bench: {'; '.join(verdicts)}; load average {load[0]:.1f}, {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
