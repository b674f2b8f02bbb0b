"""The fundable plan (compliance.fundable, issue 16): time and peak memory for the demo province
(~4,500 devices, loaded and evaluated as `kiemke demo` does) and for a synthetic province of
50,000 devices (500 sites of 100, with ages, broken units, OS out of support, open findings and
compliance states), both in a SQLite database. Timed: `fundable_from_inventory` from the
database to the answer (queries, the procurement plan, the units and their risk, the integer
program, the frames), with the solver's own share. Targets: demo <= 1 s, 50,000 devices <= 10 s.

    .venv/bin/python scripts/bench/plan_bench.py [--devices 50000] [--skip-demo]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session

from compliance.fundable import fundable_from_inventory
from compliance.policy import load_policy
from inventory import db
from inventory.models import ApprovedQuantity, Device, DeviceCompliance, Finding, Province, Site, Subnet, Zone

TODAY = date(2026, 12, 1)
PER_SITE = 100


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_plan(url: str, policy, label: str, target: float) -> None:
    engine = db.engine_for(url)
    started = time.perf_counter()
    with Session(engine) as session:
        plan = fundable_from_inventory(session, policy, TODAY)
    elapsed = time.perf_counter() - started
    bought = plan.bought.groupby("year")["units"].sum().to_dict()
    print(
        f"{label}: {len(plan.units):,} units to buy, bought per year {bought}, {len(plan.deferred):,} deferred; "
        f"{plan.missed['site_code'].nunique()} sites miss a target; solver {plan.status} within {plan.gap_points:,.1f} points"
    )
    print(f"{label}: objective {plan.objective:,.0f} (lower is better), risk removed {plan.risk_years:,} point-years, {plan.missing_units:,} unit-years short of the targets")
    print(
        f"{label}: fundable plan {elapsed:.2f} s (integer program built and solved {plan.seconds:.2f} s; target <= {target:g} s), peak memory {peak_mb():.0f} MB, load average {os.getloadavg()[0]:.2f}"
    )
    engine.dispose()


def demo_database(directory: Path) -> str:
    from compliance.service import run_check
    from inventory.demo import load_demo

    url = f"sqlite:///{directory / 'demo.sqlite3'}"
    db.upgrade(url)
    engine = db.engine_for(url)
    with Session(engine) as session:
        load_demo(session, actor="bench")
        session.commit()
    run_check(engine, actor="bench", today=TODAY)  # findings and states, as `kiemke demo` leaves them
    engine.dispose()
    return url


def synthetic_database(directory: Path, devices: int, rng: random.Random) -> str:
    """500 sites of 100 devices: endpoints by share, two firewalls and two access switches per site
    (some missing or broken), approved quantities a little above the stock."""
    url = f"sqlite:///{directory / 'synthetic.sqlite3'}"
    db.upgrade(url)
    engine = db.engine_for(url)
    sites = max(1, devices // PER_SITE)
    endpoint_mix = ["laptop"] * 40 + ["desktop"] * 30 + ["printer"] * 20 + ["scanner"] * 3 + ["tablet"] * 3
    oses = [("Windows 11 Pro", "24H2")] * 6 + [("Windows 10 Pro", "22H2")] * 3 + [("Windows 7 Professional", "SP1")]
    now = datetime(2026, 11, 30, tzinfo=UTC)
    rows, findings, states, approved = [], [], [], []
    with engine.begin() as connection:
        connection.execute(insert(Province), [{"id": 1, "code": "BENCH", "name": "Bench"}])
        connection.execute(insert(Site), [{"id": s + 1, "province_id": 1, "code": f"S{s:03d}", "name": f"Xã {s}", "kind": "commune", "notes": ""} for s in range(sites)])
        zones = [{"id": 2 * s + k + 1, "site_id": s + 1, "kind": kind} for s in range(sites) for k, kind in enumerate(("party_wan", "internet"))]
        connection.execute(insert(Zone), zones)
        connection.execute(insert(Subnet), [{"zone_id": z["id"], "cidr": f"10.{z['id'] >> 8 & 255}.{z['id'] & 255}.0/24"} for z in zones])
        device_id = 0
        for s in range(sites):
            classes = [cls for cls in ("firewall", "access_switch") for _ in range(rng.choice((0, 1, 2, 2, 2)))]
            classes += [rng.choice(endpoint_mix) for _ in range(PER_SITE - len(classes))]
            stock: dict[str, int] = {}
            for k, cls in enumerate(classes):
                device_id += 1
                stock[cls] = stock.get(cls, 0) + 1
                zone = 2 * s + (1 if (cls in ("firewall", "access_switch") and k % 2 == 0) or rng.random() < 0.3 else 2)
                os_name, os_version = rng.choice(oses) if cls in ("laptop", "desktop", "tablet") else (None, None)
                rows.append({
                    "id": device_id, "device_class": cls, "site_id": s + 1, "zone_id": zone, "hostname": f"s{s}-d{k}", "os_name": os_name,
                    "os_version": os_version, "purchase_date": date(rng.randint(2016, 2026), rng.randint(1, 12), 1),
                    "status": "broken" if rng.random() < 0.05 else "in_use", "source": "recorded", "notes": "",
                })  # fmt: skip
                if rng.random() < 0.12:
                    findings.append({"rule_id": "ep.os_supported", "subject_key": f"device:{device_id}", "device_id": device_id, "site_id": s + 1,
                                     "severity": rng.choice(("critical", "high", "high")), "status": "open", "first_seen": now, "last_seen": now,
                                     "expected": "", "actual": "", "evidence": ""})  # fmt: skip
                if rng.random() < 0.7:
                    states.append({"device_id": device_id, "state": rng.choice(("compliant", "non_compliant")), "evaluated_at": now, "data_as_of": now,
                                   "failed_rules": 0, "reasons": []})  # fmt: skip
            for cls in ("firewall", "access_switch"):
                approved.append({"site_id": s + 1, "device_class": cls, "quantity": 2, "decision_ref": ""})
            for cls in sorted(set(endpoint_mix)):
                approved.append({"site_id": s + 1, "device_class": cls, "quantity": stock.get(cls, 0) + rng.randint(0, 3), "decision_ref": ""})
        connection.execute(insert(Device), rows)
        connection.execute(insert(Finding), findings)
        connection.execute(insert(DeviceCompliance), states)
        connection.execute(insert(ApprovedQuantity), approved)
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    policy = load_policy()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        if not args.skip_demo:
            timed_plan(demo_database(directory), policy, "demo province", 1.0)
        url = synthetic_database(directory, args.devices, random.Random(3676))
        timed_plan(url, policy, f"synthetic province of {args.devices:,} devices", 10.0)


if __name__ == "__main__":
    main()
