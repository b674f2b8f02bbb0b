"""Evaluate every rule over a synthetic fleet (default 100,000 devices: endpoints with collected
host facts, network devices with running-configs, handed over as texts and parsed by the engine
where each device is evaluated, as load_fleet does) and print devices/s and peak memory.
Target: 100,000 devices in at most 5 s and 2 GB. The violations' SHA-256 (and, outside the timed
part, the parsed facts' with them) must not change with a change meant to keep the results.

Then time the incremental evaluation of one site (100 devices) inside a 50,000-device fleet kept
in a database (compliance.evaluation.evaluate_scope: load, evaluate, sync the findings, store the
states, record the run), p50/p95 over 20 runs. Target: p95 <= 200 ms.

    .venv/bin/python scripts/bench/check_bench.py [--devices 100000] [--site-fleet 50000] [--site-runs 20]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from collectors.lab.configs import applicable_rules, cisco_ios_config, fortios_config
from compliance.configparse import parse_config
from compliance.engine import ConfigTexts, evaluate
from compliance.policy import load_policy
from compliance.subjects import DeviceSubject, SiteSubject

TODAY = date(2026, 11, 22)


def fleet(n: int, policy, rng: random.Random):
    classes = ["laptop"] * 40 + ["desktop"] * 30 + ["printer"] * 20 + ["scanner"] * 3 + ["firewall"] * 3 + ["access_switch"] * 4
    oses = [("Windows 11 Pro", "25H2"), ("Windows 11 Pro", "24H2"), ("Windows 10 Pro", "22H2"), ("Windows 7 Professional", "SP1")]
    # A few hundred templates (platform, firewall or not, which rules it breaks), as in a real
    # fleet; each network device renders its own config from one (own hostname, subnet, addresses,
    # secrets), so every config parsed is distinct text.
    templates = []
    for k in range(200):
        platform = "cisco_ios" if k % 2 else "fortinet"
        firewall = k % 4 < 2
        rules = sorted(applicable_rules(platform, is_firewall=firewall))
        chosen = frozenset(rng.sample(rules, rng.randint(0, 3)))
        templates.append((platform, firewall, chosen))
    # Huawei, Juniper, Aruba and Palo Alto devices (a quarter of the demo's network devices) run
    # the golden configurations of their platforms, each device under its own hostname; the lab
    # has no generator for them yet.
    templates += [(platform, firewall, text) for platform, firewall, text in golden_templates()] * 4
    texts = {}
    devices = []
    for i in range(n):
        cls = rng.choice(classes)
        os_name, os_version = rng.choice(oses)
        facts = {}
        if cls in ("laptop", "desktop"):
            facts = {
                "host.cores": str(rng.choice([2, 4, 8])), "host.ram_kb": str(rng.choice([4, 8, 16]) * 1048576),
                "host.disks": json.dumps([["C:", rng.choice([128, 256, 512]) * 1048576]]),
                "host.software": json.dumps([["Bkav Pro", f"2026-11-{rng.randint(1, 21):02d}"], ["Office", "2021-01-01"]]),
            }  # fmt: skip
        devices.append(
            DeviceSubject(
                id=i,
                device_class=cls,
                site_id=i % 53,
                zone=rng.choice(["party_wan", "internet"]),
                status="in_use",
                today=TODAY,
                policy=policy,
                vendor="Dell",
                model="X",
                os_name=os_name if cls in ("laptop", "desktop") else "FortiOS",
                os_version=os_version if cls in ("laptop", "desktop") else "7.4.7",
                country_of_origin=rng.choice(["US", "VN", "CN", "JP", None]),
                purchase_date=date(rng.randint(2014, 2025), 6, 1),
                mgmt_ip=f"10.{i % 53}.1.{i % 250 + 1}",
                zone_subnets=(f"10.{i % 53}.1.0/24",),
                facts=facts,
            )  # fmt: skip
        )
        if cls in ("firewall", "access_switch"):
            platform, firewall, chosen = templates[rng.randrange(len(templates))]
            if isinstance(chosen, GoldenText):
                texts[i] = (chosen.named(f"dev{i}"), platform)
                continue
            render = cisco_ios_config if platform == "cisco_ios" else fortios_config
            subnet = f"10.{i >> 8 & 255}.{i & 255}.0/24"
            texts[i] = (render(f"dev{i}", chosen, is_firewall=firewall, mgmt_subnet=subnet), platform)
    return devices, texts


GOLDEN = Path(__file__).resolve().parents[2] / "tests" / "compliance" / "golden"
GENERATED = ("cisco_ios", "fortinet")


class GoldenText(str):
    """A golden running-config of a platform the lab cannot generate, and its hostname."""

    hostname: str

    def named(self, hostname: str) -> str:
        return self.replace(self.hostname, hostname)


def golden_templates() -> list[tuple[str, bool, GoldenText]]:
    found = []
    for config in sorted(GOLDEN.glob("*/*/running-config.txt")):
        platform = config.parent.parent.name
        if platform in GENERATED:
            continue
        text = GoldenText(config.read_text(encoding="utf-8"))
        text.hostname = parse_config(text, platform).hostname.value or ""
        if not text.hostname or text.count(text.hostname) != 1:
            continue  # a fragment without a name (no device's whole config), or a name used twice
        device_class = json.loads((config.parent / "expected.json").read_text(encoding="utf-8"))["device_class"]
        found.append((platform, device_class == "firewall", text))
    return found


def _cpu_seconds() -> float:
    """User and system CPU time of this process and of its finished (waited-for) children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def outputs_hash(configs: dict, violations: list) -> str:
    """SHA-256 of every parsed config's facts (by device id) and every violation, sorted, so a
    change that must not alter the results can be checked against today's figure."""
    digest = hashlib.sha256()
    for device_id in sorted(configs):
        digest.update(f"{device_id}\t{configs[device_id]!r}\n".encode())
    rows = sorted((v.rule_id, v.severity, v.subject_key, v.expected, v.actual, v.evidence) for v in violations)
    for row in rows:
        digest.update(repr(row).encode() + b"\n")
    return digest.hexdigest()


