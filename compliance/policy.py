"""The compliance policy as data: load and validate the YAML files in `compliance/policy/`.

    >>> policy = load_policy()
    >>> policy.rule("net.telnet_off").severity
    'critical'

Every problem found is reported at once, each with its file, item (rule id, entry id or country
code), field and reason; `PolicyError.issues` holds them for a UI. The shipped files are a
PROPOSAL (see baseline.yaml); administrators edit copies and point `load_policy` at them.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from compliance.checks import base as check_registry  # importing the package registers every check
from inventory.choices import DeviceClass as DeviceClassCode
from inventory.choices import Severity as SeverityCode
from inventory.choices import values

DEFAULT_POLICY_DIR = Path(__file__).with_name("policy")
DEVICE_CLASSES = tuple(values(DeviceClassCode))  # inventory.choices holds the vocabularies
SEVERITIES = tuple(values(SeverityCode))  # most severe first: the order every list sorts by
FILES = {
    "baseline": "baseline.yaml",
    "origin": "origin.yaml",
    "service_life": "service_life.yaml",
    "schedule": "schedule.yaml",
    "end_of_support": "end_of_support.yaml",
    "prices": "prices.yaml",
    "budget": "budget.yaml",
    "risk": "risk.yaml",
}


def _known_class(value: str) -> str:
    if value not in DEVICE_CLASSES:
        raise ValueError(f"unknown device class {value!r} (known: {', '.join(DEVICE_CLASSES)})")
    return value


DeviceClass = Annotated[str, AfterValidator(_known_class)]
Severity = Literal[SEVERITIES]  # type: ignore[valid-type]  # Literal of a tuple: each of its values
NonEmpty = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Model):
    """A text in Vietnamese and English."""

    vi: NonEmpty
    en: NonEmpty


# ------------------------------------------------------------------------------ baseline


class Rule(_Model):
    """One baseline rule: what is checked, on which device classes, how severe, and why."""

    id: Annotated[str, Field(pattern=r"^[a-z]+(\.[a-z0-9_]+)+$")]
    title: Text
    severity: Severity
    applies_to: Annotated[tuple[DeviceClass, ...], Field(min_length=1)]
    check: NonEmpty
    params: dict[str, Any] = Field(default_factory=dict)
    source: NonEmpty
    notes: Text | None = None
    enabled: bool = True

    def applies(self, device_class: str) -> bool:
        return self.enabled and device_class in self.applies_to


class Baseline(_Model):
    version: NonEmpty
    status: Literal["proposal", "approved"]
    title: Text
    # How old a device's collected data may be for its evaluation to count as a verdict: older,
    # and the device is "unknown" (stale), never "compliant".
    freshness_days: Annotated[int, Field(ge=1, le=366)] = 7
    rules: tuple[Rule, ...]


# ------------------------------------------------------------------------------ origin


class Country(_Model):
    code: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    group: Literal["vietnam", "asean", "partner", "g7", "eu"]
    name: Text


class OriginPolicy(_Model):
    source: NonEmpty
    unknown_is_finding: bool = True
    countries: tuple[Country, ...]

    @cached_property
    def codes(self) -> frozenset[str]:
        """The allowed codes (a cached property: read once per device, unlike a private attribute)."""
        return frozenset(c.code for c in self.countries)

    def is_allowed(self, code: str | None) -> bool:
        """True when `code` (ISO 3166 alpha-2) is on the allowed list."""
        return bool(code) and code.upper() in self.codes  # type: ignore[union-attr]


# ------------------------------------------------------------------------------ service life


class ServiceLifePolicy(_Model):
    source: NonEmpty
    default_years: Annotated[int, Field(gt=0)]
    by_class: dict[DeviceClass, Annotated[int, Field(gt=0)]] = Field(default_factory=dict)

    def years_for(self, device_class: str) -> int:
        return self.by_class.get(device_class, self.default_years)


# ------------------------------------------------------------------------------ schedule


class ScheduleGroup(_Model):
    id: NonEmpty
    title: Text
    classes: Annotated[tuple[DeviceClass, ...], Field(min_length=1)]
    cumulative: dict[int, Annotated[float, Field(ge=0, le=100)]]

    @field_validator("cumulative")
    @classmethod
    def _cumulative(cls, value: dict[int, float]) -> dict[int, float]:
        if not value:
            raise ValueError("at least one year is required")
        years = sorted(value)
        for before, after in itertools.pairwise(years):
            if value[after] < value[before]:
                raise ValueError(f"percentages must be cumulative (non-decreasing): {before}: {value[before]:g}% then {after}: {value[after]:g}%")
        return dict(sorted(value.items()))


class Deadline(_Model):
    id: NonEmpty
    date: date
    title: Text
    source: NonEmpty


class SchedulePolicy(_Model):
    source: NonEmpty
    # Whether a device of unknown compliance state counts toward the schedule (compliance.lifecycle);
    # strictly true or false: a quoted "false" is refused, not read as true.
    unknown_counts_toward_schedule: StrictBool = True
    groups: tuple[ScheduleGroup, ...]
    deadlines: tuple[Deadline, ...] = ()

    @cached_property
    def years(self) -> tuple[int, ...]:
        """The plan years: every year a group sets a cumulative share for (2026, 2027, 2028)."""
        return tuple(sorted({year for group in self.groups for year in group.cumulative}))

    def cumulative_share(self, device_class: str, year: int) -> float | None:
        """Cumulative % of the approved quantity due by the end of `year`; None if unscheduled."""
        for group in self.groups:
            if device_class in group.classes:
                due = [pct for y, pct in group.cumulative.items() if y <= year]
                return due[-1] if due else 0.0
        return None


# ------------------------------------------------------------------------------ end of support


class EndOfSupport(_Model):
    id: NonEmpty
    os: NonEmpty
    version: str = ""
    end_of_support: date
    source: NonEmpty

    @field_validator("os", "version")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
        return value

    def matches(self, os_name: str, os_version: str) -> bool:
        flags = re.IGNORECASE
        return bool(re.search(self.os, os_name, flags)) and bool(re.search(self.version, os_version, flags))


class EndOfSupportPolicy(_Model):
    entries: tuple[EndOfSupport, ...]

    @cached_property
    def answers(self) -> dict[tuple[str, str], EndOfSupport | None]:
        """(OS, version) -> entry, filled as asked: a fleet has few distinct OS releases. A
        cached property, not a pydantic private attribute (whose every read costs ~2 µs; a
        fleet asks once per device)."""
        return {}

    def lookup(self, os_name: str, os_version: str = "") -> EndOfSupport | None:
        """The first entry matching this OS name and version, or None when unknown."""
        answers = self.answers
        key = (os_name, os_version)
        if key not in answers:
            answers[key] = next((e for e in self.entries if e.matches(os_name, os_version)), None)
        return answers[key]


# ------------------------------------------------------------------------------ prices, budget


class PricePolicy(_Model):
    status: Literal["proposal", "approved"]
    currency: NonEmpty
    note: Text
    unit_prices: dict[DeviceClass, Annotated[float, Field(ge=0)] | None]

    def unit_price(self, device_class: str) -> float | None:
        """Million VND per unit; None when not priced (e.g. BML supplied by the Cipher Committee)."""
        return self.unit_prices.get(device_class)


class BudgetLine(_Model):
    id: NonEmpty
    title: Text
    amount: Annotated[float, Field(ge=0)]
    classes: tuple[DeviceClass, ...] = ()


class BudgetPlan(_Model):
    id: NonEmpty
    title: Text
    source: NonEmpty
    funding: NonEmpty
    stated_total: Annotated[float, Field(ge=0)]
    phasing: dict[int, Annotated[float, Field(ge=0)]]
    lines_complete: bool
    lines: tuple[BudgetLine, ...]

    @property
    def lines_total(self) -> float:
        return round(sum(line.amount for line in self.lines), 2)

    @property
    def phasing_total(self) -> float:
        return round(sum(self.phasing.values()), 2)

    @property
    def lines_gap(self) -> float:
        """stated_total - sum of lines (ĐB: 64,000 - 60,485.95 = 3,514.05); shown, never hidden."""
        return round(self.stated_total - self.lines_total, 2)


class BudgetPolicy(_Model):
    currency: NonEmpty
    plans: tuple[BudgetPlan, ...]

    def plan(self, plan_id: str) -> BudgetPlan:
        return next(p for p in self.plans if p.id == plan_id)


# ------------------------------------------------------------------------------ risk


class RiskWeight(_Model):
    """Points one risk factor adds to a unit to buy, and why (shown beside the points)."""

    points: Annotated[int, Field(ge=0)]
    reason: Text
    max_count: Annotated[int, Field(ge=1)] | None = None  # counted factors (years, findings): a cap
    classes: tuple[DeviceClass, ...] = ()  # factors that concern some classes only


class RiskWeights(_Model):
    """Every factor named, none optional: a misspelt or forgotten factor is a policy error."""

    broken: RiskWeight
    past_service_life: RiskWeight
    out_of_support: RiskWeight
    critical_finding: RiskWeight
    high_finding: RiskWeight
    zone_uncovered: RiskWeight
    secret_documents: RiskWeight
    unknown_state: RiskWeight


class RiskPolicy(_Model):
    source: NonEmpty
    weights: RiskWeights
    # The fundable plan's soft schedule targets: points per million VND missing (compliance.fundable).
    schedule_penalty_per_million: Annotated[float, Field(ge=0)]


# ------------------------------------------------------------------------------ policy


class Policy(_Model):
    """All policy files of one directory, validated together."""

    directory: Path
    baseline: Baseline
    origin: OriginPolicy
    service_life: ServiceLifePolicy
    schedule: SchedulePolicy
    end_of_support: EndOfSupportPolicy
    prices: PricePolicy
    budget: BudgetPolicy
    risk: RiskPolicy
    # SHA-256 over the files' names and bytes (see `policy_fingerprint`): what an evaluation
    # records, so a change of the files can be noticed (compliance.policy_watch).
    fingerprint: str = ""

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError when absent)."""
        for rule in self.baseline.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def rules_for(self, device_class: str) -> tuple[Rule, ...]:
        """Enabled rules that apply to `device_class`, in baseline order."""
        return tuple(r for r in self.baseline.rules if r.applies(device_class))


