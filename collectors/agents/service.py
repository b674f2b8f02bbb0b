"""Endpoint agents' reports, online and offline: what `POST /inventory` answers and what
`kiemke import-agent` does, over the same parsing and the same storage.

Online: the basic-auth account first (401 with a Basic challenge, which is what makes both
agents send their credentials), then the body, then the report stored in one transaction of its
own and its device handed to a ChangeBatcher (one evaluation for the reports of a few seconds).
Offline: each file in a transaction of its own, so a bad file is reported by name and the others
still go in; the devices touched are evaluated before the command reports done.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import Session

from collectors.agents import messages
from collectors.agents.accounts import authenticate, mark_used
from collectors.agents.records import report_from_json
from collectors.agents.store import AgentRefused, Stored, store_report
from collectors.agents.wire import AgentMessageError
from inventory import audit, db
from inventory.changes import changed
from inventory.io.sandbox import UnreadableFile, run_parser
from inventory.models import AgentAccount, ScanRun, utcnow

log = logging.getLogger("kiemke.agents")

FILE_SUFFIXES = (".ocs", ".xml", ".json")
MAX_FILES = 10_000


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def basic_credentials(authorization: str | None) -> tuple[str | None, str | None]:
    """(user, password) of an `Authorization: Basic ...` header; (None, None) otherwise."""
    if not authorization or authorization[:6].lower() != "basic ":
        return None, None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None, None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else (None, None)


def _unauthorized() -> Reply:
    return Reply(401, b"authentication required\n", "text/plain; charset=utf-8", {"WWW-Authenticate": 'Basic realm="kiemke agents"'})


def answer_post(engine: Engine, body: bytes, *, authorization: str | None, agent_id: str | None, report_stored: Callable[[Stored, str], None],
                in_transaction: Callable[[Session, Stored, str], None] | None = None) -> Reply:  # fmt: skip
    """The answer to one agent POST. `report_stored(stored, account name)` is called after an
    inventory is committed (the caller batches the evaluation); `in_transaction(session, stored,
    account name)` inside the report's own transaction (a collector queues it for the hub there:
    stored and queued, or neither)."""
    user, password = basic_credentials(authorization)
    # One session (one connection, one transaction) for the account and the report: a second
    # would cost a report its own checkout, ping and commit, a fifth of its database round trips.
    with db.session_scope(engine) as session:
        account = authenticate(session, user, password)
        if account is None:
            if user is not None:
                # The name is logged only when it is an account's: a user and password typed the
                # wrong way round would otherwise put the password in the log.
                known = session.execute(select(AgentAccount.name).where(AgentAccount.name == user[:64])).scalar_one_or_none()
                log.warning("agent report refused: %s", f"wrong password, or account disabled ({known})" if known else "unknown account")
            return _unauthorized()
        account_name = account.name
        try:
            message, encoding = messages.read_message(body, agent_id_header=agent_id)
        except AgentMessageError as exc:
            log.warning("agent report from account %s refused: %s", account_name, exc)
            return _reply(messages.error_answer(exc))
        if not isinstance(message, messages.Inventory):
            return _reply(messages.answer_for(message, encoding))
        digest = hashlib.sha256(body).hexdigest()  # the same bytes again: a repeat that changes nothing
        try:
            stored = store_report(session, message.report, account, content_sha256=digest, online=True)
        except AgentRefused as exc:
            session.rollback()  # refused before it wrote anything; nothing of it is kept either way
            log.warning("agent report of machine %r from account %s refused: %s", message.report.deviceid[:80], account_name, exc)
            return _reply(messages.error_answer(AgentMessageError(403, str(exc), encoding=encoding), protocol=message.report.protocol))
        if in_transaction is not None:
            in_transaction(session, stored, account_name)
        mark_used(account)
    if not stored.repeated:
        log.info("agent report of machine %r (account %s): device #%d %s", message.report.deviceid[:80], account_name, stored.device_id, "created" if stored.created else "updated")
    report_stored(stored, account_name)
    return _reply(messages.answer_for(message, encoding))


def _reply(answer: messages.Answer) -> Reply:
    return Reply(answer.status, answer.body, answer.content_type)


# -- offline files ------------------------------------------------------------------------------


class AgentImportError(ValueError):
    """The import as a whole cannot start (unknown or disabled account, no files)."""


@dataclass(frozen=True)
class FileResult:
    name: str
    status: str  # "created", "updated", "unchanged", "failed"
    device_id: int | None = None
    reason: str | None = None


@dataclass
class ImportResult:
    files: list[FileResult] = field(default_factory=list)
    scan_run_id: int | None = None
    evaluation: str | None = None

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> int:
        return self.count("failed")

    def as_dict(self) -> dict:
        return {
            "scan_run": self.scan_run_id, "files": [f.__dict__ for f in self.files], "created": self.count("created"), "updated": self.count("updated"),
            "unchanged": self.count("unchanged"), "failed": self.failed, "evaluation": self.evaluation,
        }  # fmt: skip

    def line(self) -> str:
        text = f"{len(self.files)} files: {self.count('created')} devices created, {self.count('updated')} updated, {self.count('unchanged')} unchanged, {self.failed} failed"
        return text + (f"; {self.evaluation}" if self.evaluation else "")


def agent_files(paths: list[Path]) -> list[Path]:
    """The files named, and the agent files (.ocs, .xml, .json) inside the directories named."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FILE_SUFFIXES))
        else:
            out.append(path)
    if len(out) > MAX_FILES:
        raise AgentImportError(f"{len(out)} files: at most {MAX_FILES} at a time")
    return out


