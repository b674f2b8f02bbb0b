"""The child side of inventory.io.sandbox: limit this process, run one parser, print its records.

    python -m inventory.io.sandbox_child MODULE:FUNCTION FILE MEMORY_BYTES CPU_SECONDS

The limits are set before anything else is imported, so a parser (and the native library it
loads) never runs unlimited. FUNCTION(Path(FILE)) returns an iterable of JSON values; they go to
stdout in batches, one line "B<JSON array>" each. The run ends with one line: "D" (done), "E<message>" (the parser
refused the file with an UnreadableFile message), "F<exception class>" (it failed otherwise) or
"M" (Python ran out of memory). Only the standard library is imported here: start-up stays short.
"""

from __future__ import annotations

import resource
import sys


class UnreadableFile(ValueError):
    """A parser's one-line refusal of a file (its message names the file and says why)."""


def _limit(memory: int, seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # SIGXCPU at the soft limit; the kernel kills outright one second later.
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort must not leave a core file of inventory data
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # a parser reads; it never writes files


# Records go out as JSON arrays of up to this many: one encode and one decode per batch, not per row.
BATCH = 1000


def _send(out, batch: list) -> None:
    import json

    if batch:
        out.write("B" + json.dumps(batch, ensure_ascii=False, separators=(",", ":")) + "\n")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def main(argv: list[str]) -> int:
    spec, file, memory, seconds = argv
    _limit(int(memory), int(seconds))
    import importlib
    from pathlib import Path

    # Run as __main__, this file's class is not the one parsers raise: take the imported module's.
    from inventory.io.sandbox_child import UnreadableFile as Refusal

    out = sys.stdout
    try:
        module, _, function = spec.partition(":")
        parser = getattr(importlib.import_module(module), function)
        batch: list = []
        for record in parser(Path(file)):
            batch.append(record)
            if len(batch) == BATCH:
                _send(out, batch)
                batch = []
        _send(out, batch)
        out.write("D\n")
    except MemoryError:
        out.write("M\n")
    except Refusal as exc:
        out.write("E" + _one_line(str(exc)) + "\n")
    except BaseException as exc:  # a native reader's panic is a BaseException  # noqa: BLE001
        out.write("F" + type(exc).__name__ + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.stdout.reconfigure(encoding="utf-8", errors="surrogatepass", newline="\n")
    sys.exit(main(sys.argv[1:]))
