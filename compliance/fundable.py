"""The fundable plan: which units to buy first, year by year, with the money the scheme phases in.

The procurement plan (compliance.planner) says what the 40/80/100% schedule needs; this module
chooses, among the units to buy (compliance.risk.build_units), those that reduce the most risk
within the money, as one integer program solved by HiGHS (`scipy.optimize.milp`).

The model. For site/class p: A the approved quantity, C(Y) the devices that count in year Y
without purchases, T(Y) the target (ceil(A x share / 100)), p's unit price and budget line.
Units of p first needed in the same year a form a class (p, a); they differ only by risk.

    k[p, a, y]     integer, units of class (p, a) bought in year y >= a
    s[p, a, r, Y]  continuous, 0..(units of risk r in the class): units of risk r in place by Y,
                   sum_r s[p, a, r, Y] = sum_{a <= y <= Y} k[p, a, y]
    slack[p, Y]    continuous, what p lacks against Y's target

    maximise   sum r x s[p, a, r, Y]                       risk-years removed within the plan
             - penalty x sum price_p x slack[p, Y]          targets missed, in million VND
    subject to B(p, Y) = sum_{a, y <= Y} k[p, a, y] <= max(0, A - C(Y))     approvals cap
               B(p, Y) + slack[p, Y] >= T(Y) - C(Y)                       the schedule, soft
               sum_{y <= Y} spend(y) <= sum_{y <= Y} money(y)   each year's phasing, unspent
                                                            money carried to the next year
               sum_y spend(line, y) <= line amount          each budget line is its own envelope
               (and per line and year, cumulative, when such envelopes are given)

The program fills s riskiest first, and within a class the units in place by one year are among
those in place by the next, so sum_Y sum_r r x s is exactly the risk-years of buying the
riskiest units of each class first (`_assign` then names them). Only the k are integer: one per
site, class, first year and year, not one per unit.

A unit bought in year y removes its risk in every plan year from y on: bought earlier, it
removes more. The targets are soft: a slack priced at `schedule_penalty_per_million`
points (risk.yaml) per million VND missing; at the shipped 1,000 it outweighs any unit's risk, so
a target is met whenever the money allows and, per VND, all targets weigh the same, so risk
chooses among them. Units that remove no risk are bought only for a target: after solving, any
such unit bought beyond what every later year's target needs is dropped (`_drop_idle`; the
objective is the same without it, and the money stays unspent). A tie-breaker in the objective
did this before, at a cost: per VND (half a point over all the money) it made coefficients of 1e-5
beside risks of 1e4 and the demo twice as slow to prove (0.9 s against 0.4 s); per unit it made
the 50,000-device province run out of time (over 10 s against 4 s). The phasing is taken as the money for equipment
(`reserve_other_lines` keeps the other lines' share of each year out of it). The answer is
proved within 1e-5 of the objective's range (`fit`'s gap_points); the proven gap is reported
with it.

The short way. The same program without integers (the relaxation) is solved first: its value
bounds every plan's. Its counts rounded down keep every limit; `_rounded_plan` spends the money
that frees (unit by unit, best gain per million first) and then trades units while a small
knapsack over the money left gains (a target unit is worth 1,000 points per million per year, so
a few million left unspent in an envelope is what rounding loses most). When that plan is within
the gap of the bound, it is the answer, proved as HiGHS would prove it, and the integer search is
skipped; otherwise HiGHS searches (branch and bound, its own heuristics). The demo province takes
the short way (0.05 s of solving against 1.3 s of search, and a better plan: 5 points from the
bound against 26); so does the 50,000-device bench province.

A greedy order (risk per million VND, bought in that order while money, line and approval allow)
is computed beside it for comparison; it is not the answer. pandas only at the edges (frames out).
"""

from __future__ import annotations

import heapq
import math
import time
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from compliance.policy import Policy, Text
from compliance.risk import UnitToBuy

if TYPE_CHECKING:
    from sqlmodel import Session

    from compliance.planner import Plan

APPROVAL, LINE, BUDGET, PRIORITY = "approval", "line", "budget", "lower_priority"
REASON_TEXT = {
    APPROVAL: Text(vi="Đã đủ số lượng được phê duyệt", en="The approved quantity is reached"),
    LINE: Text(vi="Hết kinh phí của hạng mục", en="The budget line is spent"),
    BUDGET: Text(vi="Hết vốn phân kỳ (kể cả phần chuyển sang)", en="The year's phasing (with carry-over) is spent"),
    PRIORITY: Text(vi="Ưu tiên thấp hơn: không giảm rủi ro, không cần cho chỉ tiêu năm", en="Lower priority: reduces no risk and no target needs it"),
}
EXCHANGE_ROUNDS, EXCHANGE_WIDTH = 30, 4  # `_rounded_plan`'s trades at most, and the additions it weighs per price and year
MONEY_STEPS = 100  # `_rounded_plan`'s knapsack counts money in hundredths of a million VND
KNAPSACK_CELLS = 200_000  # a knapsack larger than this (budget steps x items) is not tried
GAP_SHARE = 1e-5  # the default stopping gap, as a share of the objective's range


# ------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Need:
    """One site and class of the plan: approved quantity, counting and target per plan year."""

    site_code: str
    site_name: str
    device_class: str
    approved: int
    counting: tuple[int, ...]
    target: tuple[int, ...]


@dataclass(frozen=True)
class Funding:
    """The money, in million VND: per plan year, per budget line over the plan, and optionally
    per line and year (cumulative, like the years)."""

    years: tuple[int, ...]
    year_money: Mapping[int, float]
    line_money: Mapping[str, float]
    line_of_class: Mapping[str, str]
    prices: Mapping[str, float]
    penalty_per_million: float
    line_year_money: Mapping[tuple[str, int], float] = field(default_factory=dict)
    line_titles: Mapping[str, str] = field(default_factory=dict)  # Vietnamese, for printing


# ------------------------------------------------------------------------------ result


