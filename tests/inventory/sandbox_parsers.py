"""A sandbox child module of misbehaving parsers, for tests/inventory/test_untrusted_files.py
(run as `python -m tests.inventory.sandbox_parsers NAME FILE MEMORY SECONDS` by run_parser)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from inventory.io.sandbox_child import serve


def spin(path: Path):
    while True:
        pass


def crash(path: Path):
    os.kill(os.getpid(), signal.SIGSEGV)
    return []


def hoard(path: Path):
    return [len(bytearray(2 * 1024**3))]


def environment(path: Path):
    return sorted(os.environ)


if __name__ == "__main__":
    sys.exit(serve({"spin": lambda: spin, "crash": lambda: crash, "hoard": lambda: hoard, "environment": lambda: environment}, sys.argv[1:]))