def import_files(engine: Engine, paths: list[Path], *, account: str, actor: str, name_of: Callable[[Path], str] = lambda p: p.name) -> ImportResult:
    """Import inventory files an agent wrote offline, as reported by the agents of `account`."""
    with db.session_scope(engine) as session:
        found = session.execute(select(AgentAccount).where(AgentAccount.name == account)).scalar_one_or_none()
        if found is None:
            raise AgentImportError(f"no agent account named {account!r} (kiemke agents list)")
        if not found.enabled:
            raise AgentImportError(f"agent account {account!r} is disabled")
        account_id, site_id = found.id, found.site_id
    files = agent_files(paths)
    if not files:
        raise AgentImportError("no agent inventory files (.ocs, .xml, .json) found")
    result = ImportResult()
    with db.session_scope(engine) as session:
        run = ScanRun(kind="import-agent", site_id=site_id, triggered_by=actor[:100], params={"account": account, "files": len(files)})
        session.add(run)
        session.flush()
        result.scan_run_id = run.id
    touched: set[int] = set()
    for path, parsed in _parsed_files(files):
        result.files.append(_import_one(engine, parsed, account_id, name_of(path), touched))
    with db.session_scope(engine) as session:
        run = session.get(ScanRun, result.scan_run_id)
        run.finished_at = utcnow()
        run.status = "ok" if not result.failed else ("failed" if result.failed == len(files) else "partial")
        run.summary = {k: v for k, v in result.as_dict().items() if k not in ("files", "scan_run", "evaluation")} | {"devices": len(touched)}
        audit.record(session, actor, "import", "agent_inventory", result.scan_run_id, after=run.summary | {"account": account})
    result.evaluation = changed(engine, device_ids=touched, trigger="import-agent", actor=actor).line()
    return result


# Files parsed by one child process: enough to spread its start-up (~0.1 s) thin, few enough to
# stay well inside its time limit (a 60 KB inventory takes a few milliseconds).
FILES_PER_CHILD = 200
SANDBOX_CHILD = "collectors.agents.sandbox_child"


def _parsed_files(files: list[Path]) -> Iterator[tuple[Path, dict]]:
    """Each file with what the sandboxed parser made of it: {"report", "sha256"} or {"error"}.
    Files go to a child process in groups; a group whose child dies (a file needing more memory or
    time than the limits allow) is parsed again one file per child, so the culprit is the only
    file that fails, with the limit it hit as its reason."""
    for start in range(0, len(files), FILES_PER_CHILD):
        group = files[start : start + FILES_PER_CHILD]
        try:
            yield from zip(group, _parse_in_child(group), strict=True)
        except UnreadableFile:
            for path in group:
                try:
                    yield path, _parse_in_child([path])[0]
                except UnreadableFile as exc:
                    yield path, {"error": str(exc).removeprefix(f"{_LIST_NAME}: ")}


_LIST_NAME = "agent-files.json"


def _parse_in_child(paths: list[Path]) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="kiemke-agent-files-") as directory:
        listing = Path(directory) / _LIST_NAME
        listing.write_text(json.dumps([str(p.resolve()) for p in paths]), encoding="utf-8")
        records = run_parser("agent-files", listing, child=SANDBOX_CHILD)
    if [r.get("file") for r in records] != list(range(len(paths))):
        raise UnreadableFile(f"{_LIST_NAME}: could not be read (the reader's answer does not match its files)")
    return records


def _import_one(engine: Engine, parsed: dict, account_id: int, name: str, touched: set[int]) -> FileResult:
    if "error" in parsed:
        return FileResult(name, "failed", reason=parsed["error"])
    try:
        with db.session_scope(engine) as session:
            account = session.get(AgentAccount, account_id)
            stored = store_report(session, report_from_json(parsed["report"]), account, content_sha256=parsed["sha256"], online=False)
    except AgentRefused as exc:
        return FileResult(name, "failed", reason=str(exc))
    if stored.repeated or not (stored.created or stored.changed):
        return FileResult(name, "unchanged", stored.device_id)
    touched.add(stored.device_id)
    return FileResult(name, "created" if stored.created else "updated", stored.device_id)
