"""Soak: the real `kiemke serve` under 50 concurrent clients and a writer, then hostile uploads.

A KIEMKE_HOME (temporary, or --home to keep and reuse it) with the demo province topped up to
50,000 devices (web_bench's fast bulk load); `kiemke serve` in a child process on a free
loopback port, watched all along: alive or not, its RSS sampled (and VmHWM, the kernel's peak).
1. --seconds of load: --clients signed-in sessions (planners, security officers, viewers; every
   fifth an API client with a bearer token) browse a realistic mix of pages, while a technician
   uploads a small device CSV through the import form in a loop (real writes).
2. A burst of 20 hostile uploads to /transfers/import at once: a 2 KB XLSX whose cells are A1 and
   XFD1048576, a zip bomb (a sheet of 500 MB of zeros), a .xlsx that is not a zip, a CSV with a
   200,000-character cell, a CSV with a 100-digit integer, a CSV with control characters and
   formula-leading cells, a 1 MB XLSX with many cells.
Fails (exit 1) on any 5xx, a server death, or a burst that raises the server's RSS above 1 GB.
A server death is reported, never hidden by a restart.

    .venv/bin/python scripts/bench/soak.py [--devices 50000] [--seconds 60] [--clients 50]
                                           [--threads 8] [--home DIR] [--uploads 20]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from import_bench import make_file
from sqlalchemy import func, select
from sqlmodel import Session
from web_bench import _TOKEN, PASSWORD, Client, build, percentile, wait_for_port

from inventory import db
from inventory.io.columns import APPROVED_COLUMNS, DEVICE_COLUMNS
from inventory.models import Device, Site
from inventory.repository import SORTABLE
from inventory.tokens import issue_token
from inventory.users import add_user, user_by_name

RISE_LIMIT_MB = 1024
TIMEOUT = 180
# (username, role): bench_planner comes with web_bench's build.
USERS = [("soak_officer", "security_officer"), ("soak_viewer", "viewer"), ("soak_tech", "technician"), ("soak_api", "viewer")]
WEB_USERS = ["bench_planner", "soak_officer", "soak_viewer"]


# ------------------------------------------------------------------------------ the home


def prepare_home(home: Path, devices: int, findings: int) -> tuple[str, str]:
    """Build (or reuse) the database and its users; returns (what was done, a fresh API token)."""
    url = f"sqlite:///{home / 'kiemke.sqlite3'}"
    if (home / "kiemke.sqlite3").exists():
        db.upgrade(url)
        done = f"reused {home}"
    else:
        home.mkdir(parents=True, exist_ok=True)
        counts = build(url, devices, findings, random.Random(3676))
        done = f"built in {counts['seconds']:.1f} s"
    engine = db.engine_for(url)
    with Session(engine) as session:
        for username, role in USERS:
            if user_by_name(session, username) is None:
                add_user(session, username, role, PASSWORD, actor="soak")
        token = issue_token(session, user_by_name(session, "soak_api"), actor="soak")  # only its hash is kept: a fresh one
        session.commit()
    engine.dispose()
    return done, token


def inventory_facts(home: Path) -> dict:
    engine = db.engine_for(f"sqlite:///{home / 'kiemke.sqlite3'}")
    with engine.connect() as conn:
        facts = {
            "devices": conn.execute(select(func.count()).select_from(Device)).scalar_one(),
            "max_id": conn.execute(select(func.max(Device.id))).scalar_one(),
            "sites": conn.execute(select(Site.code).order_by(Site.code)).scalars().all(),
        }
    engine.dispose()
    return facts


# ------------------------------------------------------------------------------ the server


def start_server(home: Path, port: int, threads: int, log: Path) -> subprocess.Popen:
    kiemke = Path(sys.executable).parent / "kiemke"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"KIEMKE_HOME": str(home)}
    with log.open("wb") as handle:  # the child keeps its own descriptor
        return subprocess.Popen([str(kiemke), "serve", "--port", str(port), "--threads", str(threads)],
                                env=env, stdout=handle, stderr=subprocess.STDOUT)  # fmt: skip


def _status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found |= {int(c) for c in (task / "children").read_text().split()}
    except OSError:
        pass
    return found


@dataclass
class Monitor:
    """Samples the server's RSS (and any child processes it spawns) until stopped."""

    process: subprocess.Popen
    every: float = 0.02
    samples: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, RSS kB)
    children: dict[int, int] = field(default_factory=dict)  # pid -> peak RSS kB
    died_at: float | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pid = self.process.pid
        tick = 0
        while not self._stop.wait(self.every):
            if self.process.poll() is not None:
                self.died_at = self.died_at or time.monotonic()
                return
            rss = _status_kb(pid, "VmRSS")
            if rss is not None:
                self.samples.append((time.monotonic(), rss))
            tick += 1
            if tick % 5 == 0:
                for child in _children(pid):
                    peak = _status_kb(child, "VmHWM") or 0
                    self.children[child] = max(self.children.get(child, 0), peak)

    def hwm_kb(self) -> int | None:
        return _status_kb(self.process.pid, "VmHWM")

    def reset_hwm(self) -> bool:
        """Restart the kernel's peak-RSS count (clear_refs 5), so VmHWM covers what follows."""
        try:
            Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def peak_since(self, since: float) -> int:
        return max((rss for at, rss in self.samples if at >= since), default=0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# ------------------------------------------------------------------------------ clients


@dataclass
class Record:
    role: str  # "browse", "api", "writer", "upload"
    path: str
    status: int  # 0: no HTTP answer (connection refused/reset, timeout)
    ms: float
    error: str = ""


def fetch(opener, url: str, *, data: bytes | None = None, headers: dict | None = None, timeout: float = TIMEOUT) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read(), ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), ""
    except (OSError, urllib.error.URLError) as exc:  # the server is gone or stuck: no HTTP status
        return 0, b"", f"{type(exc).__name__}: {exc}"


