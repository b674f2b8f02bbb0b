"""The global search: one box, any of hostname, IP, MAC (any notation, or part of one), serial,
site code or name, assigned user -> the devices, sites and findings it names.

Cost on a large inventory: whole MACs go through device_mac's unique index and every group is
counted only up to `COUNT_CAP`, so a one-letter query cannot make the page count all 50,000
devices' findings. Site and assigned-user names are matched in Python without diacritics
("nguyen van an" finds "Nguyễn Văn An"): `NameIndex` holds them folded, built once per data
revision by the caller (web.search keeps it in the revision cache).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from inventory.choices import FindingStatus, Severity
from inventory.identity import normalize_mac
from inventory.models import Device, DeviceMac, Finding, Site

T = TypeVar("T")

MAX_QUERY = 100  # characters kept of what was typed
SHOWN = 50  # rows shown per group
COUNT_CAP = 1000  # a group's count stops here ("more than 1,000")
MAX_NAME_MATCHES = 500  # assigned users matched without diacritics, looked up by name
MIN_MAC_DIGITS = 4  # fewer hex digits are no MAC search (every MAC has "00")

_SEPARATORS = re.compile(r"[\s:.\-]")
_MAC_LIKE = re.compile(r"[0-9a-fA-F:.\-\s]+")
_IP_LIKE = re.compile(r"[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:]*")  # IPv4 or IPv6, whole or part
# The findings a search shows: the current ones (resolved findings are history, on the device page).
CURRENT_FINDINGS = (FindingStatus.OPEN.value, FindingStatus.WAIVED.value)
SEVERITY_ORDER = {s.value: i for i, s in enumerate(Severity)}


def _fold_char(char: str) -> str:
    if char in "đĐ":  # a letter of its own, not d with a mark: NFD leaves it alone
        return "d"
    base = unicodedata.normalize("NFD", char)[0].lower()
    return base[0] if base else char


# Latin (Vietnamese included), Greek and Cyrillic, as one translation table: folding a name is
# then one str.translate, fast enough for every assigned user of a large inventory.
_FOLD = {code: _fold_char(chr(code)) for code in range(0x2000) if _fold_char(chr(code)) != chr(code)}
_FOLD.update({code: _fold_char(chr(code)) for code in range(0x1E00, 0x1F00)})


def fold(text: str) -> str:
    """Lower case without diacritics, one character for one, so a match's position in the folded
    text is its position in the original (for highlighting).

    >>> fold("Đặng Thị Ễ")
    'dang thi e'
    """
    return text.translate(_FOLD)


@dataclass(frozen=True)
class SearchQuery:
    """What was typed, ready for matching: `text` (trimmed, cut to MAX_QUERY), its folded form,
    and the hex digits when it could be a MAC or part of one."""

    text: str
    folded: str
    mac_digits: str | None
    mac: str | None  # the whole MAC in stored form, when 12 digits were typed

    @classmethod
    def parse(cls, raw: str | None) -> SearchQuery | None:
        text = " ".join((raw or "").split())[:MAX_QUERY]
        if not text:
            return None
        digits = _SEPARATORS.sub("", text).lower()
        looks_like_ipv4 = re.fullmatch(r"[0-9.]+", text) is not None and "." in text
        mac_digits = None
        if _MAC_LIKE.fullmatch(text) and re.fullmatch(r"[0-9a-f]+", digits) and MIN_MAC_DIGITS <= len(digits) <= 12 and not looks_like_ipv4:
            mac_digits = digits
        mac = None
        if mac_digits and len(mac_digits) == 12:
            try:
                mac = normalize_mac(text)
            except ValueError:  # hex digits mixed with other separators: still a partial search
                mac = None
        return cls(text=text, folded=fold(text), mac_digits=mac_digits, mac=mac)

    @property
    def looks_like_ip(self) -> bool:
        return _IP_LIKE.fullmatch(self.text) is not None


def match_span(text: str | None, query: SearchQuery) -> tuple[int, int] | None:
    """Where `query` occurs in `text`, case and diacritics aside; None when it does not."""
    if not text:
        return None
    start = fold(text).find(query.folded)
    return None if start < 0 else (start, start + len(query.folded))


def mac_span(mac: str, query: SearchQuery) -> tuple[int, int] | None:
    """Where the typed hex digits occur in a stored MAC (aa:bb:cc:dd:ee:ff), separators aside."""
    if not query.mac_digits:
        return None
    digits = mac.replace(":", "")
    start = digits.find(query.mac_digits)
    if start < 0:
        return None
    last = start + len(query.mac_digits) - 1
    return start + start // 2, last + last // 2 + 1  # digit i sits at i + i//2 in colon form


# --- names matched without diacritics ----------------------------------------------------------


@dataclass(frozen=True)
class SiteName:
    id: int
    code: str
    name: str
    kind: str
    folded: str  # code and name, folded


@dataclass(frozen=True)
class NameIndex:
    """Every site and every distinct assigned user, folded: small enough to scan in Python."""

    sites: tuple[SiteName, ...]
    users: tuple[tuple[str, str], ...]  # (folded, as recorded)

    def sites_matching(self, query: SearchQuery) -> list[SiteName]:
        return [s for s in self.sites if query.folded in s.folded]

    def users_matching(self, query: SearchQuery) -> list[str]:
        return [name for folded, name in self.users if query.folded in folded]


def load_name_index(session: Session) -> NameIndex:
    sites = tuple(SiteName(id, code, name, kind, fold(f"{code}\n{name}")) for id, code, name, kind in session.execute(select(Site.id, Site.code, Site.name, Site.kind).order_by(Site.code)))
    # Made distinct here: a set is cheaper than the database sorting 50,000 names for DISTINCT.
    users = set(session.execute(select(Device.assigned_user).where(Device.assigned_user.is_not(None))).scalars())
    return NameIndex(sites=sites, users=tuple((fold(u), u) for u in sorted(users) if u.strip()))


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceHit:
    id: int
    hostname: str | None
    mgmt_ip: str | None
    serial: str | None
    assigned_user: str | None
    device_class: str
    status: str
    site_code: str
    site_name: str
    macs: tuple[str, ...]


@dataclass(frozen=True)
class FindingHit:
    id: int
    rule_id: str
    severity: str
    status: str
    device_id: int | None
    hostname: str | None
    site_code: str | None


@dataclass(frozen=True)
class Group(Generic[T]):
    rows: list[T]
    total: int  # up to COUNT_CAP
    capped: bool  # the total stopped at COUNT_CAP

    @property
    def more(self) -> bool:
        return self.capped or self.total > len(self.rows)


@dataclass(frozen=True)
class SearchResults:
    query: SearchQuery
    devices: Group[DeviceHit]
    sites: Group[SiteName]
    findings: Group[FindingHit]
    matched_users: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.devices.total or self.sites.total or self.findings.total)


def _like(text: str) -> str:
    """`%text%` with LIKE's own wildcards taken literally (escape character: backslash)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _contains(column, query: SearchQuery, dialect: str):
    """`column` contains the typed text, case aside. SQLite's LIKE ignores case for ASCII only
    (and lower() lowers ASCII only), so the typed, lower-case and capitalised forms are tried:
    "đặng" still finds "Đặng"; PostgreSQL's ILIKE knows every letter's case."""
    if dialect == "postgresql":
        return column.ilike(_like(query.text), escape="\\")
    forms = {query.text}
    if not query.text.isascii():
        forms |= {query.text.lower(), query.text[:1].upper() + query.text[1:].lower(), query.text.title()}
    return or_(*(column.like(_like(form), escape="\\") for form in sorted(forms)))


