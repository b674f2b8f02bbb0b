"""Run the parser of an untrusted file in a child process with memory and time limits.

A hostile file must not take kiemke down with it: a 2 KB XLSX with cells A1 and XFD1048576 makes
the native XLSX reader ask for ~512 GiB and abort the whole process. So a parser runs in
`python -m inventory.io.sandbox_child` (a fresh interpreter, never a fork: the web server is
multi-threaded), which limits its own address space and CPU time before it imports anything,
and prints its records as JSON lines; here they are read back with a bound on their size and on
the wall-clock time. Every way the child can fail becomes one UnreadableFile with a one-line
message that names the file.

    run_parser("csv-table", path)       -> list of the parser's records (sandbox_child.PARSERS)
    load_json_limited(path, max_bytes)  -> the decoded JSON document
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from inventory.io.sandbox_child import UnreadableFile

__all__ = ["MEMORY_LIMIT", "TIME_LIMIT", "MAX_OUTPUT", "UnreadableFile", "run_parser", "load_json_limited"]

# A 50,000-row device workbook is read in well under 200 MiB; 1 GiB leaves room for files far
# larger than any real inventory while keeping a hostile one from exhausting the server.
MEMORY_LIMIT = 1024**3
# Seconds of CPU (and of wall-clock time) a parser may use: the 50,000-row workbook takes ~2 s.
TIME_LIMIT = 60
# Bytes of JSON lines the parent accepts from the child: it holds all records in memory.
MAX_OUTPUT = 256 * 1024**2
# The child's error output is only kept to recognise an allocation failure; the rest is dropped.
_STDERR_KEPT = 8192
# The module run as the child; another layer may pass its own (see sandbox_child.serve).
CHILD = "inventory.io.sandbox_child"
# Where the package lives: the child is started there so that `-m inventory...` finds it.
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def _size(limit: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if limit % scale == 0:
            return f"{limit // scale} {unit}"
    return f"{limit:,} bytes"


def _exited(returncode: int, stderr: bytes, timed_out: bool, name: str, memory: int, seconds: int) -> UnreadableFile:
    """The one-line error for a child that ended without its closing line."""
    if timed_out or returncode == -signal.SIGXCPU:
        return UnreadableFile(f"{name}: could not be read: it took longer than {seconds} s")
    # Rust aborts with "memory allocation of N bytes failed"; C code reports "out of memory";
    # SIGKILL that we did not send is the kernel's out-of-memory killer.
    out_of_memory = b"memory allocation of" in stderr or b"out of memory" in stderr.lower() or b"MemoryError" in stderr
    if out_of_memory or returncode == -signal.SIGKILL:
        return UnreadableFile(f"{name}: could not be read: it needs more than {_size(memory)} of memory")
    if returncode < 0:
        return UnreadableFile(f"{name}: could not be read: the reader crashed (signal {-returncode})")
    return UnreadableFile(f"{name}: could not be read: the reader stopped unexpectedly (exit status {returncode})")


def _take(lines: bytes, records: list[Any], ending: bytes | None) -> bytes | None:
    """Add the batches among `lines` to `records`; return the closing line once it came."""
    for line in lines.split(b"\n"):
        if line[:1] == b"B" and ending is None:
            records.extend(json.loads(line[1:]))
        else:
            ending = ending or line
    return ending


def _child_environment() -> dict[str, str]:
    """Only what the child needs: not this process's environment, which may hold the database
    URL or keys. The child skips `site` (-S: a third of a second of start-up on a busy machine),
    so it is handed this process's import path instead, found without the .pth hooks."""
    paths = [entry for entry in sys.path if entry and os.path.isdir(entry)]
    return {"PYTHONPATH": os.pathsep.join([str(_SOURCE_ROOT), *paths]), "PYTHONNOUSERSITE": "1", "PYTHONIOENCODING": "utf-8", "LC_ALL": "C.UTF-8"}


def run_parser(parser: str, path: Path, *, child: str = CHILD, memory: int = MEMORY_LIMIT, seconds: int = TIME_LIMIT, max_output: int = MAX_OUTPUT) -> list[Any]:
    """Run `parser` (a name in the loaders table of the `child` module, inventory.io.sandbox_child's
    PARSERS by default) on `path` in a limited child process; return its records.

    Raises UnreadableFile: the parser's own refusal (an UnreadableFile it raised), or what the
    limits did ("needs more than 1 GiB of memory", "took longer than 60 s", "crashed (signal 6)").
    """
    name = path.name
    command = [sys.executable, "-S", "-m", child, parser, str(path.resolve()), str(memory), str(seconds)]
    child = subprocess.Popen(  # fixed interpreter and module; the file is a plain argument
        command, cwd=_SOURCE_ROOT, env=_child_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    records: list[Any] = []
    ending: bytes | None = None
    pending = bytearray()  # output not yet ended by a newline
    stderr = b""
    received = 0
    timed_out = too_much = False
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        selector.register(child.stderr, selectors.EVENT_READ)
        while selector.get_map() and not too_much:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, 1 << 20)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.fileobj is child.stderr:
                    stderr = (stderr + chunk)[-_STDERR_KEPT:]
                elif (received := received + len(chunk)) > max_output:
                    too_much = True
                    break
                else:
                    pending += chunk
                    if b"\n" in chunk:
                        complete, _, rest = bytes(pending).rpartition(b"\n")
                        pending = bytearray(rest)
                        ending = _take(complete, records, ending)
    if timed_out or too_much:
        child.kill()
    child.stdout.close()
    child.stderr.close()
    try:
        returncode = child.wait(timeout=max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:  # it closed its output but kept running
        child.kill()
        returncode, timed_out = child.wait(), True
    if too_much:
        raise UnreadableFile(f"{name}: could not be read: it holds more than {_size(max_output)} of data")
    if ending == b"D" and returncode == 0:
        return records
    if ending is not None and not timed_out:
        tag, text = ending[:1], ending[1:].decode("utf-8", errors="replace")
        if tag == b"E":
            raise UnreadableFile(text)
        if tag == b"M":
            raise UnreadableFile(f"{name}: could not be read: it needs more than {_size(memory)} of memory")
        if tag == b"F":
            raise UnreadableFile(f"{name}: could not be read ({text})")
    raise _exited(returncode, stderr, timed_out, name, memory, seconds)


def json_document(path: Path) -> list[Any]:
    """Child-side parser for load_json_limited: the whole document as one record."""
    try:
        with path.open("rb") as handle:
            return [json.load(handle)]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableFile(f"{path.name}: not valid JSON ({type(exc).__name__})") from None
    except RecursionError:
        raise UnreadableFile(f"{path.name}: not readable as JSON (nested too deeply)") from None


def load_json_limited(path: Path, max_bytes: int, *, memory: int = MEMORY_LIMIT, seconds: int = TIME_LIMIT) -> Any:
    """Decode a JSON file that came from outside: refused above `max_bytes`, decoded in the sandbox."""
    try:
        size = path.stat().st_size
    except OSError:
        raise UnreadableFile(f"{path.name}: could not be read (no such file)") from None
    if size > max_bytes:
        raise UnreadableFile(f"{path.name}: the file is larger than {_size(max_bytes)}")
    return run_parser("json-document", path, memory=memory, seconds=seconds, max_output=8 * size + 1024)[0]
