"""Uploaded import files held on the server between their preview and the user's confirmation.

Each upload is kept in its own 0700 directory named by a random token, as a 0600 file under the
user's (sanitised) file name, beside a 0600 note of who uploaded it, what kind of data it is and
whether to import partially. The confirmation names only the token: the file applied is the one
previewed, never a copy the browser sends back. A held file expires after HOLD_SECONDS; expired
ones are swept whenever another is held. A confirmation takes the file (`take`: an atomic
rename), so a token is used once even when two requests bring it at the same moment. The directory lives in kiemke's home (KIEMKE_HOME), so
every worker process of the server sees the same held files.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

HOLD_SECONDS = 30 * 60
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_NOTE = "upload.json"


@dataclass(frozen=True)
class HeldUpload:
    token: str
    path: Path  # the file, under the name the user gave it (sanitised)
    kind: str
    partial: bool
    user: str


def _area(home: Path) -> Path:
    area = home / "import-previews"
    area.mkdir(mode=0o700, parents=True, exist_ok=True)
    if area.is_symlink() or not area.is_dir():
        raise OSError(f"{area} is not a directory")
    area.chmod(0o700)
    return area


def _write_private(path: Path, data: bytes) -> None:
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600), "wb") as handle:
        handle.write(data)


def hold(home: Path, stream: BinaryIO, name: str, *, kind: str, partial: bool, user: str) -> HeldUpload:
    """Keep an uploaded file until it is confirmed, released or expired; `name` is already safe."""
    area = _area(home)
    sweep(area)
    token = secrets.token_urlsafe(32)
    folder = area / token
    folder.mkdir(mode=0o700)
    try:
        path = folder / name
        _write_private(path, stream.read())
        _write_private(folder / _NOTE, json.dumps({"kind": kind, "partial": partial, "user": user, "name": name}).encode())
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return HeldUpload(token, path, kind, partial, user)


def held(home: Path, token: str, user: str) -> HeldUpload | None:
    """The upload `token` names if `user` made it and it has not expired; None otherwise."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    folder = _area(home) / token
    try:
        note = json.loads((folder / _NOTE).read_text(encoding="utf-8"))
        age = time.time() - (folder / _NOTE).stat().st_mtime
    except (OSError, ValueError):
        return None
    if age > HOLD_SECONDS or note.get("user") != user:
        return None
    path = folder / str(note.get("name", ""))
    if path.parent != folder or not path.is_file():
        return None
    return HeldUpload(token, path, str(note["kind"]), bool(note["partial"]), user)


def take(home: Path, token: str, user: str) -> HeldUpload | None:
    """The upload `token` names, taken out of the held ones so that no second request (a double
    click) can apply it too: the rename succeeds for one request only. None as for `held`."""
    found = held(home, token, user)
    if found is None:
        return None
    folder = found.path.parent
    taken = folder.with_name(f"{token}.taken")
    try:
        folder.rename(taken)
    except OSError:
        return None  # another request took it first
    os.utime(taken)  # the sweep gives the import its own HOLD_SECONDS from now
    return HeldUpload(token, taken / found.path.name, found.kind, found.partial, user)


def release(upload: HeldUpload) -> None:
    shutil.rmtree(upload.path.parent, ignore_errors=True)


def sweep(area: Path, now: float | None = None) -> None:
    """Remove the held uploads older than HOLD_SECONDS."""
    now = time.time() if now is None else now
    for folder in area.iterdir():
        try:
            if folder.is_dir() and not folder.is_symlink() and now - folder.stat().st_mtime > HOLD_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
