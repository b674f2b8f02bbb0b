"""Hypothesis profiles for the property tests: "ci" (bounded, derandomized, no example database)
unless KIEMKE_FUZZ_EXAMPLES asks for a longer run ("fuzz": random seed, failing examples kept
under $KIEMKE_TEST_ARTIFACTS/hypothesis/examples so the next run tries them first)."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

from tests.property.budget import examples, long_run

REPO = Path(__file__).resolve().parents[2]
HOME = Path(os.environ.get("KIEMKE_TEST_ARTIFACTS") or REPO / "artifacts") / "hypothesis"

# Hypothesis' own caches go with the other test artifacts, not into a .hypothesis/ in the checkout.
set_hypothesis_home_dir(HOME)

# Function-scoped fixtures (a database, tmp_path) are shared by a test's examples on purpose:
# each example counts rows before and after itself instead of needing a fresh database.
_COMMON = {
    "deadline": None,
    "max_examples": examples(),
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("ci", derandomize=True, database=None, **_COMMON)
if long_run():
    settings.register_profile("fuzz", database=DirectoryBasedExampleDatabase(HOME / "examples"), **_COMMON)
    settings.load_profile("fuzz")
else:
    settings.load_profile("ci")
