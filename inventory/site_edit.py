"""Editing a recorded site: its own values by a form (with a version, as inventory.device_edit,
so that nobody overwrites a change they have not seen), and its approved quantities per device
class (what the procurement plan counts against).

Values are checked and normalised here, written, audit-logged with before and after, and
announced with `changed_on_commit` for the site: compliance re-evaluates it (and the plan follows
the approved quantities) once the caller commits. Errors are typed and carry codes, not
sentences, so each surface words them in its own language. The zones' subnets are not edited
here: they are lists per zone that the import keeps (see README, import format).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session
from sqlmodel import Session

from inventory import audit
from inventory.changes import changed_on_commit
from inventory.choices import DeviceClass, SiteKind, values
from inventory.models import ApprovedQuantity, Site
from inventory.text import clean_text

# The recorded columns of a site a form edits (its code names it everywhere and stays; its
# province is the deployment's).
EDITABLE_COLUMNS = ("name", "kind", "poll_interval_minutes", "notes")
_TEXT_LIMITS = {"name": 200, "notes": 10_000}
# A poll interval's bounds in minutes: at least every 5 minutes, at most once a week.
POLL_MIN, POLL_MAX = 5, 7 * 24 * 60
QUANTITY_MAX = 1_000_000


@dataclass(frozen=True)
class FieldError:
    """One refused value: `field` an input key (a column, or a device class for quantities),
    `code` what is wrong (required, bad_choice, too_long, not_a_number, out_of_range), `params`
    what the wording needs."""

    field: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldChange:
    column: str  # a Site column, or a device class for an approved quantity
    before: Any
    after: Any


class SiteEditError(ValueError):
    pass


class SiteNotFound(SiteEditError):
    pass


class InvalidValues(SiteEditError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors = errors


class EditConflict(SiteEditError):
    """The site changed since the form was read: nothing was written."""

    def __init__(self, site_id: int, current_version: str) -> None:
        super().__init__(f"site #{site_id} was changed by someone else meanwhile")
        self.site_id = site_id
        self.current_version = current_version


def version_of(recorded: Mapping[str, Any]) -> str:
    """The version of recorded values (a site's columns or its approved quantities): it moves
    whenever one of them changes, whoever writes it."""
    text = json.dumps(recorded, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def site_id_of(session: Session, code: str) -> int | None:
    return session.execute(select(Site.id).where(Site.code == code)).scalar_one_or_none()


def recorded_values(session: Session, site_id: int) -> dict[str, Any] | None:
    """A site's editable columns as stored (None: no such site)."""
    row = session.execute(select(*[getattr(Site, c) for c in EDITABLE_COLUMNS]).where(Site.id == site_id)).first()
    return None if row is None else dict(zip(EDITABLE_COLUMNS, row, strict=True))


def approved_quantities(session: Session, site_id: int) -> dict[str, int]:
    """The site's approved quantity per device class (every class; 0 where none is recorded)."""
    stored = dict(session.execute(select(ApprovedQuantity.device_class, ApprovedQuantity.quantity).where(ApprovedQuantity.site_id == site_id)).all())
    return {cls: int(stored.get(cls, 0)) for cls in values(DeviceClass)}


def _int(key: str, value: Any, low: int, high: int, errors: list[FieldError]) -> int | None:
    text = str(value).strip() if value is not None else ""
    if text == "":
        errors.append(FieldError(key, "required"))
        return None
    try:
        number = int(text)
    except ValueError:
        errors.append(FieldError(key, "not_a_number", {"value": text[:32]}))
        return None
    if not low <= number <= high:
        errors.append(FieldError(key, "out_of_range", {"min": low, "max": high}))
        return None
    return number


def _normalised(given: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    unknown = set(given) - set(EDITABLE_COLUMNS)
    if unknown:
        raise SiteEditError(f"not editable: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key == "kind":
            if value not in values(SiteKind):
                errors.append(FieldError(key, "bad_choice"))
            out[key] = value
        elif key == "poll_interval_minutes":
            out[key] = _int(key, value, POLL_MIN, POLL_MAX, errors)
        else:
            text = clean_text(str(value)).strip() if value is not None else ""
            if len(text) > _TEXT_LIMITS[key]:
                errors.append(FieldError(key, "too_long", {"max": _TEXT_LIMITS[key]}))
            if key == "name" and not text:
                errors.append(FieldError(key, "required"))
            out[key] = text
    return out


def update_site(session: Session, site_id: int, given: Mapping[str, Any], expected_version: str | None, *, actor: str) -> list[FieldChange]:
    """Set the given columns (EDITABLE_COLUMNS; others stay) if the site's version is still
    `expected_version` (None: not checked). Returns what changed (nothing: nothing written).
    Raises SiteNotFound, EditConflict or InvalidValues, having written nothing. The caller
    commits; compliance re-evaluates the site after the commit."""
    current = recorded_values(session, site_id)
    if current is None:
        raise SiteNotFound(f"no site #{site_id}")
    if expected_version is not None and version_of(current) != expected_version:
        raise EditConflict(site_id, version_of(current))
    errors: list[FieldError] = []
    wanted = _normalised(given, errors)
    if errors:
        raise InvalidValues(errors)
    diff = {column: value for column, value in wanted.items() if current[column] != value}
    if not diff:
        return []
    table = Site.__table__
    # Written only if the row still holds what was read: a writer in between makes it match nothing.
    unchanged = [table.c[column] == current[column] for column in EDITABLE_COLUMNS]
    result = session.execute(table.update().where(table.c.id == site_id, *unchanged).values(**diff))
    if result.rowcount != 1:
        raise EditConflict(site_id, version_of(recorded_values(session, site_id) or {}))
    _expire_loaded(session, site_id)
    audit.record(session, actor, "update", "site", site_id, before={c: current[c] for c in diff}, after=dict(diff))
    changed_on_commit(session, site_ids=[site_id], trigger="edit", actor=actor)
    return [FieldChange(c, current[c], v) for c, v in diff.items()]


def update_approved(session: Session, site_id: int, given: Mapping[str, Any], expected_version: str | None, *, actor: str) -> list[FieldChange]:
    """Set the site's approved quantities (device class -> a whole number >= 0; classes not
    given stay) if their version is still `expected_version` (None: not checked). Each changed
    class is audit-logged on its own. Raises as update_site, having written nothing."""
    if session.execute(select(Site.id).where(Site.id == site_id)).first() is None:
        raise SiteNotFound(f"no site #{site_id}")
    unknown = set(given) - set(values(DeviceClass))
    if unknown:
        raise SiteEditError(f"not a device class: {', '.join(sorted(unknown))}")
    current = approved_quantities(session, site_id)
    if expected_version is not None and version_of(current) != expected_version:
        raise EditConflict(site_id, version_of(current))
    errors: list[FieldError] = []
    wanted = {cls: _int(cls, value, 0, QUANTITY_MAX, errors) for cls, value in given.items()}
    if errors:
        raise InvalidValues(errors)
    diff = {cls: n for cls, n in wanted.items() if current[cls] != n}
    stored = set(session.execute(select(ApprovedQuantity.device_class).where(ApprovedQuantity.site_id == site_id)).scalars())
    table = ApprovedQuantity.__table__
    try:
        with session.begin_nested():
            for cls, quantity in diff.items():
                # Written only if the row still holds what was read (or is still missing): a writer
                # in between makes it match nothing, or its insert collide, and nothing is written.
                if cls in stored:
                    mine = (table.c.site_id == site_id, table.c.device_class == cls, table.c.quantity == current[cls])
                    if session.execute(table.update().where(*mine).values(quantity=quantity)).rowcount != 1:
                        raise EditConflict(site_id, version_of(approved_quantities(session, site_id)))
                else:
                    session.execute(table.insert().values(site_id=site_id, device_class=cls, quantity=quantity, decision_ref=""))
    except IntegrityError:
        raise EditConflict(site_id, version_of(approved_quantities(session, site_id))) from None
    for cls, quantity in diff.items():
        audit.record(session, actor, "update", "approved_quantity", f"{site_id}:{cls}", before={"quantity": current[cls]}, after={"quantity": quantity})
    if diff:
        _expire_loaded(session, site_id, ApprovedQuantity)
        changed_on_commit(session, site_ids=[site_id], trigger="edit", actor=actor)
    return [FieldChange(cls, current[cls], n) for cls, n in diff.items()]


def _expire_loaded(session: Session, site_id: int, model: type = Site) -> None:
    # Rows were written past the ORM: a Site (or its ApprovedQuantity) this session already holds
    # must be read anew.
    for obj in list(session.identity_map.values()):
        held = obj.id if model is Site else getattr(obj, "site_id", None)
        if isinstance(obj, model) and held == site_id and object_session(obj) is session:
            session.expire(obj)
