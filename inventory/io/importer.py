"""Import of sites, devices and approved quantities.

Every row is checked before anything is written. A file with any bad row changes nothing unless
`partial` is set; then the good rows go in and the bad ones are reported. A blank cell leaves the
recorded value as it is, so re-importing a file (or an export) changes nothing.

A dry run does all of it inside a savepoint it then rolls back: the report says, row by row, what
the import would create or change (field by field, old -> new) and nothing is written. The web
preview and `kiemke import --dry-run` both call import_file(dry_run=True).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from inventory import audit, revision
from inventory.choices import DeviceSource, DeviceStatus
from inventory.identity import IdentityConflict, IdentityIndex
from inventory.io.columns import FACT_KEYS, KINDS, Column, header_map
from inventory.io.facts import latest_values
from inventory.io.tabular import read_table
from inventory.models import ApprovedQuantity, Device, DeviceMac, Observation, Site, Subnet, Zone, utcnow
from inventory.repository import default_province, site_zone_index

MAX_COLUMN_SHOWN = 80
MAX_REASON = 300


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class ImportConflict(ValueError):
    """The file's rows collided with a concurrent change; the import must be rolled back."""


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number; the header is row 1
    column: str
    reason: str

    def __post_init__(self) -> None:
        # A message may quote what the file holds (a header, a parser's or a library's reason); cut it
        # so that a file full of long bad cells cannot make a report page of hundreds of megabytes.
        object.__setattr__(self, "column", _cut(self.column, MAX_COLUMN_SHOWN))
        object.__setattr__(self, "reason", _cut(self.reason, MAX_REASON))

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column '{self.column}'" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class FieldChange:
    column: str  # the column's Vietnamese header
    key: str  # the column's key (what a code is a code of)
    before: Any  # None: no recorded value
    after: Any


@dataclass(frozen=True)
class RowChange:
    row: int  # spreadsheet row number
    outcome: str  # "created", "updated" or "unchanged"
    record: str  # what the row names (a site code, a device's serial or address)
    fields: tuple[FieldChange, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "outcome": self.outcome, "record": self.record,
                "fields": [{"column": f.key, "before": _plain(f.before), "after": _plain(f.after)} for f in self.fields]}  # fmt: skip


@dataclass
class ImportReport:
    kind: str
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    applied: bool = False
    dry_run: bool = False
    would_apply: bool = False  # a dry run whose import would write: no error stops it
    changes: list[RowChange] = field(default_factory=list)  # row by row, in file order
    # What the import wrote, for whoever re-evaluates after the commit (not in as_dict).
    touched_device_ids: set[int] = field(default_factory=set)
    touched_site_ids: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "applied": self.applied,
            "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors],
        } | ({"dry_run": True, "would_apply": self.would_apply, "changes": [c.as_dict() for c in self.changes]} if self.dry_run else {})

    def note(self, change: RowChange) -> None:
        self.changes.append(change)
        if change.outcome == "created":
            self.created += 1
        elif change.outcome == "updated":
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass
class ParsedRow:
    number: int
    values: dict[str, Any]


def parse_rows(path: Path, columns: tuple[Column, ...], report: ImportReport) -> list[ParsedRow]:
    header, body = read_table(path)
    mapping = header_map(columns)
    positions: dict[int, Column] = {}
    for position, title in enumerate(header):
        column = mapping.get(title.lower())
        if column is None:
            report.errors.append(RowError(1, title, "unknown column"))
        elif column in positions.values():
            report.errors.append(RowError(1, title, f"column '{column.header_vi}' appears twice"))
        else:
            positions[position] = column
    present = set(positions.values())
    for column in columns:
        if column.required and column not in present:
            report.errors.append(RowError(1, column.header_vi, "required column is missing"))
    if report.errors:
        return []
    parsed: list[ParsedRow] = []
    for number, cells in body:
        report.rows += 1
        values: dict[str, Any] = {}
        ok = True
        for position, column in positions.items():
            raw = cells[position] if position < len(cells) else ""
            try:
                value = column.parse(raw)
            except ValueError as exc:
                report.errors.append(RowError(number, column.header_vi, str(exc)))
                ok = False
                continue
            if column.required and value in (None, "", ()):
                report.errors.append(RowError(number, column.header_vi, "required value is empty"))
                ok = False
            values[column.key] = value
        if ok:
            parsed.append(ParsedRow(number, values))
    return parsed


