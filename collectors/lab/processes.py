"""The lab's background processes of one kind (snmpsim agents, fakenos SSH workers) in one
workdir: each started in its own session (process group), listed in a pid file, found again
after a crash, and stopped from any process.

    children = LabChildren(workdir, module="collectors.lab.ssh_devices", pid_file="ssh_lab.pids")
    children.spawn([sys.executable, "-m", module, "serve", spec], log=workdir / "worker-0.log")
    children.check_alive("ssh worker")   # raises LabProcessExited with the log's tail
    children.stop()                      # also stops the workers of an earlier, crashed run

A pid counts as ours only while its command line names the module and a path inside this
workdir, so a recycled pid is never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Self

REPO_ROOT = Path(__file__).resolve().parents[2]


class LabProcessExited(RuntimeError):
    """A lab process died while the lab was starting."""


def with_repo_on_path(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a lab child: kiemke importable from wherever it runs."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class LabChildren:
    def __init__(self, workdir: Path, *, module: str, pid_file: str) -> None:
        self.workdir = Path(workdir).resolve()
        self.module = module
        self.pid_file = self.workdir / pid_file
        self.started: list[tuple[subprocess.Popen, Path]] = []  # (process, its log) of this object

    def spawn(self, command: list[str], *, log: Path, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None) -> int:
        """Start `command` in its own session, its output in `log`; returns its pid."""
        with open(log, "wb") as output:
            process = subprocess.Popen(
                command, cwd=cwd, env=with_repo_on_path(env), stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.started.append((process, log))
        with open(self.pid_file, "a", encoding="utf-8") as pids:
            pids.write(f"{process.pid}\n")
        return process.pid

    def check_alive(self, label: str) -> None:
        """Raise if a process this object started has exited (it was meant to keep serving)."""
        for process, log in self.started:
            if process.poll() is not None:
                raise LabProcessExited(f"{label} {process.pid} exited with {process.returncode}:\n{log_tail(log)}")

    def _ours(self, pid: int) -> bool:
        """A live (not zombie) process whose command line names our module and workdir."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state in ("Z", "X"):
            return False
        args = [a.decode(errors="replace") for a in cmdline]
        inside = str(self.workdir) + os.sep
        return self.module in args and any(a.split("=", 1)[-1].startswith(inside) for a in args)  # path or --opt=path

    def _recorded(self) -> list[int]:
        try:
            return [int(x) for x in self.pid_file.read_text().split() if x.isdigit()]
        except FileNotFoundError:
            return []

    def pids(self) -> list[int]:
        """Live processes: those in the pid file (any earlier run) and those this object started."""
        candidates = set(self._recorded()) | {p.pid for p, _ in self.started if p.poll() is None}
        return sorted(pid for pid in candidates if self._ours(pid))

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM every process group, SIGKILL what is left after `grace` seconds."""
        targets = self.pids()
        self._signal(targets, signal.SIGTERM)
        end = time.monotonic() + grace
        for process, _ in self.started:
            try:
                process.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        while time.monotonic() < end and any(self._ours(pid) for pid in targets):
            time.sleep(0.05)
        self._signal([pid for pid in targets if self._ours(pid)], signal.SIGKILL)
        for process, _ in self.started:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.started = []
        self.pid_file.unlink(missing_ok=True)

    @staticmethod
    def _signal(pids: list[int], signum: int) -> None:
        for pid in pids:
            try:
                os.killpg(pid, signum)  # own session: the group id is the pid
            except ProcessLookupError:
                pass


class SupervisedLabPart:
    """What every lab part (SNMP agents, SSH devices) offers over its `children`; a part adds
    `start()`, which returns once every device it serves answers."""

    children: LabChildren

    def start(self, timeout: float = 60) -> list[int]:
        raise NotImplementedError

    def pids(self) -> list[int]:
        """Live processes: those recorded in the workdir plus those this object started."""
        return self.children.pids()

    def is_running(self) -> bool:
        return bool(self.pids())

    def stop(self, grace: float = 5.0) -> None:
        """Stop every process of this workdir (also those of a crashed earlier run)."""
        self.children.stop(grace)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
