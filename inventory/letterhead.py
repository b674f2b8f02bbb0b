"""The report letterhead (agency, document number, place and date): admin-edited settings kept in
KIEMKE_HOME/letterhead.json, with defaults so a fresh install prints a usable header.

A file beside the generated secrets rather than a table: it is one small record per install,
read when a report is printed, and editing it must not need a schema migration.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from pathlib import Path

from inventory.atomic_file import atomic_write

FILE_NAME = "letterhead.json"
MAX_LENGTH = 200


@dataclass(frozen=True)
class Letterhead:
    # Placeholders in the style of a blank form: a fresh install prints a header to fill in by
    # hand rather than a guessed agency.
    parent_agency: str = "CƠ QUAN CHỦ QUẢN"
    agency: str = "CƠ QUAN BÁO CÁO"
    document_number: str = "……/BC"
    place: str = "……"
    # Empty: the day the report is printed.
    document_date: str = ""

    def dated(self, printed_on: date) -> date:
        """The document's date: the one set, else the day it is printed."""
        try:
            return date.fromisoformat(self.document_date) if self.document_date else printed_on
        except ValueError:
            return printed_on

    def key(self) -> tuple[str, ...]:
        """The values as a cache key: a changed letterhead is a different file."""
        return tuple(getattr(self, f.name) for f in fields(self))


def letterhead_path(home: Path) -> Path:
    return Path(home) / FILE_NAME


def load_letterhead(home: Path) -> Letterhead:
    """The saved letterhead, defaults for what is missing; defaults when the file is absent or unreadable."""
    try:
        saved = json.loads(letterhead_path(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Letterhead()
    if not isinstance(saved, dict):
        return Letterhead()
    known = {f.name for f in fields(Letterhead)}
    return replace(Letterhead(), **{k: str(v)[:MAX_LENGTH] for k, v in saved.items() if k in known and isinstance(v, str)})


def save_letterhead(home: Path, letterhead: Letterhead) -> None:
    """Write atomically (0600 like the other files of the home)."""
    if letterhead.document_date:
        date.fromisoformat(letterhead.document_date)  # ValueError for the caller: refuse, do not store junk
    with atomic_write(letterhead_path(home), "letterhead") as temporary:
        temporary.write_text(json.dumps(asdict(letterhead), ensure_ascii=False, indent=2), encoding="utf-8")
