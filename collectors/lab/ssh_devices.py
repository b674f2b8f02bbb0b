"""The SSH half of the simulated lab: real SSH servers (fakenos) answering as lab devices.

Every ``LabDevice`` with ``ssh`` set and ``behaviour != "dead"`` is served by fakenos on its own
``device.address:device.ssh.port`` (loopback only, port >= 1024), with its own hostname,
credentials, ``show`` outputs and running-config.

How it is built (fakenos 1.2.1):

* Per-host binding: fakenos's ``ParamikoSshServer`` takes ``server.configuration.address`` per
  inventory host, so each host gets ``{"server": {"configuration": {"address": ip}}, "port": p}``.
  fakenos refuses two hosts with the same port even on different addresses, and binds with
  SO_REUSEPORT (a second lab on the same address:port would silently share it). The worker
  therefore uses a FakeNOS subclass that skips the port-only bookkeeping and a server subclass
  that binds without SO_REUSEPORT; ``SshLab`` itself rejects duplicate address:port pairs and
  refuses to start when an address:port already answers.
* Platforms: two small ``Nos`` objects are registered, ``kiemke_cisco_ios`` (prompt ``host>``,
  ``enable`` asks ``Password:`` and checks the enable secret, then ``host#``) and
  ``kiemke_fortinet`` (prompt ``"host # "``). All command outputs are per host
  (``nos.configuration.commands``), built by ``device_commands()``.
* Shell: a ``CMDShell`` subclass adds the enable-password dialogue, output filters
  (``| include``/``| grep``/``| exclude``), ``behaviour == "slow"`` (each non-empty command
  answered after ``SLOW_DELAY`` s) and ``behaviour == "hang"`` (``show running-config`` /
  FortiOS ``show``/``show full-configuration`` never answer: the shell thread sleeps up to
  ``HANG_SECONDS``). fakenos's 100 Hz polling ``TapIO`` is replaced by a condition-variable
  version so many idle sessions cost no CPU.
* Processes: devices are split over ``workers`` processes (``python -m
  collectors.lab.ssh_devices serve <spec.json>``), supervised by ``processes.LabChildren``: own
  process groups, pids in ``<workdir>/ssh_lab.pids``, ``stop()`` from any process. Readiness is checked by connecting to every device and
  reading its ``SSH-2.0-`` banner.

netmiko (4.8) needs, per platform:
  cisco_ios: ``device_type="cisco_ios", host, port, username, password, secret`` and
      ``conn.enable()`` before ``show running-config`` (only allowed at ``#``).
  fortinet:  ``device_type="fortinet"`` plus
      ``disabled_algorithms={"kex": ["diffie-hellman-group-exchange-sha1",
      "diffie-hellman-group-exchange-sha256"]}`` (paramiko's server has no GEX moduli).
  Both: netmiko's default ``fast_cli=True`` works. fakenos echoes input one byte per 10 ms, so a
  session (login, show version, enable, show running-config) takes ~1.5-2 s; run sessions
  concurrently. After a ``ReadTimeout`` on a hung device, drop the transport
  (``conn.paramiko_cleanup()``) rather than ``disconnect()``, which waits ~10 s for a prompt.

Measured on 2 cores: 110 devices (2 workers) answer their banner ~1 s after ``start()``;
collecting all 110 (the session above) took ~10 s with 20 threads (16 s with fast_cli=False),
~7 s with 50 threads.
"""

from __future__ import annotations

import argparse
import collections
import io
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from collectors.lab import configs
from collectors.lab.processes import REPO_ROOT, LabChildren, SupervisedLabPart
from collectors.lab.spec import LabDevice

log = logging.getLogger(__name__)

SLOW_DELAY = 2.0
HANG_SECONDS = 3600.0
PID_FILE = "ssh_lab.pids"
_MODULE = "collectors.lab.ssh_devices"

PASSWORD_PROMPT = "Password: "  # noqa: S105 (a prompt, not a password)
CISCO_HANG = ("show running-config", "show run", "sh run")
FORTI_CONSOLE = "baudrate            : 9600\noutput              : standard\nlogin               : enable\nfortiexplorer       : enable\n"


