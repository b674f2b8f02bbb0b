"""Who runs a scan run, and the runs whose process died before it could finish them.

A run is committed as `running` before any device is contacted and finished in one later
transaction; a process killed in between (kill -9, power cut, OOM killer) leaves the row
`running` forever. Each run records its owner in `params["owner"]`: host name, pid and the
process's start time (from /proc/<pid>/stat), so a pid the kernel has since given to another
process is not taken for the owner. `mark_interrupted` turns the `running` runs of this host
whose owner is gone into `interrupted`. Runs of a live process, of another host, or recorded
before owners were (no owner) are never touched.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from sqlalchemy import select, update
from sqlmodel import Session

from inventory.models import ScanRun, utcnow

INTERRUPTED = "interrupted"


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or
    None when it does not exist or has exited (a zombie is as good as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    fields = stat[stat.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def current_owner() -> dict:
    """This process as the owner of a run (stored in the run's params)."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": process_start_time(pid)}


def owner_is_gone(owner: object) -> bool:
    """True only when `owner` is a process of this host that no longer runs."""
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return False
    pid, started = owner.get("pid"), owner.get("started")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if not Path("/proc/self/stat").exists():
        return False  # no /proc to ask: never guess that a run's process is gone
    now_started = process_start_time(pid)
    return now_started is None or (isinstance(started, int) and now_started != started)


def mark_interrupted(session: Session) -> list[int]:
    """Mark this host's `running` runs whose process is gone as `interrupted`; their ids."""
    marked = []
    for run_id, params in session.execute(select(ScanRun.id, ScanRun.params).where(ScanRun.status == "running")).all():
        owner = (params or {}).get("owner")
        if not owner_is_gone(owner):
            continue
        # Only while still `running`: an owner that finished the run just before exiting keeps its status.
        changed = session.execute(
            update(ScanRun).where(ScanRun.id == run_id, ScanRun.status == "running")
            .values(status=INTERRUPTED, finished_at=utcnow(), error=f"interrupted: the process running it stopped (pid {owner['pid']})")
        )  # fmt: skip
        if changed.rowcount:
            marked.append(run_id)
    return marked
