"""Agent inventory files as a job (KIEMKE_JOBS=workers on PostgreSQL): uploaded on the import page
or named to `kiemke import-agent`, imported by `kiemke worker`.

- `queue_agent_files` (whoever received them): refuses what the importer would refuse before
  reading a file (an unknown or disabled account, no agent file, too many), copies the files into
  KIEMKE_HOME/incoming/<batch>/ (directory 0700, files 0600, names of our own: a number and the
  suffix) and enqueues one `ingest_agent_files` job naming them. The workers must reach that
  directory under the same path (KIEMKE_HOME on shared storage, or the workers on this machine).
- `ingest_agent_files` (the job) imports them as `kiemke import-agent` does, as reported by the
  account's agents (one scan run "import-agent", each file's outcome under the name it was
  uploaded with), then deletes the batch. A job that fails keeps its files for its retry or for
  an admin to read.

The live agent endpoint (POST /inventory) is not this: the agent protocol answers after storing,
so a report is stored in its request; only its evaluation goes to the workers
(collectors.work.evaluations).
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from collectors.agents.service import AgentImportError, agent_files
from collectors.work.queue import INGEST_QUEUE, defer_in_transaction
from inventory import db
from inventory.models import AgentAccount

INGEST_TASK = "ingest_agent_files"
INCOMING = "incoming"


@dataclass(frozen=True)
class QueuedFiles:
    job_id: int
    files: int


def incoming_dir(home: Path) -> Path:
    return home / INCOMING


def queue_agent_files(engine: Engine, home: Path, paths: list[Path], *, account: str, actor: str, name_of=lambda p: p.name) -> QueuedFiles:
    """Copy the files where the workers read them and enqueue their import; AgentImportError for
    what the importer would refuse outright."""
    with db.session_scope(engine) as session:
        found = session.execute(select(AgentAccount.enabled).where(AgentAccount.name == account)).scalar_one_or_none()
    if found is None:
        raise AgentImportError(f"no agent account named {account!r} (kiemke agents list)")
    if not found:
        raise AgentImportError(f"agent account {account!r} is disabled")
    files = agent_files(paths)
    if not files:
        raise AgentImportError("no agent inventory files (.ocs, .xml, .json) found")
    incoming_dir(home).mkdir(mode=0o700, parents=True, exist_ok=True)
    batch = incoming_dir(home) / secrets.token_hex(8)
    batch.mkdir(mode=0o700)
    try:
        copies, names = [], []
        for number, path in enumerate(files):
            copy = batch / f"{number:04d}{path.suffix.lower()}"
            with path.open("rb") as source, os.fdopen(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as target:
                shutil.copyfileobj(source, target)
            copies.append(str(copy.resolve()))
            names.append(name_of(path))
        with db.session_scope(engine) as session:
            job_id = defer_in_transaction(session, INGEST_TASK, {"paths": copies, "account": account, "actor": actor[:100], "names": names}, queue=INGEST_QUEUE)
    except BaseException:
        shutil.rmtree(batch, ignore_errors=True)  # no job: nobody would read them
        raise
    return QueuedFiles(job_id, len(copies))


def ingest(engine: Engine, home: Path, paths: list[str], *, account: str, actor: str, names: list[str] | None = None) -> dict:
    """The job: import the files, then delete the batch they were copied into (only under
    KIEMKE_HOME/incoming: files named anywhere else are the caller's)."""
    from collectors.agents.service import import_files

    shown = dict(zip(paths, names or [], strict=False))
    result = import_files(engine, [Path(p) for p in paths], account=account, actor=actor, name_of=lambda p: shown.get(str(p), p.name))
    incoming = incoming_dir(home).resolve()
    for batch in {Path(p).resolve().parent for p in paths}:
        if batch.parent == incoming:
            shutil.rmtree(batch, ignore_errors=True)
    return result.as_dict()