@dataclass(frozen=True, eq=False)  # holds DataFrames
class FundablePlan:
    """The chosen purchases and what they leave out. Money in million VND.

    units: one row per unit (site_code, site_name, device_class, line_id, replaces, risk, parts_vi,
        parts_en, available_year, bought_year (NA: not within the plan), status bought|deferred,
        reason, reason_vi).
    bought: site_code, site_name, device_class, line_id, year, units, unit_price, cost, risk.
    deferred: the units not bought in their first year, with the reason that year.
    missed: site_code, site_name, device_class, year, approved, target, in_place, missing.
    spend: year, line_id, units, spend.
    money: year, money, available (with money carried in), spent, carried_over.
    greedy: the greedy order for comparison: rank, site_code, device_class, replaces, risk,
        unit_price, risk_per_million, bought_year.
    """

    years: tuple[int, ...]
    status: str
    seconds: float
    gap_points: float  # how far from the best the answer may be, proved by the solver (objective points)
    risk_years: int
    greedy_risk_years: int
    missing_units: int  # units short of the targets, summed over site, class and year
    greedy_missing_units: int
    units: pd.DataFrame
    bought: pd.DataFrame
    deferred: pd.DataFrame
    missed: pd.DataFrame
    spend: pd.DataFrame
    money: pd.DataFrame
    greedy: pd.DataFrame
    warnings: tuple[Text, ...] = ()
    line_titles: Mapping[str, str] = field(default_factory=dict)
    objective: float = 0.0  # the program's value (lower is better: target penalties less risk-years), to compare solves

    def shown(self, years: Sequence[int] | None = None) -> dict[str, pd.DataFrame]:
        """The frames people read, limited to `years` (default all): bought, deferred (by the
        year the unit was first needed), missed, spend, money."""
        keep = set(years or self.years)
        frames = {"bought": (self.bought, "year"), "deferred": (self.deferred, "available_year"), "missed": (self.missed, "year"),
                  "spend": (self.spend, "year"), "money": (self.money, "year")}  # fmt: skip
        return {name: frame[frame[col].isin(keep)].reset_index(drop=True) for name, (frame, col) in frames.items()}

    def to_json(self, years: Sequence[int] | None = None) -> dict[str, Any]:
        from compliance.workbook import records

        frames = self.shown(years)
        return {
            "years": list(self.years), "shown_years": sorted(set(years or self.years)), "status": self.status, "seconds": round(self.seconds, 3), "gap_points": self.gap_points,
            "risk_years": self.risk_years, "greedy_risk_years": self.greedy_risk_years,
            "missing_units": self.missing_units, "greedy_missing_units": self.greedy_missing_units,
            **{name: records(frame) for name, frame in frames.items()},
            "warnings": [w.model_dump() for w in self.warnings],
        }  # fmt: skip


# ------------------------------------------------------------------------------ the model


