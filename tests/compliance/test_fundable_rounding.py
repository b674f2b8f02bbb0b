"""The fundable plan's short way (compliance.fundable.fit): a plan rounded from the relaxation that
comes within the stopping gap of the relaxation's bound is the answer, with no integer search.
Checked against brute force over every choice on small random provinces, both ways taken; and the
rounded plan keeps every limit whatever it starts from."""

from __future__ import annotations

from collections import defaultdict

import pytest

import compliance.fundable as fundable
from compliance.fundable import _knapsack, _rounded_plan, fit
from tests.compliance.test_fundable import brute_force, random_province, solver_value


def test_within_the_gap_of_the_best_either_way(monkeypatch) -> None:
    searched = []
    real_milp = fundable.milp

    def counting_milp(c, **kwargs):
        if kwargs.get("integrality") is not None:
            searched.append(True)
        return real_milp(c, **kwargs)

    monkeypatch.setattr(fundable, "milp", counting_milp)
    short_way = 0
    for seed in range(60):
        units, needs, f = random_province(seed)
        before = len(searched)
        for gap in (0.0, 40.0):
            plan = fit(units, needs, f, gap_points=gap)
            best = brute_force(units, needs, f)
            assert plan.status == "optimal" and plan.gap_points <= gap + 1e-6
            assert best - solver_value(plan, units, needs, f) <= gap + 1e-6, (seed, gap)
        short_way += len(searched) - before < 2
    assert 0 < short_way < 60, f"{short_way} of 60 provinces took the short way at least once: both ways must be checked"


@pytest.mark.parametrize("seed", range(30))
def test_rounded_plan_keeps_every_limit(seed: int) -> None:
    """Whatever counts it starts from (here: none), money by each year with carry-over, each line,
    approvals and the units there are hold."""
    units, needs, f = random_province(seed)
    need = {(n.site_code, n.device_class): n for n in needs}
    levels: dict = defaultdict(lambda: defaultdict(int))
    for u in units:
        levels[((u.site_code, u.device_class), u.available_year)][u.risk.total] += 1
    counts = _rounded_plan(levels, need, f, {})
    spent_by, money_by = 0.0, 0.0
    for i, y in enumerate(f.years):
        spent_by += sum(n * f.prices[p[1]] for (p, _, z), n in counts.items() if z == y)
        money_by += f.year_money[y]
        assert spent_by <= money_by + 1e-9
        for key, n in need.items():
            assert sum(c for (p, _, z), c in counts.items() if p == key and z <= y) <= max(0, n.approved - n.counting[i])
    for line, amount in f.line_money.items():
        assert sum(n * f.prices[p[1]] for (p, _, _), n in counts.items() if f.line_of_class[p[1]] == line) <= amount + 1e-9
    for (p, a, y), n in counts.items():
        assert n > 0 and y >= a and sum(c for (q, b, _), c in counts.items() if (q, b) == (p, a)) <= sum(levels[(p, a)].values())


def test_knapsack_fills_the_money_left() -> None:
    """Two small units that use 4 millions beat one of 3 that is worth more alone; nothing fits 1."""
    items = [("laptop", 5.0, 300), ("printer", 4.0, 200), ("scanner", 3.0, 200)]
    assert sorted(_knapsack(items, 400)) == ["printer", "scanner"]
    assert _knapsack(items, 100) == [] and _knapsack([], 400) == []
    assert _knapsack([("odd", 1.0, 1), ("odder", 1.0, 3)], 10**9) == ["odder", "odd"]  # budget capped at what all items weigh