CORPUS = Path(os.environ.get("KIEMKE_CORPUS", Path(__file__).resolve().parents[2].parent / "shared" / "corpus"))
CORPUS_PLATFORMS = {"ios": "cisco_ios", "fortios": "fortinet"}


def largest_corpus_file() -> None:
    """The largest public configuration of the shared corpus, parsed in-process (best of 5)."""
    files = [f for d in CORPUS_PLATFORMS for f in (CORPUS / d).glob("*") if f.is_file()] if CORPUS.is_dir() else []
    if not files:
        print(f"largest corpus file: skipped (no corpus at {CORPUS}; set KIEMKE_CORPUS)")
        return
    path = max(files, key=lambda f: f.stat().st_size)
    text = path.read_text(encoding="utf-8", errors="replace")
    best = min(_timed(lambda: parse_config(text, CORPUS_PLATFORMS[path.parent.name])) for _ in range(5))
    print(f"largest corpus file: {path.parent.name}/{path.name} ({len(text) // 1024} KB) parsed in {best * 1000:.0f} ms (target < 100 ms)")


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--site-fleet", type=int, default=50_000, help="fleet size for the one-site evaluation (0: skip it)")
    parser.add_argument("--site-runs", type=int, default=20)
    args = parser.parse_args()
    policy = load_policy()
    devices, texts = fleet(args.devices, policy, random.Random(3676))
    assert len(set(text for text, _ in texts.values())) == len(texts), "network configs must be distinct"
    sites = [SiteSubject(s, f"S{s}", {("party_wan", "firewall"): 1, ("internet", "access_switch"): 1}) for s in range(53)]
    cpu_started = _cpu_seconds()
    started = time.perf_counter()
    # Parsing counts: every network device's configuration is parsed in the timed part, by the
    # engine, where the device is evaluated (as load_fleet hands them over: raw texts).
    result = evaluate(devices, sites, policy, ConfigTexts(texts))
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Worker processes forked by `evaluate` count too (their largest; pages they share with this
    # process are counted twice, so the sum is an upper bound).
    workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"fleet: {result.devices} devices ({len(texts)} network configs parsed, {len(result.config_errors)} unreadable), {result.sites} sites")
    print(f"evaluation: {result.checks_run:,} checks, {len(result.violations):,} violations")
    print(f"time: {elapsed:.2f} s (configs parsed inside) = {result.devices / elapsed:,.0f} devices/s")
    # CPU time (this process and its workers): on a machine shared with other work the wall
    # time varies with their load, this much less.
    print(f"cpu: {cpu:.2f} s (this process and its workers); load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB" + (f" + {workers_mb:.0f} MB in a worker process" if workers_mb else ""))
    print("target: 100,000 devices in <= 5 s, peak <= 2048 MB")
    print(f"violations sha256: {outputs_hash({}, result.violations)}")
    # The facts, parsed again outside the timed part, so the figure stays comparable with the
    # earlier runs' (before the engine parsed the configs itself).
    configs = {i: parse_config(text, platform) for i, (text, platform) in texts.items()}
    print(f"facts and violations sha256: {outputs_hash(configs, result.violations)}")
    largest_corpus_file()
    if args.site_fleet:
        site_evaluation(args.site_fleet, 100, args.site_runs, policy, random.Random(3676))