def import_file(session: Session, kind: str, path: Path, *, partial: bool = False, actor: str, dry_run: bool = False) -> ImportReport:
    """Check and apply one file. The caller's session is only written to when the import applies;
    with `dry_run`, never (report.applied then says whether the import would apply)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
    path = Path(path)
    report = ImportReport(kind=kind, file=path.name, dry_run=dry_run)
    rows = parse_rows(path, KINDS[kind], report)
    if any(error.row == 1 for error in report.errors):
        return report  # header problems: nothing can be trusted
    revision.claim_writes(session)  # plan and apply see the same recorded rows as concurrent imports
    planner = {"sites": _SiteImport, "devices": _DeviceImport, "approved": _ApprovedImport}[kind](session, actor)
    good = planner.plan(rows, report)
    report.errors.sort(key=lambda e: (e.row, e.column))
    if report.errors and not partial:
        return report
    savepoint = session.begin_nested() if dry_run else None
    try:
        planner.apply(good, report)
        session.flush()
    except IntegrityError:
        # Another writer (a poll creating a discovered device) recorded the same serial or address
        # between plan and write. The caller rolls back: nothing of this file is kept.
        if savepoint is not None:
            savepoint.rollback()
        raise ImportConflict(f"{path.name}: a device in the file was recorded by another change at the same moment; nothing was imported, import the file again") from None
    report.changes.sort(key=lambda change: change.row)
    if savepoint is not None:
        savepoint.rollback()  # the preview is all a dry run keeps
        report.touched_device_ids.clear()
        report.touched_site_ids.clear()
        report.would_apply = True
        return report
    audit.record(
        session,
        actor,
        "import",
        kind,
        None,
        after={
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected_rows": sorted({e.row for e in report.errors}),
        },
    )
    session.flush()
    report.applied = True
    return report


SITE_HEADERS = {c.key: c.header_vi for c in KINDS["sites"]}
DEVICE_HEADERS = {c.key: c.header_vi for c in KINDS["devices"]}
APPROVED_HEADERS = {c.key: c.header_vi for c in KINDS["approved"]}
DEVICE_ORDER = {key: position for position, key in enumerate(DEVICE_HEADERS)}
FACT_COLUMNS = {observation: column for column, observation in FACT_KEYS.items()}


def _field(headers: dict[str, str], key: str, before: Any, after: Any) -> FieldChange:
    return FieldChange(headers.get(key, key), key, before, after)


def _changes(current: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """Fields whose given (non-blank) value differs from the recorded one."""
    return {key: value for key, value in incoming.items() if value not in (None, "", ()) and current.get(key) != value}


class _SiteImport:
    def __init__(self, session: Session, actor: str) -> None:
        self.session = session
        self.actor = actor

    def plan(self, rows: list[ParsedRow], report: ImportReport) -> list[ParsedRow]:
        seen: dict[str, int] = {}
        good = []
        for row in rows:
            code = row.values["code"]
            if code in seen:
                report.errors.append(RowError(row.number, "Mã đơn vị", f"site {code} already appears on row {seen[code]}"))
                continue
            seen[code] = row.number
            good.append(row)
        return good

    def apply(self, rows: list[ParsedRow], report: ImportReport) -> None:
        session = self.session
        province = default_province(session)
        sites = {site.code: site for site in session.exec(select(Site)).scalars()}
        zones = site_zone_index(session)
        subnets: dict[int, set[str]] = defaultdict(set)
        for zone_id, cidr in session.execute(select(Subnet.zone_id, Subnet.cidr)):
            subnets[zone_id].add(cidr)
        for row in rows:
            values = row.values
            site = sites.get(values["code"])
            fields = {k: values.get(k) for k in ("name", "kind", "poll_interval_minutes")}
            shown: list[FieldChange] = []
            if site is None:
                site = Site(province_id=province.id, code=values["code"], **{k: v for k, v in fields.items() if v is not None})
                session.add(site)
                session.flush()
                audit.record(session, self.actor, "create", "site", site.id, after=audit.snapshot(site))
                report.touched_site_ids.add(site.id)
                shown = [_field(SITE_HEADERS, key, None, value) for key, value in fields.items() if value not in (None, "")]
                is_new = True
            else:
                diff = _changes(site.model_dump(), fields)
                if diff:
                    before = audit.snapshot(site)
                    shown = [_field(SITE_HEADERS, key, getattr(site, key), value) for key, value in diff.items()]
                    for key, value in diff.items():
                        setattr(site, key, value)
                    audit.record(session, self.actor, "update", "site", site.id, before=before, after=audit.snapshot(site))
                is_new = False
            for zone_kind in ("party_wan", "internet"):
                zone_id = zones.get((site.id, zone_kind))
                if zone_id is None:
                    zone = Zone(site_id=site.id, kind=zone_kind)
                    session.add(zone)
                    session.flush()
                    zone_id = zones[(site.id, zone_kind)] = zone.id
                recorded = sorted(subnets[zone_id])
                added = [cidr for cidr in values.get(f"{zone_kind}_subnets") or () if cidr not in subnets[zone_id]]
                for cidr in added:
                    session.add(Subnet(zone_id=zone_id, cidr=cidr))
                    subnets[zone_id].add(cidr)
                if added:
                    key = f"{zone_kind}_subnets"
                    shown.append(_field(SITE_HEADERS, key, "; ".join(recorded) or None, "; ".join(recorded + added)))
            if is_new:
                report.note(RowChange(row.number, "created", site.code, tuple(shown)))
            elif shown:
                report.note(RowChange(row.number, "updated", site.code, tuple(shown)))
                report.touched_site_ids.add(site.id)
            else:
                report.note(RowChange(row.number, "unchanged", site.code))


class _ApprovedImport:
    def __init__(self, session: Session, actor: str) -> None:
        self.session = session
        self.actor = actor
        self.site_ids = dict(session.execute(select(Site.code, Site.id)).all())

    def plan(self, rows: list[ParsedRow], report: ImportReport) -> list[ParsedRow]:
        seen: dict[tuple, int] = {}
        good = []
        for row in rows:
            code, device_class = row.values["site_code"], row.values["device_class"]
            if code not in self.site_ids:
                report.errors.append(RowError(row.number, "Mã đơn vị", f"unknown site {code!r}"))
                continue
            key = (code, device_class)
            if key in seen:
                report.errors.append(RowError(row.number, "Loại thiết bị", f"{code} / {device_class} already appears on row {seen[key]}"))
                continue
            seen[key] = row.number
            good.append(row)
        return good

    def apply(self, rows: list[ParsedRow], report: ImportReport) -> None:
        existing = {(row.site_id, row.device_class): row for row in self.session.exec(select(ApprovedQuantity)).scalars()}
        for row in rows:
            site_id = self.site_ids[row.values["site_code"]]
            fields = {"quantity": row.values["quantity"], "decision_ref": row.values.get("decision_ref")}
            current = existing.get((site_id, row.values["device_class"]))
            named = f"{row.values['site_code']} / {row.values['device_class']}"
            if current is None:
                record = ApprovedQuantity(
                    site_id=site_id,
                    device_class=row.values["device_class"],
                    quantity=fields["quantity"],
                    decision_ref=fields["decision_ref"] or "",
                )
                self.session.add(record)
                report.note(RowChange(row.number, "created", named, tuple(_field(APPROVED_HEADERS, k, None, v) for k, v in fields.items() if v not in (None, ""))))
                report.touched_site_ids.add(site_id)
                continue
            diff = _changes(current.model_dump(), fields)
            if diff:
                before = audit.snapshot(current)
                report.note(RowChange(row.number, "updated", named, tuple(_field(APPROVED_HEADERS, k, getattr(current, k), v) for k, v in diff.items())))
                for key, value in diff.items():
                    setattr(current, key, value)
                audit.record(self.session, self.actor, "update", "approved_quantity", current.id, before=before, after=audit.snapshot(current))
                report.touched_site_ids.add(site_id)
            else:
                report.note(RowChange(row.number, "unchanged", named))


_DEVICE_FIELDS = (
    "device_class", "zone_id", "hostname", "mgmt_ip", "vendor", "model", "serial", "os_name", "os_version",
    "country_of_origin", "purchase_date", "status", "assigned_user", "platform", "notes", "site_id",
)  # fmt: skip


@dataclass
class _DevicePlan:
    row: ParsedRow
    fields: dict[str, Any]
    macs: tuple[str, ...]
    device_id: int | None  # None: a new device
    facts: dict[str, str]  # observation key -> value, from the filled fact cells (TPM, Secure Boot, encryption)


class _DeviceImport:
    def __init__(self, session: Session, actor: str) -> None:
        self.session = session
        self.actor = actor
        self.site_ids = dict(session.execute(select(Site.code, Site.id)).all())
        self.zones = site_zone_index(session)
        self.index = IdentityIndex.load(session)
        self.site_codes = {site_id: code for code, site_id in self.site_ids.items()}
        self.zone_kinds = {zone_id: kind for (_, kind), zone_id in self.zones.items()}

    def plan(self, rows: list[ParsedRow], report: ImportReport) -> list[_DevicePlan]:
        in_file = IdentityIndex()  # keys already claimed by earlier rows of this file
        plans: list[_DevicePlan] = []
        for row in rows:
            values = row.values
            site_id = self.site_ids.get(values["site_code"])
            if site_id is None:
                report.errors.append(RowError(row.number, "Mã đơn vị", f"unknown site {values['site_code']!r}"))
                continue
            zone_id = None
            if values.get("zone"):
                zone_id = self.zones.get((site_id, values["zone"]))
                if zone_id is None:
                    report.errors.append(RowError(row.number, "Vùng mạng", f"site {values['site_code']} has no {values['zone']} zone"))
                    continue
            macs = values.get("macs") or ()
            keys = {"serial": values.get("serial"), "macs": macs, "zone_id": zone_id, "ip": values.get("mgmt_ip")}
            if not (keys["serial"] or macs or keys["ip"]):
                report.errors.append(RowError(row.number, "Số sê-ri", "a device needs a serial, a MAC or an IP address to be told apart"))
                continue
            try:
                earlier = in_file.match(**keys)
                device_id = self.index.match(**keys)
            except IdentityConflict as exc:
                report.errors.append(RowError(row.number, "Số sê-ri", str(exc)))
                continue
            if earlier is not None:
                report.errors.append(RowError(row.number, "Số sê-ri", f"the same device as row {earlier} (same serial, MAC or IP)"))
                continue
            in_file.add(row.number, **keys)
            fields = {key: values.get(key) for key in _DEVICE_FIELDS if key in values}
            fields.update(site_id=site_id, zone_id=zone_id)
            facts = {FACT_KEYS[key]: values[key] for key in FACT_KEYS if values.get(key)}
            plans.append(_DevicePlan(row, fields, macs, device_id, facts))
        return plans

    def apply(self, plans: list[_DevicePlan], report: ImportReport) -> None:
        session = self.session
        updates = [plan for plan in plans if plan.device_id is not None]
        current = self._current(plan.device_id for plan in updates)
        recorded = latest_values(session, [plan.device_id for plan in updates if plan.facts], FACT_KEYS.values())
        now = utcnow()
        observations: list[dict[str, Any]] = []
        for plan in updates:
            before = current[plan.device_id]
            diff = _changes(before, plan.fields)
            new_macs = [mac for mac in plan.macs if mac not in before["macs"]]
            facts_before = recorded.get(plan.device_id, {})
            new_facts = {key: value for key, value in plan.facts.items() if facts_before.get(key) != value}
            if not diff and not new_macs and not new_facts:
                report.note(RowChange(plan.row.number, "unchanged", _device_named(plan.fields, plan.macs, before)))
                continue
            # A move keeps the zone's kind: the zone's own change then reads as the site's alone.
            shown = [change for key, value in diff.items() if (change := self._field(key, before.get(key), value)).before != change.after]
            if new_macs:
                shown.append(_field(DEVICE_HEADERS, "macs", "; ".join(sorted(before["macs"])) or None, "; ".join(sorted(before["macs"] | set(new_macs)))))
            shown.extend(_field(DEVICE_HEADERS, FACT_COLUMNS[key], facts_before.get(key), value) for key, value in new_facts.items())
            report.note(RowChange(plan.row.number, "updated", _device_named(plan.fields, plan.macs, before), tuple(shown)))
            if diff:
                session.execute(Device.__table__.update().where(Device.id == plan.device_id).values(**diff, updated_at=now))
            if new_macs:
                session.execute(insert(DeviceMac.__table__), [{"device_id": plan.device_id, "mac": m} for m in new_macs])
            observations.extend(_observation(plan.device_id, key, value, now) for key, value in new_facts.items())
            audit.record(
                session, self.actor, "update", "device", plan.device_id,
                before={k: _plain(before.get(k)) for k in diff} | ({"macs": sorted(before["macs"])} if new_macs else {}) | {k: facts_before.get(k) for k in new_facts},
                after={k: _plain(v) for k, v in diff.items()} | ({"macs": sorted(before["macs"] | set(new_macs))} if new_macs else {}) | new_facts,
            )  # fmt: skip
            report.touched_device_ids.add(plan.device_id)
            # A device moved to another site leaves the old site's site-level rules to re-check (the
            # device's own scope covers its new site's); a device that stays needs only itself
            # evaluated: naming its site would re-evaluate every device there.
            if "site_id" in diff and before.get("site_id") is not None:
                report.touched_site_ids.add(before["site_id"])
        creates = [plan for plan in plans if plan.device_id is None]
        if creates:
            observations.extend(self._create(creates, report, now))
        if observations:
            session.execute(insert(Observation.__table__), observations)

    def _create(self, creates: list[_DevicePlan], report: ImportReport, now) -> list[dict[str, Any]]:
        """Insert the new devices and their MACs; returns their fact observations to insert."""
        session = self.session
        rows = []
        for plan in creates:
            row = {key: plan.fields.get(key) for key in _DEVICE_FIELDS}
            row.update(
                status=row["status"] or DeviceStatus.IN_USE.value,
                source=DeviceSource.IMPORTED.value,
                notes=row["notes"] or "",
                created_at=now,
                updated_at=now,
            )
            rows.append(row)
        ids: list[int] = []
        table = Device.__table__
        for start in range(0, len(rows), 5000):
            result = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows[start : start + 5000])
            ids.extend(result.scalars().all())
        mac_rows = [{"device_id": device_id, "mac": mac} for plan, device_id in zip(creates, ids, strict=True) for mac in plan.macs]
        if mac_rows:
            session.execute(insert(DeviceMac.__table__), mac_rows)
        for plan in creates:
            if not report.dry_run:  # what a new row holds is for the preview: a real import only counts it
                report.note(RowChange(plan.row.number, "created", ""))
                continue
            given = [self._field(key, None, value) for key, value in plan.fields.items() if value not in (None, "", ())]
            if plan.macs:
                given.append(_field(DEVICE_HEADERS, "macs", None, "; ".join(plan.macs)))
            given.extend(_field(DEVICE_HEADERS, FACT_COLUMNS[key], None, value) for key, value in plan.facts.items())
            given.sort(key=lambda change: DEVICE_ORDER.get(change.key, len(DEVICE_ORDER)))  # as the file's columns go
            report.note(RowChange(plan.row.number, "created", _device_named(plan.fields, plan.macs, {}), tuple(given)))
        report.touched_device_ids.update(ids)  # their scope brings their sites' site-level rules
        return [_observation(device_id, key, value, now) for plan, device_id in zip(creates, ids, strict=True) for key, value in plan.facts.items()]

    def _field(self, key: str, before: Any, after: Any) -> FieldChange:
        """A device column's change as the file's columns name it: a site by its code, a zone by its kind."""
        if key == "site_id":
            return _field(DEVICE_HEADERS, "site_code", self.site_codes.get(before), self.site_codes.get(after))
        if key == "zone_id":
            return _field(DEVICE_HEADERS, "zone", self.zone_kinds.get(before), self.zone_kinds.get(after))
        return _field(DEVICE_HEADERS, key, before, after)

    def _current(self, device_ids) -> dict[int, dict[str, Any]]:
        ids = list(device_ids)
        current: dict[int, dict[str, Any]] = {}
        columns = [getattr(Device, key) for key in _DEVICE_FIELDS]
        for start in range(0, len(ids), 2000):
            chunk = ids[start : start + 2000]
            for row in self.session.execute(select(Device.id, *columns).where(Device.id.in_(chunk))):
                current[row[0]] = dict(zip(_DEVICE_FIELDS, row[1:], strict=True)) | {"macs": set()}
            for device_id, mac in self.session.execute(select(DeviceMac.device_id, DeviceMac.mac).where(DeviceMac.device_id.in_(chunk))):
                current[device_id]["macs"].add(mac)
        return current


def _device_named(fields: dict[str, Any], macs: tuple[str, ...], recorded: dict[str, Any]) -> str:
    """How a preview names a device: its serial, hostname, address or first MAC (from the file or as recorded)."""
    for key in ("serial", "hostname", "mgmt_ip"):
        if fields.get(key) or recorded.get(key):
            return str(fields.get(key) or recorded.get(key))
    known = macs or tuple(sorted(recorded.get("macs") or ()))
    return known[0] if known else "?"


def _observation(device_id: int, key: str, value: str, now) -> dict[str, Any]:
    # Source "import": the device page and the "reported by" filter tell a checklist from a poll.
    return {"device_id": device_id, "observed_at": now, "source": "import", "key": key, "value": value}


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
