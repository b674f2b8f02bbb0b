"""The parser child of offline agent inventory files (see inventory.io.sandbox).

    python -S -m collectors.agents.sandbox_child agent-files LIST_FILE MEMORY_BYTES CPU_SECONDS

LIST_FILE is a JSON list of the files' paths. For each file, in order, one record: its report
(collectors.agents.records.report_to_json) with the SHA-256 of its bytes, or why it was refused.
The files are untrusted: XML, JSON and compressed bodies are read here, under the child's
memory and time limits, so that no file can take the server or the CLI down with it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path


def agent_files(list_file: Path) -> Iterator[dict]:
    import hashlib
    import json

    from collectors.agents import messages
    from collectors.agents.records import report_to_json
    from collectors.agents.wire import MAX_BODY_BYTES, AgentMessageError

    for index, name in enumerate(json.loads(list_file.read_text(encoding="utf-8"))):
        try:
            with open(name, "rb") as handle:
                body = handle.read(MAX_BODY_BYTES + 1)
            message, _ = messages.read_message(body)
            if not isinstance(message, messages.Inventory):
                raise AgentMessageError(400, f"not an inventory but a {type(message).__name__.lower()} message")
        except AgentMessageError as exc:
            yield {"file": index, "error": str(exc)}
        except OSError as exc:
            yield {"file": index, "error": f"cannot read the file: {exc.strerror or type(exc).__name__}"}
        else:
            yield {"file": index, "report": report_to_json(message.report), "sha256": hashlib.sha256(body).hexdigest()}


def _agent_files():
    return agent_files


LOADERS = {"agent-files": _agent_files}


if __name__ == "__main__":
    # Run as __main__, this file's names are not the module's: serve the module's table.
    from collectors.agents import sandbox_child
    from inventory.io.sandbox_child import serve

    sys.exit(serve(sandbox_child.LOADERS, sys.argv[1:]))