@dataclass(frozen=True)
class ShellProfile:
    """How one platform's CLI looks to a client: prompts, modes, errors, the logout word.

    Prompts are formatted with ``base_prompt`` (the hostname) and ``user`` (the login).
    ``config_enter`` switches to ``config_prompt`` (PAN-OS ``configure``; ``exit`` leaves it).
    ``enable_prompt`` differs from ``user_prompt`` only where an enable secret is asked for."""

    nos: str
    user_prompt: str
    enable_prompt: str
    unknown: str  # the reply to a command the device does not know
    hang: tuple[str, ...]  # commands a hanging device never answers
    ssh_version: str  # software part of the SSH identification string ("" = generated)
    logout: tuple[str, ...] = ("exit",)
    config_enter: str = ""
    config_prompt: str = ""
    intro: str = ""  # printed after login, before the first prompt
    keyboard_interactive: bool = False


PROFILES: dict[str, ShellProfile] = {
    "cisco_ios": ShellProfile(
        nos="kiemke_cisco_ios", user_prompt="{base_prompt}>", enable_prompt="{base_prompt}#",
        unknown="% Invalid input detected at '^' marker.", hang=CISCO_HANG, ssh_version="Cisco-1.25",
    ),
    "fortinet": ShellProfile(
        nos="kiemke_fortinet", user_prompt="{base_prompt} # ", enable_prompt="{base_prompt} # ",
        unknown="Unknown action 0", hang=("show", "show full-configuration"), ssh_version="",
    ),
    # netmiko's HuaweiSSH takes the prompt between < and > as the base prompt.
    "huawei_vrp": ShellProfile(
        nos="kiemke_huawei_vrp", user_prompt="<{base_prompt}>", enable_prompt="<{base_prompt}>",
        unknown="              ^\nError: Unrecognized command found at '^' position.",
        hang=("display current-configuration",), ssh_version="HUAWEI-1.5", logout=("quit", "exit"),
    ),
    "juniper_junos": ShellProfile(
        nos="kiemke_juniper_junos", user_prompt="{user}@{base_prompt}> ", enable_prompt="{user}@{base_prompt}> ",
        unknown="                  ^\nunknown command.", hang=("show configuration", "show configuration | display set"),
        ssh_version="OpenSSH_7.5", logout=("exit", "quit"),
    ),
    # A manager login lands at "#"; the banner and "any key" prompt are what netmiko's
    # HPProcurveSSH reads for first (without them it waits out two read timeouts, ~4 s).
    "aruba_osswitch": ShellProfile(
        nos="kiemke_aruba_osswitch", user_prompt="{base_prompt}# ", enable_prompt="{base_prompt}# ",
        unknown="Invalid input: ", hang=("show running-config",), ssh_version="Mocana SSH 6.3", logout=("logout", "exit"),
        intro="HPE J9776A 2530-24G Switch\n\n(C) Copyright 2021 Hewlett Packard Enterprise Development LP\n\n"
        "Press any key to continue",
    ),
    # PAN-OS logs in with keyboard-interactive (netmiko's PaloAltoPanosSSH asks for it); its
    # configure mode prints "[edit]" above the "#" prompt, which netmiko checks for.
    "paloalto_panos": ShellProfile(
        nos="kiemke_paloalto_panos", user_prompt="{user}@{base_prompt}> ", enable_prompt="{user}@{base_prompt}> ",
        unknown="Unknown command: \nInvalid syntax.", hang=("show",), ssh_version="PaloAltoNetworks_0.2",
        config_enter="configure", config_prompt="[edit]\n{user}@{base_prompt}# ", keyboard_interactive=True,
    ),
}  # fmt: skip


# --------------------------------------------------------------------------------- host specs