# ------------------------------------------------------------------------------ loading


@dataclass(frozen=True)
class PolicyIssue:
    """One problem in a policy file."""

    file: str
    item: str | None  # rule id, entry id or country code
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = [self.file]
        if self.item:
            where.append(self.item)
        if self.field:
            where.append(f"field {self.field!r}")
        return ": ".join(where) + f": {self.reason}"


class PolicyError(ValueError):
    """The policy files are missing or invalid; `issues` lists every problem found."""

    def __init__(self, issues: list[PolicyIssue], fingerprint: str = ""):
        self.issues = issues
        self.fingerprint = fingerprint  # of the files that failed (see `policy_fingerprint`)
        super().__init__("invalid policy:\n" + "\n".join(f"  - {issue}" for issue in issues))


M = TypeVar("M", bound=BaseModel)
_ITEM_KINDS = {"rules": "rule", "countries": "country", "entries": "entry", "groups": "group",
               "plans": "plan", "lines": "line", "deadlines": "deadline"}  # fmt: skip


@lru_cache(maxsize=1)
def shipped_policy() -> Policy:
    """The shipped policy, loaded once per process (pass a `policy` to use another)."""
    return load_policy()


def _read_files(directory: Path) -> dict[str, bytes | None]:
    """The bytes of every policy file (None: missing), read once: what is validated is what is
    fingerprinted, even while someone saves a file."""
    contents: dict[str, bytes | None] = {}
    for name in FILES.values():
        try:
            contents[name] = (directory / name).read_bytes()
        except FileNotFoundError:
            contents[name] = None
    return contents


