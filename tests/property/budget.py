"""How many examples each property gets: bounded for CI, longer on request.

KIEMKE_FUZZ_EXAMPLES sets the base count (default 200); properties that touch the database or
write files take a quarter of it. With the variable set, the seed is random each run, so longer
runs explore new inputs; without it the runs are derandomized (CI sees the same inputs each time).
"""

from __future__ import annotations

import os

DEFAULT_EXAMPLES = 200


def examples(share: float = 1.0) -> int:
    """The example count for one property: `share` of the base budget, at least 10."""
    base = int(os.environ.get("KIEMKE_FUZZ_EXAMPLES") or DEFAULT_EXAMPLES)
    return max(10, int(base * share))


def long_run() -> bool:
    return bool(os.environ.get("KIEMKE_FUZZ_EXAMPLES"))
