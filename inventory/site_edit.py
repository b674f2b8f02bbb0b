"""Editing a recorded site: its own values by a form (with a version, as inventory.device_edit,
so that nobody overwrites a change they have not seen), and its approved quantities per device
class (what the procurement plan counts against).

Values are checked and normalised here, written, audit-logged with before and after, and
announced with `changed_on_commit` for the site: compliance re-evaluates it (and the plan follows
the approved quantities) once the caller commits. Errors are typed and carry codes, not
sentences, so each surface words them in its own language. The zones' subnets (what the
zone-separation checks place addresses by) are edited as whole lists per zone, with a version of
their own: each a strict network, none overlapping another of the site's or of another site.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session
from sqlmodel import Session

from inventory import audit
from inventory.changes import changed_on_commit
from inventory.choices import DeviceClass, SiteKind, ZoneKind, values
from inventory.models import ApprovedQuantity, Site, Subnet, Zone
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


# ------------------------------------------------------------------------------ zone subnets
# A zone's subnets as one list; the form and the CLI send the list they want kept.
_CIDR_SEPARATORS = re.compile(r"[;,\s]+")
SUBNETS_PER_ZONE_MAX = 256


def zone_subnets(session: Session, site_id: int) -> dict[str, list[str]]:
    """The site's subnets per zone kind (every kind; [] where the zone has none or is missing),
    in the order they were recorded."""
    out: dict[str, list[str]] = {kind: [] for kind in values(ZoneKind)}
    rows = session.execute(select(Zone.kind, Subnet.cidr).join(Subnet, Subnet.zone_id == Zone.id).where(Zone.site_id == site_id).order_by(Subnet.id))
    for kind, cidr in rows:
        out.setdefault(kind, []).append(cidr)
    return out


def split_cidrs(text: str) -> list[str]:
    """Typed CIDRs, one a line or separated by commas, semicolons or spaces (as the import reads them)."""
    return [part for part in _CIDR_SEPARATORS.split(text or "") if part]


def _network(zone: str, typed: str, errors: list[FieldError]) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(typed, strict=True)
    except ValueError:
        pass
    try:  # an address with host bits set: name the network it lies in, the likely intent
        loose = ipaddress.ip_network(typed, strict=False)
    except ValueError:
        errors.append(FieldError(zone, "not_a_subnet", {"value": typed[:64]}))
        return None
    errors.append(FieldError(zone, "host_bits", {"value": typed[:64], "network": str(loose)}))
    return None


def _other_sites_subnets(session: Session, site_id: int) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str, str]]:
    rows = session.execute(select(Subnet.cidr, Site.code, Site.name).join(Zone, Zone.id == Subnet.zone_id).join(Site, Site.id == Zone.site_id).where(Zone.site_id != site_id))
    return [(net, code, name) for cidr, code, name in rows if (net := _stored_network(cidr)) is not None]


def _stored_network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:  # a value written past kiemke's checks cannot be compared: it is skipped
        return None


def checked_subnets(session: Session, site_id: int, given: Mapping[str, Any], errors: list[FieldError]) -> dict[str, list[str]]:
    """The wanted subnets per zone kind (a list, or text as `split_cidrs` reads it), normalised
    (ipaddress's spelling, duplicates dropped). Refused, as FieldErrors keyed by zone kind: not a
    subnet, host bits set, too many, overlapping another subnet of the site (either zone) or of
    another site."""
    unknown = set(given) - set(values(ZoneKind))
    if unknown:
        raise SiteEditError(f"not a zone kind: {', '.join(sorted(unknown))}")
    wanted: dict[str, list[str]] = {}
    # A zone not given keeps its subnets, which the given ones must not overlap either.
    kept_zones = {zone: cidrs for zone, cidrs in zone_subnets(session, site_id).items() if zone not in given}
    networks = [(zone, net) for zone, cidrs in kept_zones.items() for c in cidrs if (net := _stored_network(c)) is not None]
    for zone, value in given.items():
        typed = split_cidrs(value) if isinstance(value, str) else [str(v).strip() for v in value if str(v).strip()]
        if len(typed) > SUBNETS_PER_ZONE_MAX:
            errors.append(FieldError(zone, "too_many", {"max": SUBNETS_PER_ZONE_MAX}))
            continue
        kept: list[str] = []
        for text in typed:
            net = _network(zone, text, errors)
            if net is None or str(net) in kept:
                continue
            for other_zone, other in networks:
                if net.overlaps(other):
                    errors.append(FieldError(zone, "overlap_here", {"value": str(net), "other": str(other), "zone": other_zone}))
                    break
            else:
                networks.append((zone, net))
                kept.append(str(net))
        wanted[zone] = kept
    mine = [(zone, net) for zone, net in networks if zone in given]
    if mine and not errors:
        for foreign, code, name in _other_sites_subnets(session, site_id):
            for zone, net in mine:
                if net.overlaps(foreign):
                    errors.append(FieldError(zone, "overlap_site", {"value": str(net), "other": str(foreign), "code": code, "name": name}))
    return wanted


def update_subnets(session: Session, site_id: int, given: Mapping[str, Any], expected_version: str | None, *, actor: str) -> list[FieldChange]:
    """Make the given zones' subnets exactly the lists given (zone kind -> CIDRs; zones not given
    stay) if the site's subnets are still at `expected_version` (None: not checked). A missing zone
    is created. One audit entry for the site, before and after per changed zone (as
    "<zone>_subnets", the import's column names); the site is announced for re-evaluation, since
    the zone-separation checks place addresses by these subnets. Raises SiteNotFound,
    EditConflict or InvalidValues, having written nothing; the caller commits."""
    if session.execute(select(Site.id).where(Site.id == site_id)).first() is None:
        raise SiteNotFound(f"no site #{site_id}")
    # Editors of one site's subnets queue here (PostgreSQL; SQLite has one writer anyway), so the
    # version read below is still the one written over.
    zones = dict(session.execute(select(Zone.kind, Zone.id).where(Zone.site_id == site_id).with_for_update()).all())
    current = zone_subnets(session, site_id)
    if expected_version is not None and version_of(current) != expected_version:
        raise EditConflict(site_id, version_of(current))
    errors: list[FieldError] = []
    wanted = checked_subnets(session, site_id, given, errors)
    if errors:
        raise InvalidValues(errors)
    diff = {zone: cidrs for zone, cidrs in wanted.items() if sorted(cidrs) != sorted(current[zone])}
    if not diff:
        return []
    table = Subnet.__table__
    try:
        with session.begin_nested():
            for zone, cidrs in diff.items():
                zone_id = zones.get(zone)
                if zone_id is None:
                    created = Zone(site_id=site_id, kind=zone)
                    session.add(created)
                    session.flush()
                    zone_id = created.id
                for gone in set(current[zone]) - set(cidrs):
                    if session.execute(table.delete().where(table.c.zone_id == zone_id, table.c.cidr == gone)).rowcount != 1:
                        raise EditConflict(site_id, version_of(zone_subnets(session, site_id)))
                for cidr in [c for c in cidrs if c not in current[zone]]:
                    session.execute(table.insert().values(zone_id=zone_id, cidr=cidr))
    except IntegrityError:
        raise EditConflict(site_id, version_of(zone_subnets(session, site_id))) from None
    before = {f"{zone}_subnets": "; ".join(current[zone]) for zone in diff}
    after = {f"{zone}_subnets": "; ".join(cidrs) for zone, cidrs in diff.items()}
    audit.record(session, actor, "update", "site", site_id, before=before, after=after)
    changed_on_commit(session, site_ids=[site_id], trigger="edit", actor=actor)
    return [FieldChange(f"{zone}_subnets", current[zone], cidrs) for zone, cidrs in diff.items()]
