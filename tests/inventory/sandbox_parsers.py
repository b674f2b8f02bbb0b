"""Misbehaving parsers for the sandbox tests (tests/inventory/test_untrusted_files.py): the child
process imports this module by name, so it imports nothing heavy."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def spin(path: Path):
    while True:
        pass


def crash(path: Path):
    os.kill(os.getpid(), signal.SIGSEGV)
    return []


def hoard(path: Path):
    return [len(bytearray(2 * 1024**3))]
