"""Findings kept over time: each evaluation opens new ones, refreshes the ones that still hold,
resolves the ones that no longer do (they stay, with their history), and respects waivers until
they expire."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import and_, bindparam, case, false, func, insert, or_, select, update
from sqlmodel import Session

from compliance.engine import Scope, Violation, id_batches
from inventory import audit
from inventory.choices import FindingStatus, Role, Severity
from inventory.identity import normalize_mac
from inventory.models import Device, DeviceMac, Finding, Site, User, utcnow

EVIDENCE_LIMIT = 20_000


@dataclass
class SyncSummary:
    opened: int = 0
    still_open: int = 0
    reopened: int = 0
    resolved: int = 0
    waived: int = 0
    by_severity: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "opened": self.opened, "still_open": self.still_open, "reopened": self.reopened,
            "resolved": self.resolved, "waived": self.waived, "open_by_severity": dict(self.by_severity),
        }  # fmt: skip


def sync_findings(
    session: Session,
    violations: list[Violation],
    *,
    now: datetime | None = None,
    today: date | None = None,
    not_evaluated: Collection[tuple[str, str]] = (),
    scope: Scope | None = None,
) -> SyncSummary:
    """`not_evaluated`: (rule id, subject key) pairs whose check raised; their findings stay as
    they are (fail closed: an error is not a pass). `scope`: the violations are those of its
    devices and sites only, so only their findings may be resolved (None: the whole fleet)."""
    now = now or utcnow()
    today = today or now.date()
    summary = SyncSummary()
    columns = select(Finding.id, Finding.rule_id, Finding.subject_key, Finding.status, Finding.waiver_expires, Finding.severity, Finding.expected, Finding.actual, Finding.evidence)
    queries = [columns] if scope is None else [columns.where(condition) for condition in _in_scope(scope)]
    existing = {(rule_id, key): (fid, status, expires, tuple(shown)) for query in queries for fid, rule_id, key, status, expires, *shown in session.execute(query)}
    current = set()
    inserts, updates = [], []
    for v in violations:
        key = (v.rule_id, v.subject_key)
        if key in current:
            continue
        current.add(key)
        values = {
            "severity": v.severity, "expected": v.expected[:EVIDENCE_LIMIT], "actual": v.actual[:EVIDENCE_LIMIT],
            "evidence": "\n".join(v.evidence)[:EVIDENCE_LIMIT], "last_seen": now,
        }  # fmt: skip
        found = existing.get(key)
        if found is None:
            inserts.append({"rule_id": v.rule_id, "subject_key": v.subject_key, "device_id": v.device_id, "site_id": v.site_id, "status": FindingStatus.OPEN.value, "first_seen": now, **values})
            summary.opened += 1
            summary.by_severity[v.severity] += 1
            continue
        fid, status, expires, shown = found
        if status == FindingStatus.WAIVED.value and expires is not None and expires >= today:
            summary.waived += 1
        elif status == FindingStatus.OPEN.value:
            summary.still_open += 1
            summary.by_severity[v.severity] += 1
        else:  # resolved, or a waiver that expired: open again
            values.update(status=FindingStatus.OPEN.value, resolved_at=None)
            summary.reopened += 1
            summary.by_severity[v.severity] += 1
        if "status" not in values and shown == (values["severity"], values["expected"], values["actual"], values["evidence"]):
            # Found again as it was: only when it was last seen moves (revision.WHEN_SEEN), so an
            # evaluation that changes nothing shown leaves the data revision and the web's caches.
            updates.append({"id": fid, "last_seen": now})
            continue
        updates.append({"id": fid, **values})
    resolved = [
        {"id": fid, "status": FindingStatus.RESOLVED.value, "resolved_at": now}
        for key, (fid, status, _, _) in existing.items()
        if key not in current and key not in not_evaluated and status != FindingStatus.RESOLVED.value
    ]
    summary.resolved = len(resolved)
    if inserts:
        session.execute(insert(Finding.__table__), inserts)
    _update_by_id(session, updates + resolved)
    return summary


def _update_by_id(session: Session, rows: list[dict]) -> None:
    """UPDATE finding rows by id, one executemany per set of columns (Core: the ORM's bulk
    update by primary key costs several times more per row)."""
    table = Finding.__table__
    by_columns: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        by_columns.setdefault(tuple(sorted(row)), []).append(row)
    for columns, batch in by_columns.items():
        values = {name: bindparam(f"new_{name}") for name in columns if name != "id"}
        statement = update(table).where(table.c.id == bindparam("finding_id")).values(values)
        session.execute(statement, [{"finding_id": row["id"], **{f"new_{k}": v for k, v in row.items() if k != "id"}} for row in batch])


def _in_scope(scope: Scope) -> list:
    """Conditions that together select the findings of the scope: its devices' findings, and the
    site-level ones (no device) of its sites."""
    conditions = [Finding.device_id.in_(batch) for batch in id_batches(scope.device_ids)]
    conditions += [and_(Finding.device_id.is_(None), Finding.site_id.in_(batch)) for batch in id_batches(scope.site_ids)]
    return conditions


class WaiverError(ValueError):
    pass


def _must_be_security_officer(user: User) -> None:
    # Waivers are the security officer's alone (not even admin's): the same rule for granting,
    # revoking and extending one.
    if user.role != Role.SECURITY_OFFICER.value:
        raise WaiverError(f"only a security officer may waive findings; {user.username} is {user.role}")


def waive(session: Session, finding_ids: list[int], *, reason: str, expires: date, user: User, today: date | None = None) -> int:
    """Waive findings: needs a reason, a future expiry and the security-officer role."""
    today = today or date.today()
    _must_be_security_officer(user)
    if not reason or not reason.strip():
        raise WaiverError("a waiver needs a reason")
    if expires <= today:
        raise WaiverError(f"a waiver must expire in the future (got {expires.isoformat()})")
    count = 0
    for finding in session.execute(select(Finding).where(Finding.id.in_(finding_ids))).scalars():
        if finding.status == FindingStatus.RESOLVED.value:
            continue
        before = audit.snapshot(finding)
        finding.status = FindingStatus.WAIVED.value
        finding.waiver_reason = reason.strip()
        finding.waiver_expires = expires
        finding.waived_by = user.username
        audit.record(session, user.username, "waive", "finding", finding.id, before=before, after=audit.snapshot(finding))
        count += 1
    missing = set(finding_ids) - {f for f in session.execute(select(Finding.id).where(Finding.id.in_(finding_ids))).scalars()}
    if missing:
        raise WaiverError(f"no finding with id {', '.join(map(str, sorted(missing)))}")
    return count


def _waived_finding(session: Session, finding_id: int) -> Finding:
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise WaiverError(f"no finding with id {finding_id}")
    if finding.status != FindingStatus.WAIVED.value:
        raise WaiverError(f"finding {finding_id} is not waived")
    return finding


# How long the reason given for revoking or extending a waiver may be.
CHANGE_REASON_MAX = 500


def _change_reason(reason: str | None) -> dict[str, str]:
    """The audit entry's `reason` for a revocation or an extension: optional (the web's confirmed
    steps give none), but when given (CLI, API) it must say something."""
    if reason is None:
        return {}
    text = reason.strip()
    if not text:
        raise WaiverError("the reason is empty")
    if len(text) > CHANGE_REASON_MAX:
        raise WaiverError(f"the reason is longer than {CHANGE_REASON_MAX} characters")
    return {"reason": text}


def revoke_waiver(session: Session, finding_id: int, *, user: User, reason: str | None = None) -> Finding:
    """End a waiver now: the finding is open again (the next evaluation resolves it if it no
    longer holds). Audit-logged with the waiver as it was (and `reason`, when given)."""
    _must_be_security_officer(user)
    finding = _waived_finding(session, finding_id)
    why = _change_reason(reason)
    before = audit.snapshot(finding)
    finding.status = FindingStatus.OPEN.value
    finding.waiver_reason = finding.waiver_expires = finding.waived_by = None
    audit.record(session, user.username, "revoke_waiver", "finding", finding.id, before=before, after={**audit.snapshot(finding), **why})
    return finding


def extend_waiver(session: Session, finding_id: int, *, expires: date, user: User, today: date | None = None, reason: str | None = None) -> Finding:
    """Move a waiver's expiry later (never earlier, never into the past: revoke ends one).
    Audit-logged with the dates before and after (and `reason`, when given)."""
    today = today or date.today()
    _must_be_security_officer(user)
    finding = _waived_finding(session, finding_id)
    why = _change_reason(reason)
    if expires <= today:
        raise WaiverError(f"a waiver must expire in the future (got {expires.isoformat()})")
    if finding.waiver_expires is not None and expires <= finding.waiver_expires:
        raise WaiverError(f"the new expiry {expires.isoformat()} is not after the current one {finding.waiver_expires.isoformat()}")
    before = audit.snapshot(finding)
    finding.waiver_expires = expires
    audit.record(session, user.username, "extend_waiver", "finding", finding.id, before=before, after={**audit.snapshot(finding), **why})
    return finding


@dataclass(frozen=True)
class FindingFilter:
    rule: str | None = None
    severity: str | None = None
    site: str | None = None
    status: str | None = None
    device_id: int | None = None
    q: str | None = None  # a device's hostname (part of it), IP address or MAC in any notation
    device_ids: tuple[int, ...] | None = None  # the devices `q` matches, when resolve_search() found them


MAX_RESOLVED_DEVICES = 5000  # more devices matching a search: the queries keep the text match


def resolve_search(session: Session, flt: FindingFilter) -> FindingFilter:
    """The filter with its search text turned into the ids of the devices it matches, found once:
    the text match reads the whole device table, and one list page runs several finding queries."""
    if not flt.q or not flt.q.strip() or flt.device_ids is not None:
        return flt
    ids = list(session.execute(_matching_devices(flt.q).limit(MAX_RESOLVED_DEVICES + 1)).scalars())
    return flt if len(ids) > MAX_RESOLVED_DEVICES else replace(flt, device_ids=tuple(sorted(ids)))


def _matching_devices(text: str):
    """The ids of devices whose hostname contains `text`, whose address starts with it, or that
    own the MAC address `text` names (colons, dashes, dots or none)."""
    text = text.strip()
    matches = [Device.hostname.ilike(f"%{_escape_like(text)}%", escape="\\"), Device.mgmt_ip.like(f"{_escape_like(text)}%", escape="\\")]
    try:
        mac = normalize_mac(text)
    except ValueError:
        mac = None
    if mac is not None:
        matches.append(Device.id.in_(select(DeviceMac.device_id).where(DeviceMac.mac == mac)))
    return select(Device.id).where(or_(*matches))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(flt: FindingFilter) -> list:
    """The filter as conditions on the finding table alone (the site by a subquery on its code),
    so counting and paging need no join."""
    # A search that found a few devices: their findings are read by the device index. The other
    # columns are compared as expressions (`status || ''`, the same values), which no index
    # serves: else SQLite walks every open finding by the (status, severity, rule) index that
    # the grouping and the order like (0.2 s at 200,000 findings instead of a few ms).
    plain = (lambda column: column.concat("")) if flt.device_ids else (lambda column: column)
    conditions = []
    if flt.rule:
        conditions.append(plain(Finding.rule_id) == flt.rule)
    if flt.severity:
        conditions.append(plain(Finding.severity) == flt.severity)
    if flt.site:
        site_id = select(Site.id).where(Site.code == flt.site).scalar_subquery()
        conditions.append((Finding.site_id + 0 if flt.device_ids else Finding.site_id) == site_id)
    if flt.status:
        conditions.append(plain(Finding.status) == flt.status)
    if flt.device_id:
        conditions.append(Finding.device_id == flt.device_id)
    if flt.device_ids is not None:
        conditions.append(Finding.device_id.in_(flt.device_ids) if flt.device_ids else false())
    elif flt.q and flt.q.strip():
        conditions.append(Finding.device_id.in_(_matching_devices(flt.q)))
    return conditions


def finding_query(flt: FindingFilter):
    """Findings with their site code and device hostname, filtered."""
    query = select(Finding, Site.code.label("site_code"), Device.hostname.label("hostname")).outerjoin(Site, Site.id == Finding.site_id).outerjoin(Device, Device.id == Finding.device_id)
    return query.where(*_conditions(flt))


SEVERITY_ORDER = {severity.value: rank for rank, severity in enumerate(Severity)}  # most severe first


def severity_counts(session: Session, flt: FindingFilter = FindingFilter()) -> dict[str, int]:
    """How many findings the filter keeps, per severity."""
    query = select(Finding.severity, func.count()).where(*_conditions(flt)).group_by(Finding.severity)
    return dict(session.execute(query).all())


# The list's other orders (the default, "severity", has its own index-only path): the column,
# and the join it needs. Ties are broken by id, so a page never shuffles between two loads.
SORTS = {
    "id": (Finding.id, None),
    "rule": (Finding.rule_id, None),
    "site": (Site.code, "site"),
    "device": (Device.hostname, "device"),
    "status": (Finding.status, None),
}  # the list's columns; no dates: unindexed, sorting 200,000 findings by one takes a third of a second
SORT_KEYS = ("severity", *SORTS)


def _sorted_ids(session: Session, flt: FindingFilter, sort: str, descending: bool, offset: int, limit: int | None) -> list[int]:
    """One page of ids in another order than the default; empty values last either way."""
    if sort == "severity":
        column = case(*[(Finding.severity == s, n) for s, n in SEVERITY_ORDER.items()], else_=9)
        join = None
    else:
        column, join = SORTS[sort]
    query = select(Finding.id).where(*_conditions(flt))
    if join == "site":
        query = query.outerjoin(Site, Site.id == Finding.site_id)
    elif join == "device":
        query = query.outerjoin(Device, Device.id == Finding.device_id)
    then = [Finding.rule_id.desc() if descending else Finding.rule_id] if sort == "severity" else []
    query = query.order_by(column.is_(None), column.desc() if descending else column, *then, Finding.id.desc() if descending else Finding.id)
    if limit:
        query = query.offset(offset).limit(limit)
    return list(session.execute(query).scalars())


def _rows_by_id(session: Session, ids: list[int]) -> list:
    by_id = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        by_id.update({row[0].id: row for row in session.execute(finding_query(FindingFilter()).where(Finding.id.in_(chunk)))})
    return [by_id[i] for i in ids if i in by_id]


def matching_finding_ids(session: Session, flt: FindingFilter) -> list[int]:
    """Every finding the filter keeps that could be waived (not resolved): "select all N matching"."""
    query = select(Finding.id).where(*_conditions(flt), Finding.status != FindingStatus.RESOLVED.value).order_by(Finding.id)
    return list(session.execute(query).scalars())


def list_findings(
    session: Session, flt: FindingFilter = FindingFilter(), *, page: int = 1, per_page: int | None = 50, counts: dict[str, int] | None = None,
    sort: str = "severity", descending: bool = False,
) -> tuple[list[dict], int]:  # fmt: skip
    """One page of findings (most severe first, then by rule, unless `sort` names another of
    SORT_KEYS) as plain dicts, and the total.

    A page is found severity by severity: the count of each (`counts`, or severity_counts())
    tells which one (or two) the page falls in, and inside one severity the (status, severity,
    rule, id) index gives the order, so no page sorts the whole table. The ids come from the
    index first and the rows after.
    """
    conditions = _conditions(flt)
    counts = counts if counts is not None else severity_counts(session, flt)
    total = sum(counts.values())
    if sort not in SORT_KEYS:
        sort = "severity"
    if sort != "severity" or descending:
        every = not per_page or per_page < 0
        ids = _sorted_ids(session, flt, sort, descending, 0 if every else (max(page, 1) - 1) * per_page, None if every else per_page)
        found = _rows_by_id(session, ids)
    elif not per_page or per_page < 0:  # every finding
        order = case(*[(Finding.severity == s, n) for s, n in SEVERITY_ORDER.items()], else_=9)
        found = session.execute(finding_query(flt).order_by(order, Finding.rule_id, Finding.id)).all()
    else:
        ids: list[int] = []
        skip = (max(page, 1) - 1) * per_page
        for severity in sorted(counts, key=lambda s: (SEVERITY_ORDER.get(s, 9), s)):
            if skip >= counts[severity]:
                skip -= counts[severity]
                continue
            query = select(Finding.id).where(*conditions, Finding.severity == severity).order_by(Finding.rule_id, Finding.id)
            ids += session.execute(query.offset(skip).limit(per_page - len(ids))).scalars().all()
            skip = 0
            if len(ids) >= per_page:
                break
        by_id = {row[0].id: row for row in session.execute(finding_query(FindingFilter()).where(Finding.id.in_(ids)))} if ids else {}
        found = [by_id[i] for i in ids if i in by_id]
    rows = []
    for finding, code, hostname in found:
        item = finding.model_dump()
        item.update(site_code=code, hostname=hostname)
        rows.append(item)
    return rows, total