def fit(units: Sequence[UnitToBuy], needs: Sequence[Need], funding: Funding, *, gap_points: float | None = None, time_limit: float = 10.0) -> FundablePlan:
    """Choose the units to buy (see the module docstring for the model).

    HiGHS stops when its answer is proved within `gap_points` of the best (default: one
    hundred-thousandth of the objective's range, GAP_SHARE; 0 asks for the proven optimum, which on a
    province can take minutes for a few points) or after `time_limit` seconds with the best
    answer found; `FundablePlan.gap_points` says how far from the best it may be."""
    started = time.perf_counter()
    years = funding.years
    index = {y: i for i, y in enumerate(years)}
    notes: list[Text] = []
    need = {(n.site_code, n.device_class): n for n in needs}
    usable = []
    for u in units:
        if (u.site_code, u.device_class) not in need or u.available_year > years[-1]:
            continue
        if u.device_class not in funding.line_of_class or funding.prices.get(u.device_class) is None:
            continue
        usable.append(u)
    for cls in sorted({n.device_class for n in needs} - set(funding.line_of_class)):
        notes.append(Text(vi=f"{cls}: không thuộc hạng mục kinh phí nào, không được xếp vào kế hoạch", en=f"{cls}: in no budget line, not fitted"))
    for cls in sorted({n.device_class for n in needs if funding.prices.get(n.device_class) is None}):
        notes.append(Text(vi=f"{cls}: chưa có đơn giá, không được xếp vào kế hoạch", en=f"{cls}: no unit price, not fitted"))

    # Units of one site/class p that are first needed in the same year a form a class (p, a); its
    # units differ only by risk. Variables: k[p, a, y] (integer) units of the class bought in
    # year y >= a; s[p, a, r, Y] (continuous, 0..units of risk r) units of risk r of the class
    # in place by year Y, adding up to the class's purchases by Y: the program fills the
    # riskiest first, so sum_Y sum_r r x s is the risk-years removed (the riskiest units bought
    # first; the sets bought by each year are nested within a class); slack[p, Y] (continuous)
    # what p lacks against Y's target. Money, approvals and targets read k only.
    levels: dict[tuple[tuple[str, str], int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for u in usable:
        levels[((u.site_code, u.device_class), u.available_year)][u.risk.total] += 1
    kvars = [(p, a, y) for (p, a) in levels for y in years if y >= a]
    svars = [(p, a, r, m, yr) for (p, a), by_risk in levels.items() for r, m in by_risk.items() for yr in years if yr >= a]
    slack_keys = [(key, y) for key, n in need.items() if n.device_class in funding.line_of_class and funding.prices.get(n.device_class) is not None
                  for y in years if n.target[index[y]] > n.counting[index[y]]]  # fmt: skip
    nk, nsv, ns = len(kvars), len(svars), len(slack_keys)
    kcol = {kv: i for i, kv in enumerate(kvars)}
    kprice = np.array([funding.prices[p[1]] for p, _, _ in kvars], dtype=float)
    c = np.concatenate([
        np.zeros(len(kvars)),
        np.array([-r for _, _, r, _, _ in svars], dtype=float),
        np.array([funding.penalty_per_million * funding.prices[key[1]] for key, _ in slack_keys], dtype=float),
    ])  # fmt: skip
    class_size = {key: sum(by_risk.values()) for key, by_risk in levels.items()}
    upper = np.concatenate([
        np.array([class_size[(p, a)] for p, a, _ in kvars], dtype=float),
        np.array([m for *_, m, _ in svars], dtype=float),
        np.array([need[key].target[index[y]] - need[key].counting[index[y]] for key, y in slack_keys], dtype=float),
    ])  # fmt: skip

    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lo: list[float] = []
    hi: list[float] = []

    def add(entries: list[tuple[int, float]], low: float, high: float) -> None:
        r = len(lo)
        for col, val in entries:
            rows.append(r)
            cols.append(col)
            vals.append(val)
        lo.append(low)
        hi.append(high)

    in_place: dict[tuple[tuple[str, str], int, int], list[int]] = defaultdict(list)
    for j, (p, a, _, _, by_year) in enumerate(svars):
        in_place[(p, a, by_year)].append(nk + j)
    for (p, a, by_year), js in in_place.items():
        bought_by = [(kcol[(p, a, y)], -1.0) for y in years if a <= y <= by_year]
        add([*((j, 1.0) for j in js), *bought_by], 0, 0)
    k_of_pair: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)  # (column, year)
    for i, (p, _, y) in enumerate(kvars):
        k_of_pair[p].append((i, y))
    for p, ks in k_of_pair.items():
        n = need[p]
        for y in years:
            upto = [(i, 1.0) for i, z in ks if z <= y]
            if upto:
                add(upto, 0, max(0, n.approved - n.counting[index[y]]))
    for k, (p, y) in enumerate(slack_keys):
        n = need[p]
        upto = [(i, 1.0) for i, z in k_of_pair.get(p, []) if z <= y]
        add([*upto, (nk + nsv + k, 1.0)], n.target[index[y]] - n.counting[index[y]], np.inf)
    k_line = [funding.line_of_class[p[1]] for p, _, _ in kvars]
    cumulative = 0.0
    for y in years:
        cumulative += funding.year_money.get(y, 0.0)
        add([(i, kprice[i]) for i, kv in enumerate(kvars) if kv[2] <= y], 0, cumulative)
    for line, amount in funding.line_money.items():
        add([(i, kprice[i]) for i in range(nk) if k_line[i] == line], 0, amount)
        running = 0.0
        for y in years:
            if (line, y) in funding.line_year_money:
                running += funding.line_year_money[(line, y)]
                add([(i, kprice[i]) for i, kv in enumerate(kvars) if k_line[i] == line and kv[2] <= y], 0, running)

    status, gap, objective = "optimal", 0.0, 0.0
    bought_k: dict[tuple[tuple[str, str], int, int], int] = {}
    if nk:
        width = nk + nsv + ns
        if gap_points is None:  # the objective's range: every risk-year removable, every target unit missed
            gap_points = GAP_SHARE * float(np.abs(c[nk : nk + nsv]) @ upper[nk : nk + nsv] + c[nk + nsv :] @ upper[nk + nsv :])
        matrix = coo_array((vals, (rows, cols)), shape=(len(lo), width)).tocsr()
        integrality = np.concatenate([np.ones(nk), np.zeros(nsv + ns)])
        constraints, bounds = [LinearConstraint(matrix, np.array(lo), np.array(hi))], Bounds(np.zeros(width), upper)
        # First the relaxation (no integers): its value bounds every plan's. A plan rounded from it
        # (`_rounded_plan`) that comes within the stopping gap of that bound is the answer, proved
        # as HiGHS would prove it, without the integer search; otherwise HiGHS searches.
        relaxed = milp(c, constraints=constraints, bounds=bounds, options={"time_limit": time_limit, "presolve": True})
        x = None
        if relaxed.status == 0 and relaxed.x is not None:  # only a solved relaxation bounds the plans
            counts = _rounded_plan(levels, need, funding, {kv: int(np.floor(relaxed.x[i] + 1e-6)) for i, kv in enumerate(kvars)})
            x = _program_point(counts, kvars, svars, slack_keys, need, years, width)
            if float(c @ x) - float(relaxed.fun) > gap_points + 1e-6 + 1e-9 * abs(float(relaxed.fun)):  # not proved close enough
                x = None
        if x is not None:
            objective, gap = float(c @ x), max(0.0, float(c @ x) - float(relaxed.fun))
        else:
            left = max(1.0, time_limit - (time.perf_counter() - started))  # `time_limit` covers both solves
            options = {"time_limit": left, "mip_rel_gap": 0.0, "presolve": True, "mip_abs_gap": gap_points}
            with warnings.catch_warnings():  # scipy passes HiGHS's mip_abs_gap on, warning it does not know it
                warnings.filterwarnings("ignore", "Unrecognized options", RuntimeWarning)
                res = milp(c, constraints=constraints, integrality=integrality, bounds=bounds, options=options)
            if res.x is None:
                raise RuntimeError(f"the fundable plan could not be solved: {res.message}")
            x, objective = res.x, float(res.fun)
            bound = getattr(res, "mip_dual_bound", None)
            gap = 0.0 if bound is None or not np.isfinite(bound) else max(0.0, float(res.fun - bound))
            status = "optimal" if res.status == 0 else f"stopped: {res.message}"
        bought_k = _drop_idle({kv: int(round(x[i])) for i, kv in enumerate(kvars)}, levels, need, years)
    seconds = time.perf_counter() - started
    years_left = {y: len(years) - index[y] for y in years}
    chosen = _assign(usable, bought_k, years)
    result = _frames(usable, chosen, need, funding, years)
    greedy_order, greedy_years = greedy(usable, need, funding)
    risk_years = sum(u.risk.total * years_left[y] for u in usable if (y := chosen[id(u)]) is not None)
    greedy_risk = sum(u.risk.total * years_left[y] for u in usable if (y := greedy_years.get(id(u))) is not None)
    greedy_missing = _missing_units(usable, greedy_years, need, funding)
    return FundablePlan(years=years, status=status, seconds=seconds, gap_points=round(gap, 3), risk_years=int(risk_years), greedy_risk_years=int(greedy_risk),
                        missing_units=int(result["missed"]["missing"].sum()), greedy_missing_units=greedy_missing,
                        greedy=greedy_order, warnings=tuple(notes), line_titles=dict(funding.line_titles), objective=objective, **result)  # fmt: skip


def _rounded_plan(levels: Mapping[tuple[tuple[str, str], int], Mapping[int, int]], need: Mapping[tuple[str, str], Need], funding: Funding,
                  start: Mapping[tuple[tuple[str, str], int, int], int]) -> dict[tuple[tuple[str, str], int, int], int]:  # fmt: skip
    """A plan (units of each class bought per year) from `start`, the relaxation's counts rounded
    down (which keeps every limit): the money that rounding frees is spent one unit at a time on the
    unit of highest objective gain per million VND that money, lines and approvals allow (gains only
    fall as units are bought and what no longer fits never fits again, so a heap with gains
    recomputed when popped suffices); then, while it gains, one unit is traded for the units that
    use the money left best (a small knapsack: the money left is what rounding loses most)."""
    years = funding.years
    cap = {p: [max(0, n.approved - n.counting[i]) for i in range(len(years))] for p, n in need.items()}
    cap_from = {p: [min(c[i:]) for i in range(len(years))] for p, c in cap.items()}  # units in place only grow
    n_years = len(years)
    index = {y: i for i, y in enumerate(years)}
    risks = {key: sorted((r for r, m in by_risk.items() for _ in range(m)), reverse=True) for key, by_risk in levels.items()}
    class_in = {key: [0] * n_years for key in levels}
    pair_in = {p: [0] * n_years for p in need}
    short = {p: [n.target[i] - n.counting[i] for i in range(n_years)] for p, n in need.items()}
    money = list(np.cumsum([funding.year_money.get(y, 0.0) for y in years]))
    spent = [0.0] * n_years
    line_spent: dict[str, float] = defaultdict(float)
    line_year = {line: list(np.cumsum([funding.line_year_money.get((line, y), 0.0) for y in years])) for line in funding.line_money
                 if any((line, y) in funding.line_year_money for y in years)}  # fmt: skip
    line_year_has = {line: [(line, y) in funding.line_year_money for y in years] for line in line_year}
    line_year_spent = {line: [0.0] * n_years for line in line_year}
    bought: dict[tuple[tuple[str, str], int, int], int] = defaultdict(int)

    def gain(p: tuple[str, str], a: int, i: int) -> float | None:
        """The objective gain of one more unit of class (p, a) in year i (None: it no longer fits)."""
        price, line, inside = funding.prices[p[1]], funding.line_of_class[p[1]], class_in[(p, a)]
        if inside[-1] >= len(risks[(p, a)]) or line_spent[line] + price > funding.line_money.get(line, 0.0) + 1e-9:
            return None
        total = 0.0
        for j in range(i, n_years):
            if pair_in[p][j] + 1 > cap_from[p][j] or spent[j] + price > money[j] + 1e-9:
                return None
            if line in line_year and line_year_has[line][j] and line_year_spent[line][j] + price > line_year[line][j] + 1e-9:
                return None
            total += risks[(p, a)][inside[j]] + (funding.penalty_per_million * price if pair_in[p][j] < short[p][j] else 0.0)
        return total

    def loss(p: tuple[str, str], a: int, i: int) -> float:
        """The objective lost by taking back one unit of class (p, a) bought in year i."""
        price, inside = funding.prices[p[1]], class_in[(p, a)]
        return sum(risks[(p, a)][inside[j] - 1] + (funding.penalty_per_million * price if pair_in[p][j] <= short[p][j] else 0.0) for j in range(i, n_years))

    def move(p: tuple[str, str], a: int, i: int, step: int) -> None:
        price, line = funding.prices[p[1]], funding.line_of_class[p[1]]
        bought[(p, a, years[i])] += step
        line_spent[line] += step * price
        for j in range(i, n_years):
            class_in[(p, a)][j] += step
            pair_in[p][j] += step
            spent[j] += step * price
            if line in line_year:
                line_year_spent[line][j] += step * price

    for (p, a, y), count in start.items():
        if count > 0:
            move(p, a, index[y], count)
    options = [(p, a, index[y]) for p, a in levels for y in years if y >= a]
    heap = [(-g / funding.prices[p[1]], p, a, i) for p, a, i in options if (g := gain(p, a, i)) is not None and g > 0]
    heapq.heapify(heap)
    while heap:
        key, p, a, i = heapq.heappop(heap)
        g = gain(p, a, i)
        if g is None or g <= 0:
            continue
        if -g / funding.prices[p[1]] > key + 1e-9:  # stale: back in with what it gains now
            heapq.heappush(heap, (-g / funding.prices[p[1]], p, a, i))
            continue
        move(p, a, i, 1)
        heapq.heappush(heap, (key, p, a, i))

    for _ in range(EXCHANGE_ROUNDS):
        cheapest: dict[tuple[float, str, int], tuple[float, tuple]] = {}
        for p, a, i in options:
            if bought.get((p, a, years[i]), 0) > 0:
                group, lost = (funding.prices[p[1]], funding.line_of_class[p[1]], i), loss(p, a, i)
                if group not in cheapest or lost < cheapest[group][0]:
                    cheapest[group] = (lost, (p, a, i))
        room = {p: [cap_from[p][j] - pair_in[p][j] for j in range(n_years)] for p in need}
        best_of_group: dict[tuple[float, int], list[tuple[float, tuple]]] = defaultdict(list)
        for p, a, i in options:  # the best few additions per price and year, money aside
            if class_in[(p, a)][-1] < len(risks[(p, a)]) and min(room[p][i:]) > 0:
                worth = sum(risks[(p, a)][class_in[(p, a)][j]] + (funding.penalty_per_million * funding.prices[p[1]] if pair_in[p][j] < short[p][j] else 0.0) for j in range(i, n_years))
                heapq.heappush(best_of_group[(funding.prices[p[1]], i)], (worth, (p, a, i)))
                if len(best_of_group[(funding.prices[p[1]], i)]) > EXCHANGE_WIDTH:
                    heapq.heappop(best_of_group[(funding.prices[p[1]], i)])
        additions = [kv for group in best_of_group.values() for _, kv in group]
        best_move: tuple[float, tuple, list] | None = None
        for lost, out in cheapest.values():
            move(*out, -1)
            p0, a0, i0 = out
            line0 = funding.line_of_class[p0[1]]
            line_left = funding.line_money.get(line0, 0.0) - line_spent[line0]
            chosen, chosen_value = [], 0.0
            for first in sorted({0, i0}):  # additions from the removed unit's year on, or from any year
                budget = min(line_left, *(money[j] - spent[j] for j in range(first, n_years)))
                items = []
                for kv in additions:
                    if kv != out and kv[2] >= first and funding.line_of_class[kv[0][1]] == line0 and (g := gain(*kv)) is not None and g > 0:
                        items.append((kv, g, int(round(funding.prices[kv[0][1]] * MONEY_STEPS))))
                picked = _knapsack(items, int(budget * MONEY_STEPS + 1e-6))
                value = sum(g for kv, g, _ in items if kv in picked)
                if value > chosen_value:
                    chosen, chosen_value = picked, value
            added, won, ok = [], 0.0, True
            for kv in chosen:
                g = gain(*kv)
                if g is None:
                    ok = False
                    break
                move(*kv, 1)
                added.append(kv)
                won += g
            for kv in added:
                move(*kv, -1)
            move(*out, 1)
            if ok and won - lost > 1e-9 and (best_move is None or won - lost > best_move[0]):
                best_move = (won - lost, out, added)
        if best_move is None:
            break
        move(*best_move[1], -1)
        for kv in best_move[2]:
            move(*kv, 1)
    return {key: n for key, n in bought.items() if n}


def _knapsack(items: Sequence[tuple[Any, float, int]], budget: int) -> list[Any]:
    """The keys of the items (key, value, whole weight) of most value within `budget`, each at
    most once (dynamic programming over the budget in steps of the weights' common divisor)."""
    unit = 0
    for _, _, weight in items:
        unit = math.gcd(unit, weight)
    if budget <= 0 or not items or unit == 0:
        return []
    budget = min(budget, sum(weight for _, _, weight in items)) // unit
    if budget * len(items) > KNAPSACK_CELLS:  # prices in odd fractions of a million: no trade (HiGHS searches)
        return []
    best = [0.0] * (budget + 1)
    took: list[list[bool]] = []
    for _, value, weight in items:
        step, row = weight // unit, [False] * (budget + 1)
        for b in range(budget, step - 1, -1):
            if best[b - step] + value > best[b]:
                best[b], row[b] = best[b - step] + value, True
        took.append(row)
    picked, b = [], budget
    for (key, _, weight), row in zip(reversed(items), reversed(took), strict=True):
        if row[b]:
            picked.append(key)
            b -= weight // unit
    return picked


def _program_point(counts: Mapping[tuple[tuple[str, str], int, int], int], kvars: Sequence[tuple], svars: Sequence[tuple],
                   slack_keys: Sequence[tuple], need: Mapping[tuple[str, str], Need], years: tuple[int, ...], width: int) -> np.ndarray:  # fmt: skip
    """The program's columns for a plan of `counts`: k as given, each class's units in place by a
    year filled riskiest first (s), and what each pair lacks against each year's target (slack)."""
    index = {y: i for i, y in enumerate(years)}
    x = np.zeros(width)
    nk, nsv = len(kvars), len(svars)
    x[:nk] = [counts.get(kv, 0) for kv in kvars]
    class_in = {(p, a, y): sum(counts.get((p, a, z), 0) for z in years if a <= z <= y) for p, a, y in kvars}
    left = dict(class_in)
    for j in sorted(range(nsv), key=lambda j: -svars[j][2]):
        p, a, _, m, y = svars[j]
        x[nk + j] = min(m, left[(p, a, y)])
        left[(p, a, y)] -= x[nk + j]
    pair_in: dict[tuple[tuple[str, str], int], int] = defaultdict(int)
    for (p, _, y), n in class_in.items():
        pair_in[(p, y)] += n
    for j, (p, y) in enumerate(slack_keys):
        n = need[p]
        x[nk + nsv + j] = max(0, n.target[index[y]] - n.counting[index[y]] - pair_in[(p, y)])
    return x


def _drop_idle(
    bought: dict[tuple[tuple[str, str], int, int], int], levels: Mapping[tuple[tuple[str, str], int], Mapping[int, int]], need: Mapping[tuple[str, str], Need], years: tuple[int, ...]
) -> dict[tuple[tuple[str, str], int, int], int]:
    """`bought` without the units that remove no risk and that no year's target needs: a class's
    units are named riskiest first (`_assign`), so its last ones beyond its units at risk are the
    idle ones; one goes, latest year first, while every year from then on still meets its target."""
    index = {y: i for i, y in enumerate(years)}
    by_pair: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (p, _, y), count in bought.items():
        by_pair[p][y] += count
    for (p, a), by_risk in levels.items():
        idle = sum(bought.get((p, a, y), 0) for y in years) - (sum(by_risk.values()) - by_risk.get(0, 0))
        n = need[p]
        for y in reversed(years):
            while idle > 0 and bought.get((p, a, y), 0) > 0:
                later = [z for z in years if z >= y]
                in_place = {z: n.counting[index[z]] + sum(c for w, c in by_pair[p].items() if w <= z) for z in later}
                if any(in_place[z] - 1 < n.target[index[z]] for z in later):
                    break
                bought[(p, a, y)] -= 1
                by_pair[p][y] -= 1
                idle -= 1
    return bought


def _missing_units(units: Sequence[UnitToBuy], years_of: Mapping[int, int], need: Mapping[tuple[str, str], Need], funding: Funding) -> int:
    """Units short of the targets, over sites, classes and years, when `years_of` is bought."""
    got: dict[tuple[str, str, int], int] = defaultdict(int)
    for u in units:
        if (y := years_of.get(id(u))) is not None:
            got[(u.site_code, u.device_class, y)] += 1
    missing = 0
    for (s, c), n in need.items():
        if c not in funding.line_of_class or funding.prices.get(c) is None:
            continue
        for i in range(len(funding.years)):
            missing += max(0, n.target[i] - n.counting[i] - sum(got[(s, c, z)] for z in funding.years[: i + 1]))
    return missing


def _assign(units: Sequence[UnitToBuy], bought: Mapping[tuple[tuple[str, str], int, int], int], years: tuple[int, ...]) -> dict[int, int | None]:
    """id(unit) -> the year it is bought (None: not within the plan), from the units bought per
    site/class, first year and year: each year takes the riskiest units of the class not bought
    yet, as the program counted them."""
    per_class: dict[tuple[tuple[str, str], int], list[UnitToBuy]] = defaultdict(list)
    for u in units:
        per_class[((u.site_code, u.device_class), u.available_year)].append(u)
    chosen: dict[int, int | None] = {id(u): None for u in units}
    for (pair, first), members in per_class.items():
        waiting = iter(sorted(members, key=lambda u: (-u.risk.total, u.replaces_id is None, u.replaces_id or 0)))
        for y in years:
            for _ in range(bought.get((pair, first, y), 0)):
                unit = next(waiting, None)
                if unit is None:
                    raise RuntimeError(f"{pair}: more units bought in {y} than there are (solver answer inconsistent)")
                chosen[id(unit)] = y
    return chosen


# ------------------------------------------------------------------------------ greedy, for comparison


def greedy(units: Sequence[UnitToBuy], need: Mapping[tuple[str, str], Need], funding: Funding) -> tuple[pd.DataFrame, dict[int, int]]:
    """Risk per million VND, highest first; each year buys down that list what money, line and
    approval allow (targets ignored). Returns the order as a frame and id(unit) -> year bought."""
    years = funding.years
    order = sorted(units, key=lambda u: (-u.risk.total / funding.prices[u.device_class], u.available_year, u.site_code, u.device_class, u.replaces_id or 0))
    bought: dict[int, int] = {}
    in_pair: dict[tuple[str, str], int] = defaultdict(int)
    line_spent: dict[str, float] = defaultdict(float)
    line_year_left: dict[str, float] = defaultdict(float)
    money = 0.0
    for i, y in enumerate(years):
        money += funding.year_money.get(y, 0.0)
        for line in funding.line_money:
            line_year_left[line] += funding.line_year_money.get((line, y), 0.0)
        for u in order:
            if id(u) in bought or u.available_year > y:
                continue
            p, line, key = funding.prices[u.device_class], funding.line_of_class[u.device_class], (u.site_code, u.device_class)
            n = need[key]
            if in_pair[key] >= max(0, n.approved - n.counting[i]) or p > money + 1e-9 or line_spent[line] + p > funding.line_money.get(line, 0.0) + 1e-9:
                continue
            if any(k[0] == line for k in funding.line_year_money) and p > line_year_left[line] + 1e-9:
                continue
            bought[id(u)] = y
            in_pair[key] += 1
            line_spent[line] += p
            line_year_left[line] -= p
            money -= p
    frame = pd.DataFrame(
        [{"rank": r, "site_code": u.site_code, "device_class": u.device_class, "replaces": u.replaces_hostname, "risk": u.risk.total,
          "unit_price": funding.prices[u.device_class], "risk_per_million": round(u.risk.total / funding.prices[u.device_class], 3),
          "bought_year": bought.get(id(u))} for r, u in enumerate(order, start=1)],
        columns=["rank", "site_code", "device_class", "replaces", "risk", "unit_price", "risk_per_million", "bought_year"],
    ).astype({"bought_year": "Int64"})  # fmt: skip
    return frame, bought


# ------------------------------------------------------------------------------ frames


def _frames(units: Sequence[UnitToBuy], chosen: Mapping[int, int | None], need: Mapping[tuple[str, str], Need], funding: Funding,
            years: tuple[int, ...]) -> dict[str, pd.DataFrame]:  # fmt: skip
    index = {y: i for i, y in enumerate(years)}
    line_of, prices = funding.line_of_class, funding.prices
    # Purchases per pair and year, spend per line and year, cumulatively.
    per_pair_year: dict[tuple[str, str, int], int] = defaultdict(int)
    spend: dict[tuple[str, int], float] = defaultdict(float)
    units_per_line: dict[tuple[str, int], int] = defaultdict(int)
    for u in units:
        y = chosen[id(u)]
        if y is not None:
            per_pair_year[(u.site_code, u.device_class, y)] += 1
            spend[(line_of[u.device_class], y)] += prices[u.device_class]
            units_per_line[(line_of[u.device_class], y)] += 1
    cum_pair = {(s, c, y): sum(per_pair_year.get((s, c, z), 0) for z in years if z <= y) for (s, c) in need for y in years}
    spent_year = {y: sum(v for (_, z), v in spend.items() if z == y) for y in years}
    money_rows, cum_money, cum_spent = [], 0.0, 0.0
    for y in years:
        available = round(cum_money - cum_spent + funding.year_money.get(y, 0.0), 2)
        cum_money += funding.year_money.get(y, 0.0)
        cum_spent += spent_year[y]
        money_rows.append({"year": y, "money": funding.year_money.get(y, 0.0), "available": available, "spent": round(spent_year[y], 2),
                           "carried_over": round(cum_money - cum_spent, 2)})  # fmt: skip
    left_after = {r["year"]: r["carried_over"] for r in money_rows}
    line_total = {line: sum(v for (ln, _), v in spend.items() if ln == line) for line in funding.line_money}

    def reason(u: UnitToBuy, y: int) -> str:
        n, p, line = need[(u.site_code, u.device_class)], prices[u.device_class], line_of[u.device_class]
        if cum_pair[(u.site_code, u.device_class, y)] >= max(0, n.approved - n.counting[index[y]]):
            return APPROVAL
        if line_total.get(line, 0.0) + p > funding.line_money.get(line, 0.0) + 1e-6:
            return LINE
        if left_after[y] + 1e-6 < p or left_after[years[-1]] + 1e-6 < p:
            return BUDGET
        return PRIORITY

    unit_rows = []
    for u in units:
        y = chosen[id(u)]
        deferred = y is None or y > u.available_year
        why = reason(u, u.available_year) if deferred else None
        unit_rows.append({
            "site_code": u.site_code, "site_name": u.site_name, "device_class": u.device_class, "line_id": line_of[u.device_class],
            "replaces": u.replaces_hostname or (None if u.replaces_id is None else str(u.replaces_id)), "risk": u.risk.total,
            "parts_vi": u.risk.explain("vi"), "parts_en": u.risk.explain("en"), "unit_price": prices[u.device_class],
            "available_year": u.available_year, "bought_year": y, "status": "deferred" if deferred else "bought",
            "reason": why, "reason_vi": None if why is None else REASON_TEXT[why].vi,
        })  # fmt: skip
    unit_frame = pd.DataFrame(unit_rows, columns=UNIT_COLUMNS).astype({"bought_year": "Int64", "available_year": "int64", "risk": "int64"})
    if len(unit_frame):
        unit_frame = unit_frame.sort_values(["available_year", "site_code", "device_class", "risk"], ascending=[True, True, True, False], kind="stable").reset_index(drop=True)

    bought_rows = []
    risk_of: dict[tuple[str, str, int], int] = defaultdict(int)
    for u in units:
        if (y := chosen[id(u)]) is not None:
            risk_of[(u.site_code, u.device_class, y)] += u.risk.total
    for (s, c, y), k in sorted(per_pair_year.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])):
        bought_rows.append({"site_code": s, "site_name": need[(s, c)].site_name, "device_class": c, "line_id": line_of[c], "year": y, "units": k,
                            "unit_price": prices[c], "cost": round(k * prices[c], 2), "risk": risk_of[(s, c, y)]})  # fmt: skip
    missed_rows = []
    for (s, c), n in sorted(need.items()):
        if c not in line_of or prices.get(c) is None:
            continue
        for y in years:
            i = index[y]
            in_place = n.counting[i] + cum_pair[(s, c, y)]
            if n.target[i] > in_place:
                missed_rows.append({"site_code": s, "site_name": n.site_name, "device_class": c, "year": y, "approved": n.approved,
                                    "target": n.target[i], "in_place": in_place, "missing": n.target[i] - in_place})  # fmt: skip
    spend_rows = [{"year": y, "line_id": line, "units": units_per_line.get((line, y), 0), "spend": round(spend.get((line, y), 0.0), 2)}
                  for y in years for line in funding.line_money]  # fmt: skip
    deferred = unit_frame[unit_frame["status"] == "deferred"].reset_index(drop=True)
    return {
        "units": unit_frame,
        "bought": pd.DataFrame(bought_rows, columns=["site_code", "site_name", "device_class", "line_id", "year", "units", "unit_price", "cost", "risk"]),
        "deferred": deferred,
        "missed": pd.DataFrame(missed_rows, columns=["site_code", "site_name", "device_class", "year", "approved", "target", "in_place", "missing"]),
        "spend": pd.DataFrame(spend_rows, columns=["year", "line_id", "units", "spend"]),
        "money": pd.DataFrame(money_rows, columns=["year", "money", "available", "spent", "carried_over"]),
    }


