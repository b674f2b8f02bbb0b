"""Vendor, operating system and country of origin from what a device says, as data.

The tables live in ``collectors/data/enterprises.yaml`` (IANA enterprise number -> vendor,
vendor aliases, sysDescr -> OS rules) and ``collectors/data/origins.yaml`` (vendor [+ model
regex] -> ISO 3166 country code). They are read once and validated; a bad file raises
`VendorDataError` naming the file and the entry.

    >>> vendor_for_sys_object_id("1.3.6.1.4.1.9.1.1208")
    'Cisco'
    >>> canonical_vendor("Dell Inc.")
    'Dell'
    >>> origin_for("Huawei", "S5735-L24T4S-A")
    'CN'
    >>> os_from_sys_descr("FortiGate-100F v7.2.8,build1639,240313 (GA.M)")
    ('FortiOS', '7.2.8')
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
ENTERPRISES_FILE = DATA_DIR / "enterprises.yaml"
ORIGINS_FILE = DATA_DIR / "origins.yaml"

ENTERPRISES_PREFIX = "1.3.6.1.4.1."
_ISO = re.compile(r"[A-Z]{2}")
# Legal-form words ignored when comparing vendor names ("Dell Inc." == "Dell").
_LEGAL = frozenset(
    ["inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc", "gmbh", "ag", "sa", "sas", "srl", "bv", "nv", "plc", "jsc", "jsc.", "kk", "oy", "ab", "spa", "pte", "pty"]
)


class VendorDataError(ValueError):
    """A vendor data file is missing, not YAML, or has an entry of the wrong shape."""


def _key(name: str) -> str:
    """Comparison key of a vendor name: case, accents kept apart, punctuation and legal suffixes dropped."""
    text = unicodedata.normalize("NFC", name).casefold()
    words = re.sub(r"[^\w]+", " ", text).split()
    while len(words) > 1 and words[-1] in _LEGAL:
        words.pop()
    return " ".join(words)


@dataclass(frozen=True)
class _OsRule:
    match: re.Pattern[str]
    name: str
    version: re.Pattern[str] | None


@dataclass(frozen=True)
class _Origin:
    default: str | None
    models: tuple[tuple[re.Pattern[str], str], ...] = ()


class VendorData:
    """The validated content of the two data files."""

    def __init__(
        self,
        enterprises: dict[int, str],
        agents: frozenset[int],
        names: dict[str, str],
        os_rules: tuple[_OsRule, ...],
        origins: dict[str, _Origin],
    ) -> None:
        self.enterprises = enterprises
        self.agents = agents
        self._names = names  # _key(name or alias) -> canonical name
        self.os_rules = os_rules
        self._origins = origins  # _key(canonical) -> origin

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_files(cls, enterprises_file: Path = ENTERPRISES_FILE, origins_file: Path = ORIGINS_FILE) -> VendorData:
        ent = _read(enterprises_file)
        org = _read(origins_file)
        where = str(enterprises_file)

        raw_ent = _section(ent, "enterprises", dict, where)
        enterprises: dict[int, str] = {}
        for number, name in raw_ent.items():
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise VendorDataError(f"{where}: enterprises: key {number!r} is not an enterprise number")
            enterprises[number] = _name(name, f"{where}: enterprises[{number}]")

        agents_raw = _section(ent, "agents", list, where, required=False) or []
        for number in agents_raw:
            if not isinstance(number, int) or number not in enterprises:
                raise VendorDataError(f"{where}: agents: {number!r} is not a number listed under enterprises")
        agents = frozenset(agents_raw)

        names: dict[str, str] = {}

        def add_name(alias: str, canonical: str, ctx: str) -> None:
            k = _key(alias)
            if not k:
                raise VendorDataError(f"{ctx}: empty vendor name {alias!r}")
            if names.get(k, canonical) != canonical:
                raise VendorDataError(f"{ctx}: {alias!r} already names vendor {names[k]!r}")
            names[k] = canonical

        for canonical in enterprises.values():
            add_name(canonical, canonical, f"{where}: enterprises")
        for canonical, aliases in (_section(ent, "aliases", dict, where, required=False) or {}).items():
            canonical = _name(canonical, f"{where}: aliases")
            add_name(canonical, canonical, f"{where}: aliases[{canonical}]")
            if not isinstance(aliases, list):
                raise VendorDataError(f"{where}: aliases[{canonical}] must be a list of names")
            for alias in aliases:
                add_name(_name(alias, f"{where}: aliases[{canonical}]"), canonical, f"{where}: aliases[{canonical}]")

        os_rules = []
        for n, rule in enumerate(_section(ent, "os", list, where, required=False) or []):
            ctx = f"{where}: os[{n}]"
            if not isinstance(rule, dict) or set(rule) - {"match", "name", "version"} or "match" not in rule:
                raise VendorDataError(f"{ctx}: expected {{match: REGEX, name: OS, version: REGEX?}}, got {rule!r}")
            version = rule.get("version")
            os_rules.append(
                _OsRule(
                    _regex(rule["match"], ctx),
                    _name(rule.get("name"), ctx),
                    _regex(version, ctx, groups=1) if version is not None else None,
                )
            )

        where = str(origins_file)
        origins: dict[str, _Origin] = {}
        for vendor, spec in _section(org, "origins", dict, where).items():
            vendor = _name(vendor, f"{where}: origins")
            ctx = f"{where}: origins[{vendor}]"
            canonical = names.get(_key(vendor), vendor)
            names.setdefault(_key(vendor), vendor)
            if isinstance(spec, str):
                origin = _Origin(_iso(spec, ctx))
            elif isinstance(spec, dict) and not set(spec) - {"default", "models"}:
                models = []
                for m, rule in enumerate(spec.get("models") or []):
                    mctx = f"{ctx}.models[{m}]"
                    if not isinstance(rule, dict) or set(rule) != {"match", "origin"}:
                        raise VendorDataError(f"{mctx}: expected {{match: REGEX, origin: CODE}}, got {rule!r}")
                    models.append((_regex(rule["match"], mctx), _iso(rule["origin"], mctx)))
                default = spec.get("default")
                origin = _Origin(_iso(default, ctx) if default is not None else None, tuple(models))
            else:
                raise VendorDataError(f"{ctx}: expected a country code or {{default:, models:}}, got {spec!r}")
            if _key(canonical) in origins:
                raise VendorDataError(f"{ctx}: vendor {canonical!r} is listed twice")
            origins[_key(canonical)] = origin
        return cls(enterprises, agents, names, tuple(os_rules), origins)

    # ------------------------------------------------------------------ questions
    def canonical_vendor(self, name: str | None) -> str | None:
        """The name kiemke uses for a vendor name as a device or a file spells it."""
        if not name or not name.strip():
            return None
        return self._names.get(_key(name), name.strip())

    def enterprise_of(self, sys_object_id: str | None) -> int | None:
        if not sys_object_id:
            return None
        oid = sys_object_id.strip().lstrip(".")
        if not oid.startswith(ENTERPRISES_PREFIX):
            return None
        head = oid[len(ENTERPRISES_PREFIX) :].split(".", 1)[0]
        return int(head) if head.isdigit() else None

    def vendor_for_sys_object_id(self, sys_object_id: str | None) -> str | None:
        number = self.enterprise_of(sys_object_id)
        return None if number is None else self.enterprises.get(number)

    def is_agent_software(self, sys_object_id: str | None) -> bool:
        """True when the sysObjectID names agent software (net-snmp, Windows), not a hardware maker."""
        return self.enterprise_of(sys_object_id) in self.agents

    def origin_for(self, vendor: str | None, model: str | None = None) -> str | None:
        canonical = self.canonical_vendor(vendor)
        if canonical is None:
            return None
        origin = self._origins.get(_key(canonical))
        if origin is None:
            return None
        if model:
            for pattern, code in origin.models:
                if pattern.search(model):
                    return code
        return origin.default

    def os_from_sys_descr(self, sys_descr: str | None) -> tuple[str | None, str | None]:
        """(OS name, version) from sysDescr by the first matching rule; (None, None) if none."""
        if not sys_descr:
            return None, None
        text = sys_descr[:4096]  # rules look at the head; a hostile 64 KB value costs nothing more
        for rule in self.os_rules:
            if rule.match.search(text):
                version = None
                if rule.version is not None and (m := rule.version.search(text)):
                    version = m.group(1)
                return rule.name, version
        return None, None


# --------------------------------------------------------------------- validation helpers
def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise VendorDataError(f"{path}: cannot read vendor data: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise VendorDataError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise VendorDataError(f"{path}: expected a mapping at the top level")
    return data


def _section(data: dict, key: str, kind: type, where: str, *, required: bool = True) -> Any:
    if key not in data:
        if required:
            raise VendorDataError(f"{where}: missing section {key!r}")
        return None
    value = data[key]
    if not isinstance(value, kind):
        raise VendorDataError(f"{where}: section {key!r} must be a {kind.__name__}")
    return value


def _name(value: object, ctx: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise VendorDataError(f"{ctx}: expected a non-empty name, got {value!r}")
    return value.strip()


def _iso(value: object, ctx: str) -> str:
    if not isinstance(value, str) or not _ISO.fullmatch(value):
        raise VendorDataError(f"{ctx}: {value!r} is not an ISO 3166 alpha-2 code (two capital letters)")
    return value


def _regex(value: object, ctx: str, *, groups: int = 0) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise VendorDataError(f"{ctx}: expected a regular expression, got {value!r}")
    try:
        pattern = re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise VendorDataError(f"{ctx}: bad regular expression {value!r}: {exc}") from exc
    if pattern.groups < groups:
        raise VendorDataError(f"{ctx}: regular expression {value!r} needs a group for the version")
    return pattern


# --------------------------------------------------------------------- module-level API
@lru_cache(maxsize=1)
def vendor_data() -> VendorData:
    """The shipped tables, read and validated once per process."""
    return VendorData.from_files()


def vendor_for_sys_object_id(sys_object_id: str | None) -> str | None:
    """The vendor whose IANA enterprise number heads `sys_object_id`, or None."""
    return vendor_data().vendor_for_sys_object_id(sys_object_id)


def is_agent_software(sys_object_id: str | None) -> bool:
    return vendor_data().is_agent_software(sys_object_id)


def canonical_vendor(name: str | None) -> str | None:
    return vendor_data().canonical_vendor(name)


def origin_for(vendor: str | None, model: str | None = None) -> str | None:
    """ISO country code of origin for a vendor (and model), or None when unknown."""
    return vendor_data().origin_for(vendor, model)


def os_from_sys_descr(sys_descr: str | None) -> tuple[str | None, str | None]:
    return vendor_data().os_from_sys_descr(sys_descr)