def _device_condition(query: SearchQuery, users: Sequence[str], dialect: str):
    conditions = [_contains(Device.hostname, query, dialect), _contains(Device.serial, query, dialect), _contains(Device.assigned_user, query, dialect)]
    if query.looks_like_ip:
        conditions.append(Device.mgmt_ip.like(_like(query.text.lower()), escape="\\"))
    if users:
        conditions.append(Device.assigned_user.in_(users))
    if query.mac:  # the whole address: device_mac's unique index
        conditions.append(Device.id.in_(select(DeviceMac.device_id).where(DeviceMac.mac == query.mac)))
    elif query.mac_digits:
        conditions.append(Device.id.in_(select(DeviceMac.device_id).where(func.replace(DeviceMac.mac, ":", "").like(_like(query.mac_digits), escape="\\"))))
    return or_(*conditions)


def _exact_ids(session: Session, query: SearchQuery) -> list[int]:
    """Devices whose hostname, serial or MAC is exactly what was typed: indexed look-ups, so they
    come first even when more than COUNT_CAP devices match in part."""
    statements = [select(Device.id).where(Device.hostname == query.text), select(Device.id).where(Device.serial == query.text.upper())]
    if query.mac:
        statements.append(select(DeviceMac.device_id).where(DeviceMac.mac == query.mac))
    return sorted({device_id for statement in statements for device_id in session.execute(statement.limit(SHOWN)).scalars()})


def _matching_device_ids(session: Session, condition) -> tuple[list[int], bool]:
    """The ids of the matching devices, no more than COUNT_CAP (and whether there were more):
    one pass over the devices, whose result orders the shown rows and finds their findings."""
    ids = list(session.execute(select(Device.id).where(condition).limit(COUNT_CAP + 1)).scalars())
    return ids[:COUNT_CAP], len(ids) > COUNT_CAP