def device_commands(device: LabDevice) -> dict[str, dict]:
    """Per-host command table: {command: {"output": str, "mode": "any" | "privileged" | "config"}}.

    ``privileged`` commands answer only at the cisco ``#`` prompt, ``config`` ones only in PAN-OS
    configure mode (``show`` there prints the configuration in set form).
    """
    ssh = device.ssh
    if ssh is None:
        raise ValueError(f"{device.key} has no ssh access")
    if ssh.platform == "cisco_ios":
        version = configs.cisco_ios_show_version(
            device.hostname,
            device.model,
            device.serial,
            device.os_version,
            mac=(device.interfaces[0].mac if device.interfaces else "00:1a:2b:3c:4d:5e"),
        )
        running = configs.cisco_ios_show_running_config(ssh.running_config)
        cmds = {
            "terminal length 0": ("", False),
            "terminal width 511": ("", False),
            "terminal no monitor": ("", False),
            "show version": (version, False),
            "show inventory": (configs.cisco_ios_show_inventory(device.model, device.serial), False),
            "show running-config": (running, True),
            "show run": (running, True),
            "sh run": (running, True),
            "show clock": ("*09:15:02.123 ICT Mon Mar 24 2025", False),
            "show privilege": ("Current privilege level is 15", True),
        }
        return {k: {"output": o, "mode": "privileged" if p else "any"} for k, (o, p) in cmds.items()}
    if ssh.platform == "fortinet":
        status = configs.fortios_get_system_status(device.hostname, device.model, device.serial, device.os_version)
        cfg = ssh.running_config
        cmds_f = {
            "get system status": status,
            "get system console": FORTI_CONSOLE,
            "show full-configuration system console": "config system console\n    set output standard\nend\n",
            "show system console": "config system console\n    set output standard\nend\n",
            "show": cfg,
            "show full-configuration": cfg,
            "config system console": "",
            "set output standard": "",
            "config global": "",
            "end": "",
        }
        return {k: {"output": o, "mode": "any"} for k, o in cmds_f.items()}
    module = configs.platform_module(ssh.platform)
    mac = device.interfaces[0].mac if device.interfaces else "00:1a:2b:3c:4d:5e"
    outputs = module.command_outputs(device.hostname, device.model, device.serial, device.os_version, ssh.running_config, mac=mac)
    config_only = {"show"} if PROFILES[ssh.platform].config_enter else set()
    return {k: {"output": o, "mode": "config" if k in config_only else "any"} for k, o in outputs.items()}


def host_spec(device: LabDevice) -> dict:
    """JSON-able description of one served device, read by the worker."""
    ssh = device.ssh
    assert ssh is not None
    return {
        "key": device.key,
        "address": device.address,
        "port": ssh.port,
        "platform": ssh.platform,
        "username": ssh.username,
        "password": ssh.password,
        "secret": ssh.secret if ssh.platform == "cisco_ios" else None,
        "hostname": device.hostname,
        "behaviour": device.behaviour,
        "commands": device_commands(device),
    }


def _check_endpoint(device: LabDevice) -> None:
    assert device.ssh is not None
    addr = ipaddress.ip_address(device.address)
    if addr.version != 4 or not addr.is_loopback:
        raise ValueError(f"{device.key}: address {device.address} is not IPv4 loopback")
    if not 1024 <= device.ssh.port <= 65535:
        raise ValueError(f"{device.key}: port {device.ssh.port} must be >= 1024")


# --------------------------------------------------------------------------------- the lab


class LabEndpointBusy(RuntimeError):
    """Something already answers on an address:port the lab was asked to serve."""


class SshLab(SupervisedLabPart):
    """Serve the SSH devices of a lab from background fakenos worker processes."""

    def __init__(
        self,
        devices: list[LabDevice],
        workdir: Path,
        *,
        workers: int | None = None,
        die_with_parent: bool = False,
    ) -> None:
        self.devices = [d for d in devices if d.ssh is not None and d.behaviour != "dead"]
        self.workdir = Path(workdir)
        self.workers = max(1, workers if workers is not None else min(4, os.cpu_count() or 1))
        self.die_with_parent = die_with_parent
        self.children = LabChildren(self.workdir, module=_MODULE, pid_file=PID_FILE)
        seen: dict[tuple[str, int], str] = {}
        for d in self.devices:
            _check_endpoint(d)
            assert d.ssh is not None
            ep = (d.address, d.ssh.port)
            if ep in seen:
                raise ValueError(f"{d.key} and {seen[ep]} share {ep[0]}:{ep[1]}")
            seen[ep] = d.key

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def pid_file(self) -> Path:
        return self.children.pid_file

    def start(self, timeout: float = 60) -> list[int]:
        """Start the workers; return their pids once every device shows its SSH banner."""
        deadline = time.monotonic() + timeout
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stop()  # leftovers of a crashed run in this workdir
        for stale in self.workdir.glob("ssh_worker_*"):
            stale.unlink()
        if not self.devices:
            return []
        busy = [d.key for d in self.devices if _answers(d.address, d.ssh.port)]  # type: ignore[union-attr]
        if busy:
            raise LabEndpointBusy(f"address:port already in use for {busy[:5]} ({len(busy)} devices)")

        shards = [self.devices[i :: self.workers] for i in range(self.workers)]
        shards = [s for s in shards if s]
        pids: list[int] = []
        try:
            for n, shard in enumerate(shards):
                spec_path = self.workdir / f"ssh_worker_{n}.json"
                spec_path.write_text(json.dumps({"hosts": [host_spec(d) for d in shard]}))
                cmd = [sys.executable, "-m", _MODULE, "serve", str(spec_path.resolve())]
                if self.die_with_parent:
                    cmd += ["--parent-pid", str(os.getpid())]
                pids.append(self.children.spawn(cmd, log=self.workdir / f"ssh_worker_{n}.log", cwd=REPO_ROOT))
            self._wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        return pids

    def _wait_ready(self, deadline: float) -> None:
        pending = {d.key: d for d in self.devices}
        with ThreadPoolExecutor(max_workers=16) as pool:
            while pending:
                self.children.check_alive("ssh worker")
                devs = list(pending.values())
                ok = pool.map(lambda d: _ssh_banner(d.address, d.ssh.port), devs)
                for d, ready in zip(devs, ok, strict=True):
                    if ready:
                        pending.pop(d.key)
                if not pending:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{len(pending)} SSH devices not ready, e.g. {sorted(pending)[:5]}")
                time.sleep(0.2)


