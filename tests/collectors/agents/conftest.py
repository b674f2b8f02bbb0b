from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


COMPRESSORS = {
    "zlib": lambda data: zlib.compress(data),
    "gzip": lambda data: gzip.compress(data),
    "plain": lambda data: data,
}


@pytest.fixture(params=sorted(COMPRESSORS))
def compression(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once per encoding the agents use."""
    return request.param