UNIT_COLUMNS = [
    "site_code", "site_name", "device_class", "line_id", "replaces", "risk", "parts_vi", "parts_en", "unit_price",
    "available_year", "bought_year", "status", "reason", "reason_vi",
]  # fmt: skip


# ------------------------------------------------------------------------------ from the policy and the plan


def needs_from_plan(plan: Plan) -> list[Need]:
    """One Need per (site, class) of a plan over the schedule's years."""
    rows = plan.rows.sort_values(["site_code", "device_class", "year"])
    per_pair: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    columns = ("site_code", "device_class", "year", "site_name", "approved", "counting", "target")
    for site, cls, year, name, approved, counting, target in zip(*(rows[c] for c in columns), strict=True):
        per_pair[(str(site), str(cls))].append((int(year), str(name), int(approved), int(counting), int(target)))
    needs = []
    for (site, cls), part in per_pair.items():
        if tuple(p[0] for p in part) != plan.years:
            raise ValueError(f"{site}/{cls}: the plan lacks some of the years {plan.years}")
        needs.append(Need(site, part[0][1], cls, part[0][2], tuple(p[3] for p in part), tuple(p[4] for p in part)))
    return needs


def funding_from_policy(policy: Policy, years: Sequence[int], *, budget_plan: str = "db_2026_2030", reserve_other_lines: bool = False) -> Funding:
    """The policy's money: phasing per year, the lines that hold device classes as envelopes.
    `reserve_other_lines`: each year's phasing times the equipment lines' share of all lines."""
    budget = policy.budget.plan(budget_plan)
    equipment = [line for line in budget.lines if line.classes]
    share = sum(line.amount for line in equipment) / budget.lines_total if reserve_other_lines and budget.lines_total else 1.0
    return Funding(
        years=tuple(years),
        year_money={y: round(budget.phasing.get(y, 0.0) * share, 2) for y in years},
        line_money={line.id: line.amount for line in equipment},
        line_of_class={cls: line.id for line in equipment for cls in line.classes},
        prices={cls: p for cls, p in policy.prices.unit_prices.items() if p is not None},
        penalty_per_million=policy.risk.schedule_penalty_per_million,
        line_titles={line.id: line.title.vi for line in equipment},
    )


