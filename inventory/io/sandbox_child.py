"""The child side of inventory.io.sandbox: limit this process, run one parser, print its records.

    python -S -m inventory.io.sandbox_child PARSER FILE MEMORY_BYTES CPU_SECONDS

`serve` sets the limits before any parser is imported, so a parser (and the native library it
loads) never runs unlimited. PARSER names an entry of a table of loaders; a loader imports its
parser (a function of the file's Path returning an iterable of JSON values) only then. The
records go to stdout in batches, one line "B<JSON array>" each, and the run ends with one line:
"D" (done), "E<message>" (the parser refused the file with an UnreadableFile), "F<exception
class>" (it failed otherwise) or "M" (Python ran out of memory). Only the standard library is
imported at the top: start-up stays short.

A higher layer with parsers of its own (agent inventories, say) gives run_parser its own child
module: `if __name__ == "__main__": serve(ITS_LOADERS, sys.argv[1:])`.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Records go out as JSON arrays of up to this many: one encode and one decode per batch, not per row.
BATCH = 1000


class UnreadableFile(ValueError):
    """A parser's one-line refusal of a file (its message names the file and says why)."""


Parser = Callable[[Any], Iterable[Any]]


def _csv_table() -> Parser:
    from inventory.io.tabular import csv_rows

    return csv_rows


def _xlsx_table() -> Parser:
    from inventory.io.tabular import xlsx_rows

    return xlsx_rows


def _json_document() -> Parser:
    from inventory.io.sandbox import json_document

    return json_document


# The parsers of this layer that inventory.io.sandbox.run_parser can name.
PARSERS: dict[str, Callable[[], Parser]] = {"csv-table": _csv_table, "xlsx-table": _xlsx_table, "json-document": _json_document}


def _limit(memory: int, seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # SIGXCPU at the soft limit; the kernel kills outright one second later.
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort must not leave a core file of inventory data
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # a parser reads; it never writes files


def _send(out, batch: list) -> None:
    import json

    if batch:
        out.write("B" + json.dumps(batch, ensure_ascii=False, separators=(",", ":")) + "\n")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def serve(loaders: Mapping[str, Callable[[], Parser]], argv: list[str]) -> int:
    """The whole child: limits, then the named parser on the file, its records to stdout."""
    name, file, memory, seconds = argv
    _limit(int(memory), int(seconds))
    from pathlib import Path

    out = sys.stdout
    out.reconfigure(encoding="utf-8", errors="surrogatepass", newline="\n")
    try:
        batch: list = []
        for record in loaders[name]()(Path(file)):
            batch.append(record)
            if len(batch) == BATCH:
                _send(out, batch)
                batch = []
        _send(out, batch)
        out.write("D\n")
    except MemoryError:
        out.write("M\n")
    except UnreadableFile as exc:
        out.write("E" + _one_line(str(exc)) + "\n")
    except BaseException as exc:  # a native reader's panic is a BaseException  # noqa: BLE001
        out.write("F" + type(exc).__name__ + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    # Run as __main__, this file's UnreadableFile is not the class parsers raise: use the module's.
    from inventory.io.sandbox_child import PARSERS as LOADERS
    from inventory.io.sandbox_child import serve as serve_imported

    sys.exit(serve_imported(LOADERS, sys.argv[1:]))