def _answers(address: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def _ssh_banner(address: str, port: int, timeout: float = 2.0) -> bool:
    """Connect and read the server's identification string."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as s:
            s.settimeout(timeout)
            data = b""
            while b"\n" not in data and len(data) < 512:
                chunk = s.recv(256)
                if not chunk:
                    break
                data += chunk
            ok = data.startswith(b"SSH-2.0-")
            if ok:  # polite close: identify ourselves so the server sees an orderly client exit
                try:
                    s.sendall(b"SSH-2.0-kiemke_probe\r\n")
                except OSError:
                    pass
            return ok
    except OSError:
        return False


# --------------------------------------------------------------------------------- the worker


def _ssh_version(platform: str, hostname: str) -> str:
    """Software part of the SSH identification string, as the real devices announce it."""
    if PROFILES[platform].ssh_version:
        return PROFILES[platform].ssh_version
    # FortiOS announces a random-looking token per device
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    n = zlib.crc32(hostname.encode())
    out = []
    for _ in range(10):
        n, r = divmod(n * 2654435761 + 12345, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


def _worker_main(spec_path: str, parent_pid: int | None) -> None:
    # Heavy imports only in the worker.
    from fakenos import FakeNOS
    from fakenos.core.nos import Nos
    from fakenos.plugins.servers import ssh_server_paramiko as ssp
    from fakenos.plugins.shell.cmd_shell import CMDShell

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    logging.getLogger("fakenos").setLevel(logging.CRITICAL)

    class BlockingTapIO(io.StringIO):
        """fakenos TapIO without the 10 ms busy-wait: FIFO of lines behind a condition."""

        def __init__(self, run_srv: threading.Event, initial_value: str = "", newline: str = "\n"):
            super().__init__(initial_value, newline)
            self.lines: collections.deque[str] = collections.deque()
            self.run_srv = run_srv
            self._cv = threading.Condition()

        def readline(self):  # type: ignore[override]
            with self._cv:
                while self.run_srv.is_set():
                    if self.lines:
                        return self.lines.popleft()
                    self._cv.wait(0.25)
            return None

        def write(self, value: str) -> int:  # type: ignore[override]
            with self._cv:
                self.lines.append(value)
                self._cv.notify_all()
            return len(value)

    ssp.TapIO = BlockingTapIO  # connection_function looks the name up at call time

    # fakenos parses its RSA host key for every host (~45 ms each, most of the start-up time)
    # and uses paramiko's own version string. The module sees paramiko through this proxy:
    # one parsed key for all hosts, and a Transport announcing the device's SSH version.
    import paramiko

    host_key = paramiko.RSAKey(file_obj=io.StringIO(ssp.DEFAULT_SSH_KEY))
    conn_local = threading.local()

    class LabTransport(paramiko.Transport):
        def __init__(self, sock, *args, **kwargs):
            super().__init__(sock, *args, **kwargs)
            version = getattr(conn_local, "ssh_version", None)
            if version:
                self.local_version = "SSH-2.0-" + version

    class ParamikoProxy:
        RSAKey = staticmethod(lambda *a, **k: host_key)  # noqa: ARG005 (paramiko's signature)
        Transport = LabTransport

        def __getattr__(self, name):
            return getattr(paramiko, name)

    ssp.paramiko = ParamikoProxy()

    class LabServerInterface(ssp.ParamikoSshServerInterface):
        """fakenos's interface plus keyboard-interactive login (PAN-OS clients ask for it),
        answered with one password question and checked like the password method."""

        def get_allowed_auths(self, username):  # noqa: ARG002 (paramiko's signature)
            return "password,keyboard-interactive"

        def check_auth_interactive(self, username, submethods):  # noqa: ARG002
            self._interactive_user = username
            return paramiko.InteractiveQuery("", "", ("Password: ", False))

        def check_auth_interactive_response(self, responses):
            user = getattr(self, "_interactive_user", None)
            if user == self.username and len(responses) == 1 and responses[0] == self.password:
                return paramiko.AUTH_SUCCESSFUL
            return paramiko.AUTH_FAILED

    ssp.ParamikoSshServerInterface = LabServerInterface  # connection_function looks it up at call time

    class LabSshServer(ssp.ParamikoSshServer):
        def __init__(self, *args, ssh_version: str = "", **kwargs):
            super().__init__(*args, **kwargs)
            self.ssh_version = ssh_version

        def _bind_sockets(self) -> None:  # no SO_REUSEPORT: a second lab on the port must fail
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True)
            self._socket.settimeout(self.timeout)
            self._socket.bind((self.address, self.port))

        def connection_function(self, client, is_running):  # quiet on probes / dropped clients
            conn_local.ssh_version = self.ssh_version
            try:
                super().connection_function(client, is_running)
            except Exception as exc:  # noqa: BLE001
                log.debug("connection ended: %r", exc)

    class LabShell(CMDShell):
        def __init__(self, *args, delay: float = 0.0, hang_commands=(), enable_secret=None, user_prompt: str = "", enable_prompt: str = "",
                     config_enter: str = "", config_prompt: str = "", logout=(), **kwargs):  # fmt: skip
            super().__init__(*args, **kwargs)
            self.delay = float(delay)
            self.hang_commands = set(hang_commands or ())
            self.enable_secret = enable_secret
            self.user_prompt = user_prompt.format(base_prompt=self.base_prompt)
            self.enable_prompt = enable_prompt.format(base_prompt=self.base_prompt)
            self.config_enter = config_enter
            self.config_prompt = config_prompt.format(base_prompt=self.base_prompt)
            self.logout = set(logout or ())
            self.prompt = self.user_prompt  # per host: the platform's Nos only has a template
            self._awaiting_secret = False

        def _hang(self) -> None:
            end = time.monotonic() + HANG_SECONDS
            while time.monotonic() < end and self.is_running.is_set():
                time.sleep(0.5)

        def onecmd(self, line: str) -> bool:  # type: ignore[override]
            stripped = line.strip()
            if self._awaiting_secret:
                self._awaiting_secret = False
                if stripped == self.enable_secret:
                    self.prompt = self.enable_prompt
                else:
                    self.writeline("% Access denied")
                    self.prompt = self.user_prompt
                return False
            if not stripped:
                return super().onecmd(line)
            if self.delay:
                time.sleep(self.delay)
            base, _, pipe = stripped.partition("|")
            base = base.strip()
            if base in self.hang_commands:
                self._hang()
                return False
            if base == "enable" and self.enable_secret is not None:
                if self.prompt == self.user_prompt:
                    self.prompt = PASSWORD_PROMPT
                    self._awaiting_secret = True
                return False
            if base == "disable" and self.enable_secret is not None:
                if self.prompt == self.enable_prompt:
                    self.prompt = self.user_prompt
                return False
            if self.config_prompt and self.prompt == self.config_prompt and base in ("exit", "quit"):
                self.prompt = self.user_prompt  # leaves configure mode, not the session
                return False
            if self.config_enter and base == self.config_enter and self.prompt == self.user_prompt:
                self.writeline("Entering configuration mode")
                self.prompt = self.config_prompt
                return False
            if base in self.logout:
                return True
            if pipe and stripped not in self.commands:
                return self._filtered(base, pipe.strip())
            return super().onecmd(line)

        def _filtered(self, base: str, pipe: str) -> bool:
            verb, _, pattern = pipe.partition(" ")
            cmd = self.commands.get(base)
            if cmd is None or not self._check_prompt(cmd.get("prompt")) or not isinstance(cmd.get("output"), str):
                return super().onecmd(base)  # let the shell print its error
            pattern = pattern.strip()
            try:
                rx = re.compile(pattern)
                match = rx.search
            except re.error:
                match = lambda s: pattern in s  # noqa: E731
            lines = cmd["output"].splitlines()
            if verb in ("include", "inc", "i", "grep"):
                lines = [ln for ln in lines if match(ln)]
            elif verb in ("exclude", "exc", "e"):
                lines = [ln for ln in lines if not match(ln)]
            else:
                return super().onecmd(base + " | " + pipe)
            if lines:
                self.writeline("\n".join(lines))
            return False

    class LabFakeNOS(FakeNOS):
        def _allocate_port_single(self, port: int) -> None:
            """Ports repeat across loopback addresses; SshLab checks address:port uniqueness."""

    spec = json.loads(Path(spec_path).read_text())
    hosts: dict[str, dict] = {}
    for h in spec["hosts"]:
        profile = PROFILES[h["platform"]]

        def prompt_of(template: str, user: str = h["username"]) -> str:
            return template.replace("{user}", user) if template else ""

        user_prompt, enable_prompt, config_prompt = map(prompt_of, (profile.user_prompt, profile.enable_prompt, profile.config_prompt))
        by_mode = {"any": sorted({user_prompt, enable_prompt}), "privileged": [enable_prompt], "config": [config_prompt]}
        commands: dict[str, dict] = {}
        for name, c in h["commands"].items():
            commands[name] = {"output": c["output"], "prompt": by_mode[c["mode"]], "help": name}
        commands["_default_"] = {"output": profile.unknown, "help": "unknown command"}
        commands["exit"] = {"output": True, "help": "exit"}
        behaviour = h["behaviour"]
        hosts[h["key"]] = {
            "username": h["username"],
            "password": h["password"],
            "port": h["port"],
            "server": {
                "plugin": "ParamikoSshServer",
                "configuration": {
                    "address": h["address"],
                    "timeout": 1,
                    "ssh_banner": "",
                    "ssh_version": _ssh_version(h["platform"], h["hostname"]),
                },
            },
            "shell": {
                "plugin": "CMDShell",
                "configuration": {
                    "base_prompt": h["hostname"],
                    "intro": profile.intro,
                    "delay": SLOW_DELAY if behaviour == "slow" else 0.0,
                    "hang_commands": list(profile.hang) if behaviour == "hang" else [],
                    "enable_secret": h["secret"] if h["platform"] == "cisco_ios" else None,
                    "user_prompt": user_prompt,
                    "enable_prompt": enable_prompt,
                    "config_enter": profile.config_enter,
                    "config_prompt": config_prompt,
                    "logout": list(profile.logout),
                },
            },
            "nos": {"plugin": profile.nos, "configuration": {"commands": commands}},
        }

    # One empty Nos per platform: every host brings its own command table and prompts (LabShell
    # sets the host's own prompt; the Nos one must only be formattable with the hostname).
    plugins = [Nos(name=p.nos, initial_prompt="{base_prompt}>", commands={}) for p in PROFILES.values()]
    net = LabFakeNOS(inventory={"hosts": hosts}, plugins=plugins)
    net.shell_plugins["CMDShell"] = LabShell
    net.servers_plugins["ParamikoSshServer"] = LabSshServer

    def _exit(*_):
        os._exit(0)  # fakenos's own stop() joins every listener with a timeout: far too slow

    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    t0 = time.monotonic()
    net.start()
    print(f"serving {len(hosts)} hosts, started in {time.monotonic() - t0:.2f}s", flush=True)
    while True:
        time.sleep(1.0)
        if parent_pid is not None and os.getppid() != parent_pid:
            os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=_MODULE)
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="worker: serve the hosts of a spec file (internal)")
    serve.add_argument("spec")
    serve.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        _worker_main(args.spec, args.parent_pid)


if __name__ == "__main__":
    main()
