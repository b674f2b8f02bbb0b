"""Serve the lab's devices as real SNMP agents with snmpsim (patched for pysnmp 7).

    lab = SnmpLab(devices, workdir)
    pids = lab.start(timeout=60)   # returns once every snmpsim process answers a real query
    ...
    lab.stop()                     # also works from another process after a crash

Each device with `snmp` set and behaviour != "dead" gets its own SNMP engine (own engine ID,
own USM user, own community) bound to `device.address:device.snmp.port` (UDP, loopback only,
port >= 1024), serving `render_snmprec(device)`.  It answers SNMPv2c with its community and
SNMPv3 authPriv (SHA + AES-128) with its user/keys and the empty context; a wrong community is
silently dropped (timeout), a wrong v3 key gets the usual USM report (wrongDigest / decryption
error) and no data.

Behaviour: "slow" -> every response is sent `slow_delay` seconds late (default 1.5 s,
non-blocking, see snmpsim_patch); "hang" -> the agent is bound but never answers a request
(v3 engine discovery still works); "dead" (or `snmp is None`) -> no agent at all.

Processes: the engines are spread round-robin over a few snmpsim processes
(`processes=None` -> 1 for <= 40 agents, else min(cpu count, 4, ceil(n / 40))).  Each runs in
its own session/process group; pids go to `<workdir>/snmpsim.pids` and `stop()` signals the
groups listed there (see processes.LabChildren: no recycled-pid accidents).

Workdir layout: data/<n>/<community>.snmprec (one data dir per engine; snmpsim derives the
community from the file name), cache/ (snmpsim's dbm indices), snmpsim-<p>.json (launcher
config), variation/ (empty: no variation modules loaded), snmpsim-<p>.log (stdout/stderr of process p), snmpsim.pids.

Restrictions (validated, ValueError): address in 127.0.0.0/8; port >= 1024; unique
address:port; community non-empty, not "index"/"self", no "/", "=", NUL, not starting with
"."; v3 user non-empty and auth/priv keys >= 8 characters, none containing "=".
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import math
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

from collectors.lab.processes import LabChildren, SupervisedLabPart
from collectors.lab.snmprec import render_snmprec
from collectors.lab.spec import LabDevice

LAUNCHER = "collectors.lab.snmpsim_run"
PIDS_FILE = "snmpsim.pids"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
ENGINE_ID_PREFIX = bytes.fromhex("80001f8805")  # enterprise 8072 (net-snmp), format: octets
SLOW_SNMP_DELAY = 1.5  # seconds a "slow" agent holds each response


def engine_id(device: LabDevice) -> bytes:
    """The SNMPv3 engine ID the lab gives `device` (stable across runs)."""
    return ENGINE_ID_PREFIX + hashlib.sha1(device.key.encode()).digest()[:12]  # noqa: S324


def _validate(devices: list[LabDevice]) -> None:
    seen: dict[tuple[str, int], str] = {}
    for d in devices:
        s = d.snmp
        assert s is not None
        if ipaddress.ip_address(d.address) not in ipaddress.ip_network("127.0.0.0/8"):
            raise ValueError(f"{d.key}: SNMP lab address {d.address} is not loopback")
        if not 1024 <= s.port <= 65535:
            raise ValueError(f"{d.key}: SNMP port {s.port} must be 1024..65535")
        ep = (d.address, s.port)
        if ep in seen:
            raise ValueError(f"{d.key}: {d.address}:{s.port} already used by {seen[ep]}")
        seen[ep] = d.key
        c = s.community
        if not c or c in ("index", "self") or c.startswith(".") or any(ch in c for ch in "/=\0") or len(c.encode()) > 200:
            raise ValueError(f"{d.key}: community {c!r} cannot be served by snmpsim")
        if not s.v3_user or "=" in s.v3_user:
            raise ValueError(f"{d.key}: bad SNMPv3 user {s.v3_user!r}")
        for k in (s.v3_auth_key, s.v3_priv_key):
            if len(k) < 8 or "=" in k:
                raise ValueError(f"{d.key}: SNMPv3 keys need >= 8 characters and no '='")


class SnmpLab(SupervisedLabPart):
    def __init__(
        self,
        devices: list[LabDevice],
        workdir: Path,
        *,
        processes: int | None = None,
        slow_delay: float = SLOW_SNMP_DELAY,
        log_level: str = "error",
        python: str | None = None,
    ) -> None:
        self.devices = list(devices)
        self.workdir = Path(workdir).resolve()
        self.served = [d for d in self.devices if d.snmp is not None and d.behaviour != "dead"]
        _validate(self.served)
        self.slow_delay = slow_delay
        self.log_level = log_level
        self.python = python or sys.executable
        n = len(self.served)
        if processes is None:
            processes = 1 if n <= 40 else min(os.cpu_count() or 1, 4, math.ceil(n / 40))
        self.n_processes = max(1, min(processes, n)) if n else 0
        self.children = LabChildren(self.workdir, module=LAUNCHER, pid_file=PIDS_FILE)
        self.start_seconds: float | None = None

    # ---------------------------------------------------------------- layout
    def _groups(self) -> list[list[LabDevice]]:
        order = {"normal": 0, "slow": 1, "hang": 2}
        ordered = sorted(self.served, key=lambda d: order.get(d.behaviour, 0))
        groups: list[list[LabDevice]] = [[] for _ in range(self.n_processes)]
        for i, d in enumerate(ordered):
            groups[i % self.n_processes].append(d)
        return groups

    def _write(self) -> list[Path]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for sub in ("data", "cache"):
            shutil.rmtree(self.workdir / sub, ignore_errors=True)
        (self.workdir / "cache").mkdir()
        (self.workdir / "variation").mkdir(exist_ok=True)  # no variation modules needed
        configs = []
        n = 0
        for p, group in enumerate(self._groups()):
            args: list[str] = []
            behaviour: dict[str, list] = {}
            for d in group:
                s = d.snmp
                assert s is not None
                n += 1
                data_dir = self.workdir / "data" / str(n)
                data_dir.mkdir(parents=True)
                (data_dir / f"{s.community}.snmprec").write_text(render_snmprec(d), encoding="ascii")
                eid = engine_id(d).hex()
                args += [
                    "--v3-engine-id", eid,
                    "--data-dir", str(data_dir),
                    # Keys as --opt=value: a key starting with "-" would otherwise read as an option.
                    f"--v3-user={s.v3_user}",
                    f"--v3-auth-key={s.v3_auth_key}",
                    "--v3-auth-proto", "SHA",
                    f"--v3-priv-key={s.v3_priv_key}",
                    "--v3-priv-proto", "AES",
                    "--agent-udpv4-endpoint", f"{d.address}:{s.port}",
                ]  # fmt: skip
                if d.behaviour == "slow":
                    behaviour[eid] = ["slow", self.slow_delay]
                elif d.behaviour == "hang":
                    behaviour[eid] = ["hang", 0]
            cfg = self.workdir / f"snmpsim-{p}.json"
            cfg.write_text(json.dumps({"args": args, "behaviour": behaviour}, indent=1))
            configs.append(cfg)
        return configs

    # ---------------------------------------------------------------- control
    def start(self, timeout: float = 60) -> list[int]:
        """Start the agents; return once each process answers an SNMP get. Returns pids."""
        t0 = time.monotonic()
        self.stop()  # leftovers of an earlier run in this workdir
        if not self.served:
            self.start_seconds = 0.0
            return []
        self._check_ports_free()
        configs = self._write()
        # SNMPSIM_ALLOW_ROOT: see snmpsim_patch, stay root, no drop to nobody.
        env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true", "PYTHONDONTWRITEBYTECODE": "1"}
        pids = []
        for p, cfg in enumerate(configs):
            cmd = [
                self.python, "-m", LAUNCHER,
                "--lab-config", str(cfg),
                f"--cache-dir={self.workdir / 'cache'}",
                f"--variation-modules-dir={self.workdir / 'variation'}",
                "--logging-method=stderr",
                f"--log-level={self.log_level}",
                "--reporting-method=null",
            ]  # fmt: skip
            pids.append(self.children.spawn(cmd, log=self.workdir / f"snmpsim-{p}.log", cwd=self.workdir, env=env))
        try:
            self._wait_ready(t0 + timeout)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return pids

    def _check_ports_free(self) -> None:
        """Fail early if an endpoint is taken (else a readiness probe could hit someone else)."""
        for d in self.served:
            assert d.snmp is not None
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                try:
                    sock.bind((d.address, d.snmp.port))
                except OSError as exc:
                    raise OSError(f"{d.key}: UDP {d.address}:{d.snmp.port} is already in use: {exc}") from exc

    def _probe_devices(self) -> list[tuple[int, LabDevice | None]]:
        out = []
        for p, group in enumerate(self._groups()):
            cand = [d for d in group if d.behaviour == "normal"] or [d for d in group if d.behaviour == "slow"]
            out.append((p, cand[-1] if cand else None))
        return out

    def _wait_ready(self, deadline: float) -> None:
        probes = self._probe_devices()

        async def one(p: int, d: LabDevice | None) -> None:
            from pysnmp.hlapi.v3arch.asyncio import (
                CommunityData,
                ContextData,
                ObjectIdentity,
                ObjectType,
                SnmpEngine,
                UdpTransportTarget,
                get_cmd,
            )

            pid = self.children.started[p][0].pid
            if d is None:  # only "hang" agents in this process: wait for its listen log
                logf = self.workdir / f"snmpsim-{p}.log"
                while time.monotonic() < deadline:
                    self.children.check_alive("snmpsim process")
                    if b"Listening at UDP/IPv4" in logf.read_bytes():
                        await asyncio.sleep(1.0)
                        return
                    await asyncio.sleep(0.2)
                raise TimeoutError(f"snmpsim process {pid} not ready")
            assert d.snmp is not None
            wait = 0.5 + (self.slow_delay if d.behaviour == "slow" else 0)
            engine = SnmpEngine()
            try:
                target = await UdpTransportTarget.create((d.address, d.snmp.port), timeout=wait, retries=0)
                while True:
                    self.children.check_alive("snmpsim process")
                    err, status, _idx, binds = await get_cmd(
                        engine,
                        CommunityData(d.snmp.community, mpModel=1),  # noqa: S508 (the lab serves v2c on purpose)
                        target,
                        ContextData(),
                        ObjectType(ObjectIdentity(SYS_NAME)),
                        lookupMib=False,
                    )
                    if not err and not status and binds:
                        return
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"snmpsim process {pid} ({d.address}:{d.snmp.port}) not answering: {err or status}; see {self.workdir}/snmpsim-{p}.log")
                    await asyncio.sleep(0.1)
            finally:
                engine.close_dispatcher()

        async def all_ready() -> None:
            await asyncio.gather(*(one(p, d) for p, d in probes))

        _run_async(all_ready())


def _run_async(coro) -> None:
    """asyncio.run, also when called from inside a running event loop (runs in a thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    box: list[BaseException] = []

    def runner() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001
            box.append(exc)

    t = threading.Thread(target=runner)
    t.start()
    t.join()
    if box:
        raise box[0]
