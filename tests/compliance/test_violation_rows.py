"""The engine's fast violation constructor builds exactly what `Violation(...)` builds."""

from __future__ import annotations

import dataclasses
import pickle

from compliance.engine import Violation, _violation


def test_fast_violation_is_a_violation() -> None:
    fields = ("ep.av_fresh", "high", "device:7", 7, 2, "signatures at most 7 days old", "30 days old", ("hrSWInstalledDate of Bkav: 2026-10-23",))
    fast, plain = _violation(*fields), Violation(*fields)
    assert type(fast) is Violation
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert vars(fast) == vars(plain)
    assert list(vars(fast)) == [f.name for f in dataclasses.fields(Violation)], "a Violation field the fast constructor does not set"
    assert pickle.loads(pickle.dumps(fast)) == plain
    assert {fast} == {plain}
