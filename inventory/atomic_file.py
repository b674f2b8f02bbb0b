"""Write a file all at once or not at all.

The content goes to a private temporary file beside the target (same directory, so the final
rename is atomic), which is fsynced and renamed over the target only when complete. On any error
- a full disk, a file size limit, an interrupt - the temporary file is removed and the target is
left as it was: a reader never sees half a backup or half an export.
"""

from __future__ import annotations

import errno
import gc
import os
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file size limit reached",
}


class FileWriteError(Exception):
    """A file could not be written; nothing was left behind. The message is one line for the user."""


@contextmanager
def atomic_write(target: Path, what: str) -> Iterator[Path]:
    """Yield a temporary path (0600, same suffix as `target`) to write; on success it becomes
    `target`. `what` names the file in messages ("backup", "export")."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file 0600 whatever the umask; the suffix stays the target's so that
        # writers choosing a format by suffix (.csv, .xlsx) see the same one.
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=f".partial{target.suffix}")
    except OSError as exc:
        raise FileWriteError(_message(exc, what, target)) from None
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        _fsync_file(temporary)
        os.replace(temporary, target)
    except OSError as exc:
        _release_quietly(exc)
        temporary.unlink(missing_ok=True)
        raise FileWriteError(_message(exc, what, target)) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _release_quietly(exc: BaseException | None) -> None:
    """Close now what the failed writer left open. A writer that fails half-way (openpyxl's zip
    archive) keeps its file open; closed later by the garbage collector, it fails again on the
    still-full disk and Python prints that as a traceback on the user's terminal."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _unraisable: None
    try:
        seen: set[int] = set()
        while exc is not None and id(exc) not in seen:  # the error and the ones it happened during
            seen.add(id(exc))
            traceback.clear_frames(exc.__traceback__)
            exc = exc.__context__
        gc.collect()
    finally:
        sys.unraisablehook = hook


def _message(exc: OSError, what: str, target: Path) -> str:
    reason = _REASONS.get(exc.errno) or (exc.strerror or str(exc)).lower()
    return f"{reason} while writing {what} {target}; nothing was written"


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; some file systems cannot fsync a directory, which is fine."""
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
