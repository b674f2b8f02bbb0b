"""Import a generated 50,000-row XLSX device file into a fresh database with the demo sites;
print rows/s and peak memory. Target: 50,000 rows in at most 20 s and at most 1 GB peak.

    .venv/bin/python scripts/bench/import_bench.py [--rows 50000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

from inventory import db
from inventory.demo import DATA, demo_sites
from inventory.io.columns import DEVICE_COLUMNS
from inventory.io.importer import import_file
from inventory.models import Province, Site, Subnet, Zone


def make_sites(session) -> list[str]:
    import yaml

    spec = yaml.safe_load((DATA / "dien_bien.yaml").read_text(encoding="utf-8"))
    province = Province(code="BENCH", name="Bench")
    session.add(province)
    session.flush()
    codes = []
    for demo in demo_sites(spec):
        site = Site(province_id=province.id, code=demo.code, name=demo.name, kind=demo.kind)
        session.add(site)
        session.flush()
        for kind in ("party_wan", "internet"):
            zone = Zone(site_id=site.id, kind=kind)
            session.add(zone)
            session.flush()
            session.add(Subnet(zone_id=zone.id, cidr=demo.subnet(kind)))
        codes.append(demo.code)
    return codes


def make_file(path: Path, rows: int, site_codes: list[str]) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("devices")
    sheet.append([c.header_vi for c in DEVICE_COLUMNS])
    classes = ["laptop", "desktop", "printer", "scanner"]
    for n in range(rows):
        site = site_codes[n % len(site_codes)]
        has_ip = n % 3 == 0
        sheet.append([
            site, "internet", classes[n % 4], f"H{n:06d}", f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}" if has_ip else "",
            f"02:aa:{n >> 24 & 255:02x}:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}", "Dell", "OptiPlex 3080",
            f"BENCH{n:07d}", "Windows 11 Pro", "23H2", "US", "2022-03-15", "in_use", "Lò Văn Thắng", "", "",
        ])  # fmt: skip
    workbook.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        db.upgrade(url)
        engine = db.engine_for(url)
        with db.session_scope(engine) as session:
            codes = make_sites(session)
        path = Path(tmp) / "devices.xlsx"
        make_file(path, args.rows, codes)
        print(f"file: {args.rows} rows, {path.stat().st_size / 1e6:.1f} MB")
        for label in ("first import", "re-import (no change)"):
            started = time.perf_counter()
            with db.session_scope(engine) as session:
                report = import_file(session, "devices", path, actor="bench")
            elapsed = time.perf_counter() - started
            assert not report.errors, report.errors[:3]
            print(f"{label}: {report.rows} rows in {elapsed:.2f} s = {report.rows / elapsed:,.0f} rows/s (created {report.created}, updated {report.updated}, unchanged {report.unchanged})")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of the process): {peak_mb:.0f} MB")
    print("target: 50,000 rows in <= 20 s, peak <= 1024 MB")


if __name__ == "__main__":
    main()