def _fingerprint(contents: Mapping[str, bytes | None]) -> str:
    digest = hashlib.sha256()
    for name in sorted(contents):
        data = contents[name]
        # Name, then length (-1: missing) and bytes: no two different sets of files collide by
        # shifting bytes from one file to the next.
        digest.update(f"{name}\0{-1 if data is None else len(data)}\0".encode())
        digest.update(data or b"")
    return digest.hexdigest()


def policy_fingerprint(directory: Path | None = None) -> str:
    """SHA-256 over the names and bytes of the policy files in `directory` (default: the shipped
    ones), valid or not: the same as `load_policy(directory).fingerprint` when they load."""
    return _fingerprint(_read_files(Path(directory) if directory is not None else DEFAULT_POLICY_DIR))


def load_policy(directory: Path | None = None) -> Policy:
    """Load and validate every policy file in `directory` (default: the shipped PROPOSAL)."""
    directory = Path(directory) if directory is not None else DEFAULT_POLICY_DIR
    contents = _read_files(directory)
    fingerprint = _fingerprint(contents)
    # The same bytes validate the same way: parsed once per process (an evaluation loads the
    # policy every time, a batch of agent reports every few seconds); a changed file is read anew.
    known = _LOADED.get((directory, fingerprint))
    if known is not None:
        return known
    policy = _validated(directory, contents, fingerprint)
    if len(_LOADED) >= 8:
        _LOADED.clear()
    _LOADED[(directory, fingerprint)] = policy
    return policy