def site_evaluation(total: int, per_site: int, runs: int, policy, rng: random.Random) -> None:
    """Time evaluate_scope on one site of `per_site` devices in a `total`-device fleet (SQLite)."""
    from sqlalchemy import insert

    from compliance.evaluation import evaluate_scope
    from inventory import db
    from inventory.models import ConfigSnapshot, Device, Observation, Province, Site, Subnet, Zone

    subjects, texts = fleet(total, policy, rng)
    now = datetime.now(UTC)
    sites = total // per_site
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        db.upgrade(url)
        engine = db.engine_for(url)
        with engine.begin() as connection:
            connection.execute(insert(Province), [{"id": 1, "code": "BENCH", "name": "Bench"}])
            connection.execute(insert(Site), [{"id": s + 1, "province_id": 1, "code": f"S{s}", "name": f"Site {s}", "kind": "commune", "notes": ""} for s in range(sites)])
            zones = [{"id": 2 * s + k + 1, "site_id": s + 1, "kind": kind} for s in range(sites) for k, kind in enumerate(("party_wan", "internet"))]
            connection.execute(insert(Zone), zones)
            connection.execute(insert(Subnet), [{"zone_id": z["id"], "cidr": f"10.{z['id'] >> 8 & 255}.{z['id'] & 255}.0/24"} for z in zones])
            devices, observations = [], []
            for i, d in enumerate(subjects):
                site = i // per_site
                zone = 2 * site + (1 if d.zone == "party_wan" else 2)
                platform = texts[d.id][1] if d.id in texts else None
                devices.append({
                    "id": i + 1, "device_class": d.device_class, "site_id": site + 1, "zone_id": zone, "mgmt_ip": f"10.{zone >> 8 & 255}.{zone & 255}.{i % per_site + 1}",
                    "vendor": d.vendor, "model": d.model, "serial": f"SN{i}", "os_name": d.os_name, "os_version": d.os_version, "country_of_origin": d.country_of_origin,
                    "purchase_date": d.purchase_date, "status": d.status, "source": "recorded", "platform": platform, "reachable": True, "last_seen": now,
                    "last_polled": now, "notes": "", "created_at": now, "updated_at": now,
                })  # fmt: skip
                observations += [{"device_id": i + 1, "source": "agent", "key": key, "value": value, "observed_at": now} for key, value in d.facts.items()]
            connection.execute(insert(Device), devices)
            connection.execute(insert(Observation), observations)
            connection.execute(insert(ConfigSnapshot), [{"device_id": i + 1, "sha256": "0" * 64, "text": text, "taken_at": now} for i, (text, _) in texts.items()])
        full_started = time.perf_counter()
        full = evaluate_scope(engine, trigger="bench", actor="bench", today=TODAY, policy=policy)
        full_seconds = time.perf_counter() - full_started
        timings = []
        for _ in range(runs):
            site_id = rng.randrange(sites) + 1
            started = time.perf_counter()
            result = evaluate_scope(engine, site_ids=[site_id], trigger="bench", actor="bench", today=TODAY, policy=policy)
            timings.append(time.perf_counter() - started)
            assert result["status"] == "ok" and result["devices"] == per_site, result
        engine.dispose()
    p95 = statistics.quantiles(timings, n=20, method="inclusive")[-1] if len(timings) > 1 else timings[0]
    print(f"site evaluation: one site of {per_site} devices in a {total:,}-device fleet (SQLite; full evaluation with findings and states {full_seconds:.2f} s, {full['opened']:,} findings)")
    print(f"site evaluation time over {runs} runs: p50 {statistics.median(timings) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (target p95 <= 200 ms)")


if __name__ == "__main__":
    main()
