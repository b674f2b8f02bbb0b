"""A parser child for tests: the real agent-file parser, except that a file named `abort.json`
aborts the whole process the way a native reader does (SIGABRT), and one named `hog.json`
allocates until the memory limit stops it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def agent_files(list_file: Path):
    from collectors.agents.sandbox_child import agent_files as real

    names = [Path(name).name for name in json.loads(list_file.read_text(encoding="utf-8"))]
    if "abort.json" in names:
        os.abort()
    if "hog.json" in names:
        hoard = []
        while True:
            hoard.append(bytearray(64 * 1024**2))
    yield from real(list_file)


LOADERS = {"agent-files": lambda: agent_files}


if __name__ == "__main__":
    from inventory.io.sandbox_child import serve
    from tests.collectors.agents import crashing_child

    sys.exit(serve(crashing_child.LOADERS, sys.argv[1:]))
