"""Export of sites, devices and approved quantities, and blank templates, with Vietnamese headers.

An export re-imported as it is changes nothing: it uses the importer's own columns. It is written
whole or not at all (inventory.atomic_file): a full disk leaves no partial file behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from inventory.atomic_file import atomic_write
from inventory.io.columns import DEVICE_COLUMNS, FACT_KEYS, KINDS
from inventory.io.facts import latest_values
from inventory.io.tabular import check_format, write_table
from inventory.io.template import write_template  # noqa: F401 (where callers have found it)
from inventory.models import ApprovedQuantity, Site
from inventory.repository import DeviceFilter, EndOfLifeCondition, list_devices, list_sites


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _records(session: Session, kind: str, device_filter: DeviceFilter, end_of_life: EndOfLifeCondition | None) -> Iterator[dict[str, Any]]:
    if kind == "sites":
        yield from list_sites(session)
    elif kind == "devices":
        rows, _ = list_devices(session, device_filter, per_page=None, end_of_life=end_of_life)
        yield from _with_facts(session, rows)
    elif kind == "approved":
        query = select(Site.code, ApprovedQuantity).join(Site, Site.id == ApprovedQuantity.site_id)
        for code, row in session.execute(query.order_by(Site.code, ApprovedQuantity.device_class)):
            yield {"site_code": code, **row.model_dump()}


_PARSERS = {column.key: column.parse for column in DEVICE_COLUMNS}


def _with_facts(session: Session, rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The devices with their latest TPM / Secure Boot / encryption facts (whoever reported them).
    A value the import's column would not take back as it is stays blank: the export re-imports."""
    facts = latest_values(session, [row["id"] for row in rows], FACT_KEYS.values())
    for row in rows:
        recorded = facts.get(row["id"], {})
        for column, key in FACT_KEYS.items():
            value = recorded.get(key)
            row[column] = value if value is not None and _takes_back(column, value) else None
        yield row


def _takes_back(column: str, value: str) -> bool:
    try:
        return _PARSERS[column](value) == value
    except ValueError:
        return False


def export_file(
    session: Session,
    kind: str,
    path: Path,
    device_filter: DeviceFilter = DeviceFilter(),  # noqa: B008 (DeviceFilter is frozen)
    *,
    end_of_life: EndOfLifeCondition | None = None,
) -> int:
    """Write `kind` to `path`; `end_of_life`: the condition the devices' end-of-life filter needs."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
    columns = KINDS[kind]
    rows = ([_cell(record.get(c.key)) for c in columns] for record in _records(session, kind, device_filter, end_of_life))
    check_format(Path(path))  # an unsupported suffix is refused before any file is made
    with atomic_write(Path(path), "export") as temporary:
        return write_table(temporary, [c.header_vi for c in columns], rows, sheet_title=kind)


def template_sites(session: Session) -> list[tuple[str, str]]:
    """The recorded sites as the templates' site list: (code, name), by code."""
    return [(code, name) for code, name in session.execute(select(Site.code, Site.name).order_by(Site.code))]