_LOADED: dict[tuple[Path, str], Policy] = {}


def _validated(directory: Path, contents: dict[str, bytes | None], fingerprint: str) -> Policy:
    issues: list[PolicyIssue] = []

    def load(key: str, model: type[M]) -> M | None:
        return _load(directory, FILES[key], contents[FILES[key]], model, issues)

    models = {
        "baseline": load("baseline", Baseline),
        "origin": load("origin", OriginPolicy),
        "service_life": load("service_life", ServiceLifePolicy),
        "schedule": load("schedule", SchedulePolicy),
        "end_of_support": load("end_of_support", EndOfSupportPolicy),
        "prices": load("prices", PricePolicy),
        "budget": load("budget", BudgetPolicy),
        "risk": load("risk", RiskPolicy),
    }
    if models["baseline"] is not None:
        issues += _baseline_issues(models["baseline"])  # type: ignore[arg-type]
    if models["origin"] is not None:
        issues += _duplicates(FILES["origin"], "country", [c.code for c in models["origin"].countries])  # type: ignore[union-attr]
    if models["schedule"] is not None:
        issues += _schedule_issues(models["schedule"])  # type: ignore[arg-type]
    if models["end_of_support"] is not None:
        issues += _duplicates(FILES["end_of_support"], "entry", [e.id for e in models["end_of_support"].entries])  # type: ignore[union-attr]
    if models["budget"] is not None:
        issues += _budget_issues(models["budget"])  # type: ignore[arg-type]
    if issues:
        raise PolicyError(issues, fingerprint)
    return Policy(directory=directory, fingerprint=fingerprint, **models)  # type: ignore[arg-type]


