"""Editing recorded devices: one device by a form (with a version, so that nobody overwrites a
change they have not seen), or a few fields of many devices at once.

The values come in the import format's terms (`site_code`, `zone` as a zone kind, the other keys
as Device's columns), are checked and normalised here, written, audit-logged with the changed
fields' values before and after, and announced with `changed_on_commit`: compliance re-evaluates
the devices once the caller commits. Errors are typed and carry codes, not sentences, so each
surface (web, CLI, API) words them in its own language.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session
from sqlmodel import Session

from inventory import audit
from inventory.changes import changed_on_commit
from inventory.choices import DeviceClass, DeviceStatus, Platform, values
from inventory.identity import normalize_serial
from inventory.models import Device, DeviceMac, Site, Zone, utcnow
from inventory.text import clean_text

# The recorded (not collected or computed) columns of a device: what the form edits and what its
# version covers. Observed columns (reachable, first/last seen, last polled) and the source are
# not the user's to edit.
EDITABLE_COLUMNS = (
    "hostname", "device_class", "site_id", "zone_id", "mgmt_ip", "vendor", "model", "serial", "os_name", "os_version",
    "country_of_origin", "purchase_date", "status", "assigned_user", "platform", "notes",
)  # fmt: skip
# The input's keys: the columns, with the site by its code and the zone by its kind.
INPUT_KEYS = tuple("site_code" if c == "site_id" else "zone" if c == "zone_id" else c for c in EDITABLE_COLUMNS)
# What a bulk edit may set on many devices at once.
BULK_KEYS = ("status", "assigned_user", "device_class", "site_code", "zone")
MAX_BULK = 10_000  # one request, one transaction: larger changes belong to an import

_TEXT_LIMITS = {"hostname": 255, "vendor": 100, "model": 200, "serial": 100, "os_name": 100, "os_version": 100, "assigned_user": 200, "notes": 10_000}
_CHOICES = {"device_class": values(DeviceClass), "status": values(DeviceStatus)}
_REQUIRED = ("device_class", "status", "site_code")
_COUNTRY = re.compile(r"[A-Za-z]{2}")


@dataclass(frozen=True)
class FieldError:
    """One refused value: `field` is an input key, `code` what is wrong with it (the surface
    words it), `params` what the wording needs (the other device's id, a limit, ...)."""

    field: str
    code: str  # required, bad_choice, too_long, bad_ip, bad_country, future_date, unknown_site,
    # zone_not_of_site, duplicate_serial, duplicate_ip, no_identity, taken_meanwhile
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldChange:
    column: str  # a Device column
    before: Any
    after: Any


class DeviceEditError(ValueError):
    pass


class DeviceNotFound(DeviceEditError):
    pass


class InvalidValues(DeviceEditError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors = errors


class EditConflict(DeviceEditError):
    """The device changed since the form was read: nothing was written."""

    def __init__(self, device_id: int, current_version: str) -> None:
        super().__init__(f"device #{device_id} was changed by someone else meanwhile")
        self.device_id = device_id
        self.current_version = current_version


class BulkInvalid(DeviceEditError):
    """Some devices of a bulk edit cannot take the values: nothing was written."""

    def __init__(self, errors: dict[int, list[FieldError]]) -> None:
        super().__init__(f"{len(errors)} devices refused the values")
        self.errors = errors


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def version_of(recorded: Mapping[str, Any]) -> str:
    """The version of a device's recorded values: it moves whenever one of them changes, whoever
    writes it (a writer need not remember to touch updated_at), and not when a poll only moves
    "last seen"."""
    text = json.dumps([_plain(recorded.get(c)) for c in EDITABLE_COLUMNS], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def recorded_values(session: Session, device_id: int) -> dict[str, Any] | None:
    """A device's editable columns as stored (None: no such device)."""
    columns = [getattr(Device, c) for c in EDITABLE_COLUMNS]
    row = session.execute(select(*columns).where(Device.id == device_id)).first()
    return None if row is None else dict(zip(EDITABLE_COLUMNS, row, strict=True))


def form_values(session: Session, device_id: int) -> tuple[dict[str, Any], str] | None:
    """A device's values in the input's terms (site code, zone kind), with their version."""
    recorded = recorded_values(session, device_id)
    if recorded is None:
        return None
    out = {key: recorded[key] for key in INPUT_KEYS if key in recorded}
    out["site_code"] = session.execute(select(Site.code).where(Site.id == recorded["site_id"])).scalar_one_or_none()
    out["zone"] = session.execute(select(Zone.kind).where(Zone.id == recorded["zone_id"])).scalar_one_or_none() if recorded["zone_id"] else None
    return out, version_of(recorded)


# ------------------------------------------------------------------------------ checking


def _text(key: str, value: Any, errors: list[FieldError]) -> str | None:
    text = clean_text(str(value)).strip() if value is not None else ""
    if len(text) > _TEXT_LIMITS[key]:
        errors.append(FieldError(key, "too_long", {"max": _TEXT_LIMITS[key]}))
    return text or None


def _normalised(session: Session, current: Mapping[str, Any], given: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    """The given input turned into column values (only the keys given), each checked on its own."""
    unknown = set(given) - set(INPUT_KEYS)
    if unknown:
        raise DeviceEditError(f"not editable: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for key, value in given.items():
        if isinstance(value, str):
            value = value.strip()
        if key in _REQUIRED and value in (None, ""):
            errors.append(FieldError(key, "required"))
        elif key in _CHOICES:
            if value not in _CHOICES[key]:
                errors.append(FieldError(key, "bad_choice"))
            out[key] = value
        elif key in _TEXT_LIMITS:
            text = _text(key, value, errors)
            out[key] = (normalize_serial(text) if key == "serial" else text) if key != "notes" else (text or "")
        elif key == "mgmt_ip":
            try:
                out[key] = str(ipaddress.ip_address(value)) if value else None
            except ValueError:
                errors.append(FieldError(key, "bad_ip", {"value": str(value)[:64]}))
        elif key == "country_of_origin":
            if value and not _COUNTRY.fullmatch(str(value)):
                errors.append(FieldError(key, "bad_country"))
            out[key] = str(value).upper() if value else None
        elif key == "purchase_date":
            if value is not None and not isinstance(value, date):
                raise DeviceEditError("purchase_date must be a date or None")
            if value is not None and value > date.today():
                errors.append(FieldError(key, "future_date"))
            out[key] = value or None
        elif key == "platform":
            # The platforms kiemke reads; a device recorded with another keeps it while it is not changed.
            if value and value != current.get("platform") and value not in values(Platform):
                errors.append(FieldError(key, "bad_choice"))
            out[key] = value or None
        elif key == "site_code":
            site_id = session.execute(select(Site.id).where(Site.code == value)).scalar_one_or_none()
            if site_id is None:
                errors.append(FieldError(key, "unknown_site", {"code": str(value)[:32]}))
            out["site_id"] = site_id
        elif key == "zone":
            out["zone"] = value or None
    return out


def _resolve_zone(session: Session, current: Mapping[str, Any], wanted: dict[str, Any], errors: list[FieldError]) -> None:
    """`zone` (a kind) becomes the zone of that kind at the device's (new) site; a device moved
    to another site without a zone given keeps its zone's kind there."""
    site_id = wanted.get("site_id", current["site_id"])
    if "zone" in wanted:
        kind = wanted.pop("zone")
    elif "site_id" in wanted and current["zone_id"] is not None:
        kind = session.execute(select(Zone.kind).where(Zone.id == current["zone_id"])).scalar_one_or_none()
    else:
        return
    if site_id is None:  # an unknown site, already reported
        return
    if kind is None:
        wanted["zone_id"] = None
        return
    zone_id = session.execute(select(Zone.id).where(Zone.site_id == site_id, Zone.kind == kind)).scalar_one_or_none()
    if zone_id is None:
        errors.append(FieldError("zone", "zone_not_of_site", {"zone": kind}))
    wanted["zone_id"] = zone_id


def _check_identity(session: Session, device_id: int, after: Mapping[str, Any], diff: Mapping[str, Any], errors: list[FieldError]) -> None:
    """The identity rules (inventory.identity): a serial names one device, an address one device
    per zone, and a device keeps a serial, a MAC or an address to be told apart by."""
    if "serial" in diff and after["serial"]:
        other = session.execute(select(Device.id).where(Device.serial == after["serial"], Device.id != device_id)).scalar()
        if other is not None:
            errors.append(FieldError("serial", "duplicate_serial", {"device_id": other}))
    if ("mgmt_ip" in diff or "zone_id" in diff) and after["mgmt_ip"]:
        query = select(Device.id).where(Device.mgmt_ip == after["mgmt_ip"], Device.id != device_id)
        query = query.where(Device.zone_id == after["zone_id"]) if after["zone_id"] is not None else query.where(Device.zone_id.is_(None))
        other = session.execute(query).scalar()
        if other is not None:
            errors.append(FieldError("mgmt_ip", "duplicate_ip", {"device_id": other}))
    if ("serial" in diff or "mgmt_ip" in diff) and not after["serial"] and not after["mgmt_ip"]:
        macs = session.execute(select(func.count()).select_from(DeviceMac).where(DeviceMac.device_id == device_id)).scalar_one()
        if not macs:
            errors.append(FieldError("serial", "no_identity"))


# ------------------------------------------------------------------------------ writing


def _apply(session: Session, device_id: int, given: Mapping[str, Any], expected_version: str | None, actor: str) -> tuple[list[FieldChange], dict[str, Any]]:
    """Check and write one device's new values (no announcement); returns the changes and the
    values as they were."""
    current = recorded_values(session, device_id)
    if current is None:
        raise DeviceNotFound(f"no device #{device_id}")
    if expected_version is not None and version_of(current) != expected_version:
        raise EditConflict(device_id, version_of(current))
    errors: list[FieldError] = []
    wanted = _normalised(session, current, given, errors)
    _resolve_zone(session, current, wanted, errors)
    diff = {column: value for column, value in wanted.items() if current.get(column) != value}
    after = {**current, **diff}
    _check_identity(session, device_id, after, diff, errors)
    if errors:
        raise InvalidValues(errors)
    if not diff:
        return [], current
    table = Device.__table__
    # Written only if the row still holds what was read: a writer between the read and this
    # statement makes it match nothing (a conflict), on SQLite and PostgreSQL alike.
    unchanged = [table.c[column].is_not_distinct_from(current[column]) for column in EDITABLE_COLUMNS]
    try:
        with session.begin_nested():
            result = session.execute(table.update().where(table.c.id == device_id, *unchanged).values(**diff, updated_at=utcnow()))
    except IntegrityError:  # a serial or address taken by a writer in between: say which, as before
        _check_identity(session, device_id, after, diff, errors)
        raise InvalidValues(errors or [FieldError("serial", "taken_meanwhile")]) from None
    if result.rowcount != 1:
        raise EditConflict(device_id, version_of(recorded_values(session, device_id) or {}))
    _expire_loaded(session, device_id)
    audit.record(session, actor, "update", "device", device_id, before={c: _plain(current[c]) for c in diff}, after={c: _plain(v) for c, v in diff.items()})
    return [FieldChange(c, current[c], v) for c, v in diff.items()], current


def _expire_loaded(session: Session, device_id: int) -> None:
    # The row was written past the ORM: a Device this session already holds must be read anew.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Device) and obj.id == device_id and object_session(obj) is session:
            session.expire(obj)


def update_device(session: Session, device_id: int, given: Mapping[str, Any], expected_version: str | None, *, actor: str) -> list[FieldChange]:
    """Set the given values (input keys, see INPUT_KEYS; keys not given stay as they are) if the
    device's version is still `expected_version` (None: not checked). Returns what changed
    (nothing: nothing written). Raises DeviceNotFound, EditConflict or InvalidValues, having
    written nothing. The caller commits; compliance re-evaluates the device after the commit."""
    changes, before = _apply(session, device_id, given, expected_version, actor)
    if changes:
        _announce(session, {device_id: (changes, before)}, actor)
    return changes


def existing_device_ids(session: Session, wanted: Collection[int]) -> list[int]:
    """The ids among `wanted` that name a device (a bulk edit's ticked rows), at most MAX_BULK + 1
    of them: one more than a bulk edit takes tells that there are too many."""
    chosen = sorted(set(wanted))[: MAX_BULK + 1]
    return sorted(session.execute(select(Device.id).where(Device.id.in_(chosen))).scalars()) if chosen else []


def matching_device_ids(session: Session, device_query: Select) -> list[int]:
    """The ids of the devices a filtered device query (inventory.repository.device_query)
    matches, every one, not a page; at most MAX_BULK + 1 of them."""
    listed = device_query.order_by(None).subquery()
    return list(session.execute(select(listed.c.id).order_by(listed.c.id).limit(MAX_BULK + 1)).scalars())


def update_devices(session: Session, device_ids: Collection[int], given: Mapping[str, Any], *, actor: str) -> dict[int, list[FieldChange]]:
    """Set the same values (BULK_KEYS only) on many devices: each change audit-logged per device,
    one evaluation for them all after the commit. All or nothing: BulkInvalid (nothing written)
    when any device refuses a value."""
    if set(given) - set(BULK_KEYS):
        raise DeviceEditError(f"not editable in bulk: {', '.join(sorted(set(given) - set(BULK_KEYS)))}")
    if len(device_ids) > MAX_BULK:
        raise DeviceEditError(f"at most {MAX_BULK} devices at once")
    done: dict[int, tuple[list[FieldChange], dict[str, Any]]] = {}
    refused: dict[int, list[FieldError]] = {}
    savepoint = session.begin_nested()
    try:
        for device_id in sorted(set(device_ids)):
            try:
                done[device_id] = _apply(session, device_id, given, None, actor)
            except InvalidValues as exc:
                refused[device_id] = exc.errors
    except BaseException:
        savepoint.rollback()
        raise
    if refused:
        savepoint.rollback()
        raise BulkInvalid(refused)
    savepoint.commit()
    changed_devices = {device_id: result for device_id, result in done.items() if result[0]}
    _announce(session, changed_devices, actor)
    return {device_id: changes for device_id, (changes, _) in done.items()}


def _announce(session: Session, results: Mapping[int, tuple[list[FieldChange], Mapping[str, Any]]], actor: str) -> None:
    # A device moved to another site leaves its old site's site-level rules to re-check (its own
    # scope covers the new site); a device that stays needs only itself evaluated.
    left_sites = {before["site_id"] for changes, before in results.values() for change in changes if change.column == "site_id"}
    if results:
        changed_on_commit(session, device_ids=list(results), site_ids=sorted(left_sites), trigger="edit", actor=actor)
