"""Launcher: patch snmpsim for pysnmp 7, then run snmpsim's command responder.

    python -m collectors.lab.snmpsim_run [--lab-config FILE.json] [snmpsim responder options...]

Any snmpsim-command-responder option is passed through unchanged.  `--lab-config` names a JSON
file written by `SnmpLab`:

    {"args": ["--v3-engine-id=...", "--data-dir=...", ...],   # appended to the command line
     "behaviour": {"<engine id hex>": ["slow", 1.5] | ["hang", 0]}}

(arguments go through a file because a lab of hundreds of engines has a very long command
line; they are handed to snmpsim as argv items, so values may contain blanks but not "=" —
snmpsim splits "--opt=value" on every "=").  See `snmpsim_patch` for what is patched and why
(including how running as root is handled).
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str] | None = None) -> int:
    from collectors.lab import snmpsim_patch

    snmpsim_patch.apply()
    from snmpsim.commands import responder

    args = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--lab-config" in args:
        i = args.index("--lab-config")
        path = args[i + 1]
        del args[i : i + 2]
        with open(path, encoding="utf-8") as fh:
            cfg = json.load(fh)
        extra = list(cfg.get("args", []))
        for engine_hex, (behaviour, seconds) in cfg.get("behaviour", {}).items():
            snmpsim_patch.set_behaviour(bytes.fromhex(engine_hex), behaviour, seconds)
    sys.argv = ["snmpsim-command-responder", *args, *extra]
    return responder.main()


if __name__ == "__main__":
    sys.exit(main())