def _load(directory: Path, name: str, raw: bytes | None, model: type[M], issues: list[PolicyIssue]) -> M | None:
    """Parse one YAML file's bytes (None: missing) into `model`, appending any problem to `issues`."""
    if raw is None:
        issues.append(PolicyIssue(name, None, None, f"file missing in {directory}"))
        return None
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        issues.append(PolicyIssue(name, None, None, f"not UTF-8 text (byte {exc.start})"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        issues.append(PolicyIssue(name, None, None, f"YAML syntax error{where}: {getattr(exc, 'problem', exc)}"))
        return None
    if not isinstance(data, dict):
        issues.append(PolicyIssue(name, None, None, "expected a mapping at the top level"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errs = exc.errors()
        issues.extend(_translate(name, data, err) for err in errs if not _follow_on(err, errs))
        return None


def _follow_on(err: Mapping[str, Any], errs: list[Any]) -> bool:
    """A "too short" error caused only by invalid items reported on their own."""
    loc = tuple(err["loc"])
    return err["type"] == "too_short" and any(tuple(e["loc"])[: len(loc)] == loc and e is not err for e in errs)


def _translate(name: str, data: Mapping[str, Any], err: Mapping[str, Any]) -> PolicyIssue:
    """A pydantic error as (file, item, field, reason); list items are named by their id."""
    loc = list(err["loc"])
    item, node, path = None, data, []
    i = 0
    while i < len(loc):
        entry = _identified(node, loc, i)
        if entry is not None:
            kind, ident, node = entry
            item, path, i = f"{kind} {ident!r}", [], i + 2
            continue
        node = _child(node, loc[i])
        path.append(str(loc[i]))
        i += 1
    reason = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        reason = "unknown field"
    return PolicyIssue(name, item, ".".join(path) or None, reason)


def _identified(node: Any, loc: list[Any], i: int) -> tuple[str, str, Any] | None:
    """(kind, id, entry) when loc[i], loc[i+1] address a list entry that has an id or code."""
    if i + 1 >= len(loc) or not isinstance(node, Mapping) or not isinstance(loc[i + 1], int):
        return None
    seq, index = node.get(loc[i]), loc[i + 1]
    if not isinstance(seq, list) or index >= len(seq) or not isinstance(seq[index], Mapping):
        return None
    ident = seq[index].get("id") or seq[index].get("code") or f"#{index + 1}"
    return _ITEM_KINDS.get(str(loc[i]), str(loc[i])), str(ident), seq[index]


def _child(node: Any, key: Any) -> Any:
    if isinstance(node, Mapping):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and key < len(node):
        return node[key]
    return None


def _duplicates(name: str, kind: str, ids: list[str]) -> list[PolicyIssue]:
    seen: set[str] = set()
    found = []
    for ident in ids:
        if ident in seen:
            found.append(PolicyIssue(name, f"{kind} {ident!r}", "id" if kind != "country" else "code", "duplicate"))
        seen.add(ident)
    return found


def _baseline_issues(baseline: Baseline) -> list[PolicyIssue]:
    """Duplicate ids, unknown check names and check params of the wrong name or type."""
    name = FILES["baseline"]
    issues = _duplicates(name, "rule", [r.id for r in baseline.rules])
    known = check_registry.known_check_names()
    for rule in baseline.rules:
        where = f"rule {rule.id!r}"
        if rule.check not in known:
            issues.append(PolicyIssue(name, where, "check", f"unknown check {rule.check!r}"))
            continue
        registered = check_registry.get_check(rule.check)
        if registered is not None:
            issues += [PolicyIssue(name, where, f"params.{p}", r) for p, r in _param_problems(registered.params, rule.params)]
    return issues


def _param_problems(spec: Mapping[str, type], params: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for key, kind in spec.items():
        if key not in params:
            problems.append((key, f"missing (required by the check, type {kind.__name__})"))
        elif not isinstance(params[key], kind) or (kind is int and isinstance(params[key], bool)):
            problems.append((key, f"expected {kind.__name__}, got {type(params[key]).__name__} {params[key]!r}"))
    problems += [(key, "unknown parameter for this check") for key in params if key not in spec]
    return problems


def _schedule_issues(schedule: SchedulePolicy) -> list[PolicyIssue]:
    name = FILES["schedule"]
    issues = _duplicates(name, "group", [g.id for g in schedule.groups])
    owner: dict[str, str] = {}
    for group in schedule.groups:
        for cls in group.classes:
            if cls in owner:
                reason = f"device class {cls!r} already scheduled in group {owner[cls]!r}"
                issues.append(PolicyIssue(name, f"group {group.id!r}", "classes", reason))
            owner.setdefault(cls, group.id)
    return issues


def _budget_issues(budget: BudgetPolicy) -> list[PolicyIssue]:
    name = FILES["budget"]
    issues = _duplicates(name, "plan", [p.id for p in budget.plans])
    for plan in budget.plans:
        for issue in _duplicates(name, "line", [line.id for line in plan.lines]):
            issues.append(PolicyIssue(name, f"plan {plan.id!r}, {issue.item}", issue.field, issue.reason))
    return issues