def multipart(fields: dict[str, str], name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")  # fmt: skip
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Uploader(Client):
    """A signed-in technician posting files to the import form (CSRF token from the import page)."""

    def upload(self, kind: str, name: str, content: bytes, role: str = "upload") -> Record:
        status, page, error = fetch(self.opener, self.base + "/transfers/")
        token = _TOKEN.search(page.decode("utf-8", "replace")) if status == 200 else None
        if token is None:
            return Record(role, name, status, 0.0, error or "no CSRF token on the import page")
        body, content_type = multipart({"csrf_token": token.group(1), "kind": kind, "partial": "y"}, name, content)
        started = time.perf_counter()
        status, _page, error = fetch(self.opener, self.base + "/transfers/import", data=body, headers={"Content-Type": content_type})
        return Record(role, f"{name} ({kind})", status, (time.perf_counter() - started) * 1000, error)


def browse_paths(username: str, facts: dict, rng: random.Random) -> str:
    sort = rng.choice(list(SORTABLE))
    desc = rng.choice(["", "&desc=1"])
    site = rng.choice(facts["sites"])
    choices = [
        "/",
        f"/devices/?page={rng.randint(1, 40)}&sort={sort}{desc}",
        f"/devices/?q=BENCH-{rng.choice(['LA', 'DE', 'PR'])}{rng.randint(0, 99):02d}&sort={sort}{desc}",
        f"/devices/?device_class=laptop&site={site}&page={rng.randint(1, 3)}",
        f"/devices/{rng.randint(1, facts['max_id'])}",
        f"/findings/?page={rng.randint(1, 20)}",
        "/sites/",
        f"/sites/{site}",
    ]
    if username in ("bench_planner", "soak_officer"):
        choices.append("/reports/")
    if username == "bench_planner":
        choices.append("/procurement/")
    return rng.choice(choices)


def api_paths(facts: dict, rng: random.Random) -> str:
    return rng.choice([
        f"/api/v1/devices?page={rng.randint(1, 200)}&per_page=50",
        f"/api/v1/devices?page={rng.randint(1, 20)}&per_page=200&sort=hostname",
        f"/api/v1/devices/{rng.randint(1, facts['max_id'])}",
        f"/api/v1/findings?page={rng.randint(1, 50)}",
        "/api/v1/sites",
    ])  # fmt: skip


def writer_csv(facts: dict, round_no: int) -> bytes:
    """20 devices of the technician's own, their notes changed every round (real updates)."""
    out = io.StringIO()
    table = csv.writer(out)
    table.writerow([c.header_vi for c in DEVICE_COLUMNS])
    for n in range(20):
        row = {"site_code": facts["sites"][n % len(facts["sites"])], "zone": "internet", "device_class": "desktop",
               "hostname": f"SOAK-DT{n:03d}", "serial": f"SOAK{n:06d}", "vendor": "Dell", "status": "in_use",
               "notes": f"soak round {round_no}"}  # fmt: skip
        table.writerow([row.get(c.key, "") for c in DEVICE_COLUMNS])
    return out.getvalue().encode("utf-8")


def sign_in_all(base: str, usernames: list[str], make=Client) -> list:
    """Sessions for `usernames`, signed in before any clock starts. One user's sign-ins go one
    after another (the login throttle refuses simultaneous password checks of one user), the
    users' in parallel; a refused sign-in leaves its exception in its place."""
    sessions: list = [None] * len(usernames)

    def one_user(username: str) -> None:
        for n in (n for n, name in enumerate(usernames) if name == username):
            try:
                sessions[n] = make(base, username, PASSWORD)
            except Exception as exc:  # noqa: BLE001 - reported as a failed request
                sessions[n] = exc

    threads = [threading.Thread(target=one_user, args=(name,)) for name in set(usernames)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sessions


def run_load(base: str, token: str, facts: dict, clients: int, seconds: float) -> list[Record]:
    records: list[Record] = []
    lock = threading.Lock()
    web_users = {n: WEB_USERS[n % len(WEB_USERS)] for n in range(clients) if n % 5 != 4}  # every fifth: API
    sessions = dict(zip(web_users, sign_in_all(base, list(web_users.values())), strict=True))
    technician = sign_in_all(base, ["soak_tech"], make=Uploader)[0]
    deadline = time.monotonic() + seconds

    def keep(record: Record) -> None:
        with lock:
            records.append(record)

    def web_client(number: int) -> None:
        rng = random.Random(number)
        client = sessions[number]
        if isinstance(client, Exception):
            return keep(Record("browse", "/login", 0, 0.0, f"{type(client).__name__}: {client}"))
        while time.monotonic() < deadline:
            path = browse_paths(web_users[number], facts, rng)
            started = time.perf_counter()
            status, _body, error = fetch(client.opener, base + path)
            keep(Record("browse", path, status, (time.perf_counter() - started) * 1000, error))

    def api_client(number: int) -> None:
        rng = random.Random(number)
        opener = urllib.request.build_opener()
        while time.monotonic() < deadline:
            path = api_paths(facts, rng)
            started = time.perf_counter()
            status, body, error = fetch(opener, base + path, headers={"Authorization": f"Bearer {token}"})
            if status == 200:
                json.loads(body)  # a broken JSON body would be a failure worth a traceback here
            keep(Record("api", path, status, (time.perf_counter() - started) * 1000, error))

    def writer() -> None:
        if isinstance(technician, Exception):
            return keep(Record("writer", "/login", 0, 0.0, f"{type(technician).__name__}: {technician}"))
        round_no = 0
        while time.monotonic() < deadline:
            round_no += 1
            keep(technician.upload("devices", "soak-writer.csv", writer_csv(facts, round_no), role="writer"))

    workers = [threading.Thread(target=web_client if n in web_users else api_client, args=(n,)) for n in range(clients)]
    workers.append(threading.Thread(target=writer))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return records


# ------------------------------------------------------------------------------ hostile files


def _xlsx(sheet_xml: bytes | None = None, *, sheet_writer=None) -> bytes:
    """A minimal workbook by hand: the five parts Excel needs, sheet1 as given (or streamed)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="devices" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    }  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        if sheet_writer is None:
            archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        else:
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
                sheet_writer(member)
    return out.getvalue()


SHEET_START = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
SHEET_END = b"</sheetData></worksheet>"


def huge_range_xlsx() -> bytes:
    cells = b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return _xlsx(SHEET_START + cells + SHEET_END)


def zip_bomb_xlsx(megabytes: int = 500) -> bytes:
    def write(member) -> None:
        member.write(SHEET_START + b'<row r="1"><c r="A1" t="inlineStr"><is><t>')
        chunk = b"0" * (1 << 20)
        for _ in range(megabytes):
            member.write(chunk)
        member.write(b"</t></is></c></row>" + SHEET_END)

    return _xlsx(sheet_writer=write)


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    table = csv.writer(out)
    table.writerow(header)
    table.writerows(rows)
    return out.getvalue().encode("utf-8")


def hostile_files(workdir: Path, site_codes: list[str]) -> list[tuple[str, str, bytes]]:
    """(import kind, file name, content) for each hostile upload."""
    devices = [c.header_vi for c in DEVICE_COLUMNS]

    def device_row(**values: str) -> list[str]:
        base = {"site_code": site_codes[0], "device_class": "laptop", "hostname": "SOAK-HOSTILE"} | values
        return [base.get(c.key, "") for c in DEVICE_COLUMNS]

    workdir.mkdir(exist_ok=True)
    many_cells = workdir / "many-cells.xlsx"
    if not many_cells.exists():
        make_file(many_cells, 15_000, site_codes)  # about 1 MB: 15,000 rows x 17 cells
    bomb = workdir / "zip-bomb.xlsx"
    if not bomb.exists():
        bomb.write_bytes(zip_bomb_xlsx())
    # New serials every run: the same file sent 3 times at once creates its devices concurrently.
    run = format(time.time_ns() // 1_000_000, "X")
    hostile_text = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\x1b]0;pwned\x07\x1b[2J", "a\x00b\x01c\x7f\x85"]
    return [
        ("devices", "a1-xfd1048576.xlsx", huge_range_xlsx()),
        ("devices", "zip-bomb.xlsx", bomb.read_bytes()),
        ("devices", "not-a-zip.xlsx", b"this is not a zip archive\n" * 40),
        ("devices", "long-cell.csv", csv_bytes(devices, [device_row(hostname="x" * 200_000)])),
        ("approved", "big-integer.csv", csv_bytes([c.header_vi for c in APPROVED_COLUMNS], [[site_codes[0], "laptop", "9" * 100, "soak"]])),
        ("devices", "control-formula.csv", csv_bytes(devices, [device_row(hostname=t, notes=t, serial=f"SOAKX{run}-{n}") for n, t in enumerate(hostile_text)])),
        ("devices", "many-cells.xlsx", many_cells.read_bytes()),
    ]


def run_burst(base: str, files: list[tuple[str, str, bytes]], count: int) -> list[Record]:
    uploaders = sign_in_all(base, ["soak_tech"] * count, make=Uploader)
    records: list[Record | None] = [None] * count
    barrier = threading.Barrier(count)

    def one(n: int) -> None:
        kind, name, content = files[n % len(files)]
        barrier.wait()
        if isinstance(uploaders[n], Exception):
            records[n] = Record("upload", f"{name} ({kind})", 0, 0.0, f"sign-in: {uploaders[n]}")
        else:
            records[n] = uploaders[n].upload(kind, name, content)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for r in records if r is not None]


# ------------------------------------------------------------------------------ main


def describe_exit(code: int) -> str:
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50_000, help="devices in all (demo province included)")
    parser.add_argument("--findings", type=int, help="findings (default: 4 per device)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (every fifth an API client)")
    parser.add_argument("--threads", type=int, default=8, help="`kiemke serve --threads`")
    parser.add_argument("--uploads", type=int, default=20, help="hostile uploads sent at once after the load")
    parser.add_argument("--home", type=Path, help="KIEMKE_HOME to build once and reuse (default: a temporary one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kiemke-soak-") as tmp:
        home = args.home or Path(tmp) / "home"
        started = time.perf_counter()
        done, token = prepare_home(home, args.devices, args.findings if args.findings is not None else 4 * args.devices)
        facts = inventory_facts(home)
        print(f"soak: home {home}: {facts['devices']:,} devices, {len(facts['sites'])} sites ({done}; ready in {time.perf_counter() - started:.1f} s)")
        files = hostile_files(home / "soak-uploads" if args.home else Path(tmp), facts["sites"])

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        log = (home if args.home else Path(tmp)) / "soak-serve.log"
        server = start_server(home, port, args.threads, log)
        monitor = Monitor(server)
        try:
            wait_for_port(port, timeout=60)
            print(f"soak: kiemke serve pid {server.pid} on {base}, {args.threads} threads; {args.clients} clients + 1 writer for {args.seconds:g} s")
            load = run_load(base, token, facts, args.clients, args.seconds)
            load_death = server.poll()

            burst: list[Record] = []
            before_kb = _status_kb(server.pid, "VmRSS") or 0
            load_hwm_kb = monitor.hwm_kb() or 0
            hwm_reset = monitor.reset_hwm()
            burst_started = time.monotonic()
            if load_death is None:
                burst = run_burst(base, files, args.uploads)
                time.sleep(1)  # a death right after the last answer still counts
            burst_peak_kb = max(monitor.peak_since(burst_started), (monitor.hwm_kb() or 0) if hwm_reset else 0)
            death = server.poll()
        finally:
            monitor.stop()
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=30)

        def p95(role: str) -> str:
            values = [r.ms for r in load if r.role == role and r.status == 200]
            return f"{percentile(values, 95):.0f} ms" if values else "n/a"

        everything = load + burst
        server_errors = [r for r in everything if r.status >= 500]
        unanswered = [r for r in everything if r.status == 0]
        peak_kb = max(load_hwm_kb, burst_peak_kb, max((rss for _, rss in monitor.samples), default=0))
        rise_mb = max(0, burst_peak_kb - before_kb) / 1024
        codes = " ".join(f"{r.path.split(' ')[0]}={r.status or 'none'}" for r in burst)
        answered = sum(1 for r in burst if r.status)
        deaths = 0 if death is None else 1
        print(f"soak: requests {len(load)}, 5xx {len(server_errors)}, unanswered {len(unanswered)}, p95 {p95('browse')} (browse), p95 {p95('api')} (api), "
              f"p95 {p95('writer')} (writer), server deaths {deaths}, peak server RSS {peak_kb / 1024:.0f} MB, "
              f"upload burst peak RSS {burst_peak_kb / 1024:.0f} MB (rise {rise_mb:.0f} MB), "
              f"uploads: {answered} of {len(burst)} answered")  # fmt: skip
        by_status: dict[str, int] = {}
        for r in load:
            by_status[f"{r.role} {r.status or 'none'}"] = by_status.get(f"{r.role} {r.status or 'none'}", 0) + 1
        print("soak: load answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items())))
        print(f"soak: uploads: {codes}")
        if monitor.children:
            print(f"soak: child processes of the server: {len(monitor.children)}, largest peak RSS {max(monitor.children.values()) / 1024:.0f} MB")
        else:
            print("soak: child processes of the server: none seen")
        if death is not None:
            phase = "during the load" if load_death is not None else "during the upload burst"
            tail = [line for line in log.read_text(errors="replace").splitlines() if line.strip()][-3:]
            print(f"soak: SERVER DIED {phase} ({describe_exit(death)}); not restarted; last log lines: {' | '.join(tail) or '(none)'}")
        for r in (server_errors + unanswered)[:5]:
            print(f"soak: failed: {r.role} {r.path}: {r.status or 'no answer'} {r.error}")
        if args.home and (server_errors or death is not None):
            print(f"soak: the server's log: {log}")
        failed = bool(server_errors or unanswered) or death is not None or rise_mb > RISE_LIMIT_MB
        print(f"soak: {'FAIL' if failed else 'ok'} (limits: 0 server deaths, 0 responses 5xx, 0 unanswered, burst rise <= {RISE_LIMIT_MB} MB)")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