def fundable_from_inventory(session: Session, policy: Policy, today: date, *, reserve_other_lines: bool = False) -> FundablePlan:
    """The fundable plan of the inventory as it is, over the schedule's years."""
    from compliance.risk import build_units, risk_fleet
    from compliance.service import plan_from_inventory

    plan = plan_from_inventory(session, policy, today)
    units = build_units(risk_fleet(session, policy, today), plan, policy)
    return fit(units, needs_from_plan(plan), funding_from_policy(policy, plan.years, reserve_other_lines=reserve_other_lines))


# ------------------------------------------------------------------------------ the plan's workbook


def write_fundable_sheets(wb: Any, plan: FundablePlan, years: Sequence[int] | None = None) -> None:
    """The fundable plan's sheets in the plan workbook (compliance.planner.write_plan_xlsx):
    money and lines, units bought per site, deferred units with their reason, missed targets."""
    from compliance.workbook import INT_FORMAT, MONEY_FORMAT, PCT_FORMAT, Column, SheetWriter, class_label, column, records, vi_number

    frames = plan.shown(years)
    line_vi = dict(plan.line_titles)
    span = ", ".join(str(y) for y in sorted(set(years or plan.years)))
    note = (f"Mua sắm theo khả năng vốn, năm {span}: chọn thiết bị giảm rủi ro nhiều nhất trong vốn phân kỳ từng năm (vốn chưa dùng "
            "chuyển sang năm sau), trong kinh phí từng hạng mục và số lượng được duyệt; chỉ tiêu 40/80/100% được ưu tiên đáp ứng "
            "khi đủ vốn. Đơn vị tính tiền: triệu đồng.")  # fmt: skip

    money_columns = [
        Column("Năm", "year", 10, "0", align="center"), Column("Vốn phân kỳ", "money", 14, MONEY_FORMAT, total=True),
        Column("Vốn có thể dùng (kể cả chuyển sang)", "available", 16, MONEY_FORMAT), Column("Đã dùng", "spent", 14, MONEY_FORMAT, total=True),
        Column("Chuyển sang năm sau", "carried_over", 14, MONEY_FORMAT),
    ]  # fmt: skip
    spend_columns = [
        Column("Năm", "year", 10, "0", align="center"), Column("Hạng mục", "line_vi", 40),
        Column("Số thiết bị", "units", 12, INT_FORMAT, total=True), Column("Thành tiền", "spend", 16, MONEY_FORMAT, total=True),
    ]  # fmt: skip
    ws = wb.create_sheet("Theo khả năng vốn")
    writer = SheetWriter(ws, len(money_columns))
    writer.title("KẾ HOẠCH MUA SẮM THEO KHẢ NĂNG VỐN")
    writer.note(note)
    writer.note(f"Rủi ro được giảm (điểm x năm): {vi_number(plan.risk_years)}, còn thiếu so với chỉ tiêu {vi_number(plan.missing_units)} thiết bị-năm; "
                f"nếu mua theo thứ tự rủi ro trên mỗi triệu đồng: {vi_number(plan.greedy_risk_years)}, còn thiếu {vi_number(plan.greedy_missing_units)}.")  # fmt: skip
    writer.blank()
    writer.note("1. Vốn theo năm", bold=True)
    writer.table(money_columns, records(frames["money"]), totals_label="Tổng cộng")
    writer.blank()
    writer.note("2. Chi theo hạng mục", bold=True)
    writer.table(spend_columns, [r | {"line_vi": line_vi.get(r["line_id"], r["line_id"])} for r in records(frames["spend"])], totals_label="Tổng cộng")
    for w in plan.warnings:
        writer.note(f"- {w.vi}")
    writer.finish(freeze=False, repeat_header=False)

    # One row per year x site x class (with its budget line): the filter buttons pick any of them.
    bought_columns = [
        Column("Năm", "year", 8, "0", align="center"), column("site_code"), column("site_name"), column("class_vi", 24),
        Column("Hạng mục kinh phí", "line_vi", 30), Column("Số lượng mua", "units", 10, INT_FORMAT, total=True),
        Column("Đơn giá", "unit_price", 12, MONEY_FORMAT), column("cost", 16), Column("Rủi ro được giảm (điểm)", "risk", 12, INT_FORMAT, total=True),
    ]  # fmt: skip
    bought_rows = [r | {"class_vi": class_label(r["device_class"]), "line_vi": line_vi.get(r["line_id"], r["line_id"])} for r in records(frames["bought"])]
    bought_note = f"Năm {span}; mỗi dòng: một năm, một đơn vị, một loại thiết bị; đơn vị tính tiền: triệu đồng."
    _filtered_sheet(wb.create_sheet("Mua theo vốn"), "THIẾT BỊ MUA THEO KHẢ NĂNG VỐN", (bought_note,), bought_columns, bought_rows, "Tổng cộng")

    deferred_columns = [
        Column("Năm cần mua", "available_year", 10, "0", align="center"), column("site_code"), column("site_name"), column("class_vi", 20),
        Column("Hạng mục kinh phí", "line_vi", 24), Column("Thay thế thiết bị", "replaces", 18), Column("Đơn giá", "unit_price", 12, MONEY_FORMAT),
        Column("Rủi ro (điểm)", "risk", 10, INT_FORMAT), Column("Thành phần rủi ro", "parts_vi", 50), Column("Lý do hoãn", "reason_vi", 30),
        Column("Năm mua", "bought_year", 10, "0", align="center"),
    ]  # fmt: skip
    deferred_rows = [
        r | {"class_vi": class_label(r["device_class"]), "line_vi": line_vi.get(r["line_id"], r["line_id"]), "replaces": r["replaces"] or "(bổ sung còn thiếu)"}
        for r in records(frames["deferred"])
    ]  # fmt: skip
    _filtered_sheet(wb.create_sheet("Hoãn mua"), "THIẾT BỊ HOÃN MUA", ("Năm mua để trống: chưa mua được trong giai đoạn kế hoạch.",), deferred_columns, deferred_rows, None)

    # By how much: units short, the share reached, and what buying them would cost.
    price_of = {r["device_class"]: r["unit_price"] for r in records(plan.units[["device_class", "unit_price"]].drop_duplicates("device_class"))}
    missed_columns = [
        Column("Năm", "year", 8, "0", align="center"), column("site_code"), column("site_name"), column("class_vi", 24),
        column("approved"), column("target"), column("in_place"),
        column("missing"), Column("Đạt so với số được duyệt (%)", "reached_pct", 12, PCT_FORMAT),
        Column("Kinh phí còn thiếu (triệu đồng)", "missing_cost", 16, MONEY_FORMAT, total=True),
    ]  # fmt: skip
    missed_rows = [
        r | {"class_vi": class_label(r["device_class"]), "reached_pct": round(100 * r["in_place"] / r["approved"], 1) if r["approved"] else None,
             "missing_cost": None if price_of.get(r["device_class"]) is None else round(r["missing"] * price_of[r["device_class"]], 2)}
        for r in records(frames["missed"])
    ]  # fmt: skip
    _filtered_sheet(wb.create_sheet("Chưa đạt chỉ tiêu"), "ĐƠN VỊ CHƯA ĐẠT CHỈ TIÊU 40/80/100% SAU KHI MUA THEO VỐN",
                    ("Chỉ tiêu: số thiết bị phải có theo lộ trình của năm; kinh phí còn thiếu: số còn thiếu nhân đơn giá.",), missed_columns, missed_rows, "Tổng cộng")  # fmt: skip


def _filtered_sheet(ws: Any, title: str, notes: Sequence[str], columns: Sequence[Any], rows: list[dict[str, Any]], totals_label: str | None) -> None:
    """A titled table with filter buttons over its rows, set up for A4 (compliance.workbook)."""
    from compliance.workbook import SheetWriter

    writer = SheetWriter(ws, len(columns))
    writer.title(title)
    for text in notes:
        writer.note(text)
    writer.blank()
    header = writer.table(columns, rows, totals_label=totals_label)
    writer.autofilter(header, header + len(rows), len(columns))
    writer.finish()