def _devices(session: Session, ids: list[int], exact: list[int], query: SearchQuery) -> list[DeviceHit]:
    wanted = list(dict.fromkeys(exact + ids))
    rows = session.execute(
        select(Device.id, Device.hostname, Device.mgmt_ip, Device.serial, Device.assigned_user, Device.device_class, Device.status, Site.code, Site.name)
        .join(Site, Site.id == Device.site_id)
        .where(Device.id.in_(wanted))
    ).all()
    exact_set = set(exact)

    def order(row) -> tuple:
        is_exact = row[0] in exact_set or row[2] == query.text or (row[1] or "").lower() == query.text.lower()
        return (not is_exact, (row[1] or "").lower(), row[0])

    rows = sorted(rows, key=order)[:SHOWN]
    macs: dict[int, list[str]] = {}
    if rows:
        for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac).where(DeviceMac.device_id.in_([r[0] for r in rows])).order_by(DeviceMac.mac)):
            macs.setdefault(device_id, []).append(mac)
    return [DeviceHit(*row[:7], site_code=row[7], site_name=row[8], macs=tuple(macs.get(row[0], ()))) for row in rows]


def _finding_hits(session: Session, rows) -> list[FindingHit]:
    """`rows` (id, rule, severity, status, device id, site id) with their hostname and site code."""
    device_ids = {r.device_id for r in rows if r.device_id is not None}
    site_ids = {r.site_id for r in rows if r.site_id is not None}
    hostnames = dict(session.execute(select(Device.id, Device.hostname).where(Device.id.in_(device_ids))).all()) if device_ids else {}
    codes = dict(session.execute(select(Site.id, Site.code).where(Site.id.in_(site_ids))).all()) if site_ids else {}
    return [FindingHit(r.id, r.rule_id, r.severity, r.status, r.device_id, hostnames.get(r.device_id), codes.get(r.site_id)) for r in rows]


def _capped_count(session: Session, statement) -> tuple[int, bool]:
    """How many rows `statement` selects, counting no further than COUNT_CAP + 1."""
    n = session.execute(select(func.count()).select_from(statement.limit(COUNT_CAP + 1).subquery())).scalar_one()
    return min(n, COUNT_CAP), n > COUNT_CAP


def search(session: Session, query: SearchQuery, names: NameIndex) -> SearchResults:
    """The devices, sites and findings `query` names: at most SHOWN rows of each, exact matches
    (hostname, IP, serial, MAC) first, and each group's count up to COUNT_CAP."""
    dialect = session.get_bind().dialect.name
    users = names.users_matching(query)
    by_name = users if len(users) <= MAX_NAME_MATCHES else []  # too many: the LIKE covers the typed form
    condition = _device_condition(query, by_name, dialect)
    ids, devices_capped = _matching_device_ids(session, condition)
    exact = _exact_ids(session, query)
    devices = _devices(session, ids if not devices_capped else ids[:SHOWN], exact, query)
    device_total = COUNT_CAP if devices_capped else len(set(ids) | set(exact))

    sites = names.sites_matching(query)
    site_ids = [s.id for s in sites]

    # Findings: the current ones of the devices found, and the site-wide ones of the sites found.
    # Shown: those of the (at most COUNT_CAP) devices found, and the site-wide ones of the sites
    # found, ordered here: an ORDER BY over an OR of both would walk the whole findings table.
    found = sorted(set(ids) | set(exact))
    of_sites = and_(Finding.device_id.is_(None), Finding.site_id.in_(site_ids))
    current = Finding.status.in_(CURRENT_FINDINGS)
    columns = (Finding.id, Finding.rule_id, Finding.severity, Finding.status, Finding.device_id, Finding.site_id)
    rows = list(session.execute(select(*columns).where(current, Finding.device_id.in_(found)))) if found else []
    if site_ids:
        rows += session.execute(select(*columns).where(current, of_sites)).all()
    rows = sorted(rows, key=lambda r: (r.status != FindingStatus.OPEN.value, SEVERITY_ORDER.get(r.severity, len(SEVERITY_ORDER)), r.id))
    findings = _finding_hits(session, rows[:SHOWN])
    if devices_capped and len(rows) <= COUNT_CAP:  # counted: those of every matching device, up to the cap
        counted = or_(Finding.device_id.in_(select(Device.id).where(condition)), of_sites) if site_ids else Finding.device_id.in_(select(Device.id).where(condition))
        finding_total, finding_capped = _capped_count(session, select(Finding.id).where(current, counted))
    else:
        finding_total, finding_capped = min(len(rows), COUNT_CAP), len(rows) > COUNT_CAP

    return SearchResults(
        query=query,
        devices=Group(devices, device_total, devices_capped),
        sites=Group(sites[:SHOWN], len(sites), False),
        findings=Group(findings, finding_total, finding_capped),
        matched_users=users,
    )
