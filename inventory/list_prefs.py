"""Each user's settings of a list page: the filters they named and kept (their own, or shared
with everyone by their owner) and the columns they chose to see. Written by the web's list
pages; the CLI or API could use the same functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import or_, select
from sqlmodel import Session

from inventory.models import ListColumns, SavedFilter, User

MAX_NAME = 100
MAX_QUERY = 2000
MAX_FILTERS = 100  # per user and list: a menu, not a store


class FilterRefused(ValueError):
    """A filter that cannot be kept; `code` says why (empty_name, name_too_long, query_too_long,
    too_many)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class FilterEntry:
    id: int
    name: str
    query: str
    shared: bool
    owner: str
    mine: bool


def clean_query(args: Mapping[str, str], allowed: Iterable[str]) -> str:
    """The query string of a list's filter: only its known arguments, in their order, non-empty."""
    kept = [(key, args[key].strip()) for key in allowed if isinstance(args.get(key), str) and args[key].strip()]
    return urlencode(kept)


def save_filter(session: Session, owner_id: int, list_name: str, name: str, query: str, *, shared: bool) -> SavedFilter:
    """Keep `query` under `name` for its owner; the same name again replaces it. Not committed."""
    name = " ".join(name.split())
    if not name:
        raise FilterRefused("empty_name")
    if len(name) > MAX_NAME:
        raise FilterRefused("name_too_long")
    if len(query) > MAX_QUERY:
        raise FilterRefused("query_too_long")
    found = session.execute(select(SavedFilter).where(SavedFilter.owner_id == owner_id, SavedFilter.list_name == list_name, SavedFilter.name == name)).scalars().first()
    if found is None:
        kept = session.execute(select(SavedFilter.id).where(SavedFilter.owner_id == owner_id, SavedFilter.list_name == list_name)).all()
        if len(kept) >= MAX_FILTERS:
            raise FilterRefused("too_many")
        found = SavedFilter(owner_id=owner_id, list_name=list_name, name=name, query=query, shared=shared)
    else:
        found.query, found.shared = query, shared
    session.add(found)
    session.flush()
    return found


def filters_for(session: Session, user_id: int, list_name: str) -> list[FilterEntry]:
    """The user's own filters of the list and those others shared, by name."""
    query = (
        select(SavedFilter, User.username)
        .join(User, User.id == SavedFilter.owner_id)
        .where(SavedFilter.list_name == list_name, or_(SavedFilter.owner_id == user_id, SavedFilter.shared.is_(True)))
        .order_by(SavedFilter.name, SavedFilter.id)
    )
    return [FilterEntry(f.id, f.name, f.query, f.shared, owner, f.owner_id == user_id) for f, owner in session.execute(query)]


def delete_filter(session: Session, filter_id: int, user_id: int, list_name: str) -> bool:
    """Remove one of the user's own filters; False when there is none of that id (another user's
    shared filter is theirs to delete). Not committed."""
    found = session.get(SavedFilter, filter_id)
    if found is None or found.owner_id != user_id or found.list_name != list_name:
        return False
    session.delete(found)
    session.flush()
    return True


def chosen_columns(session: Session, user_id: int, list_name: str, known: Sequence[str], default: Sequence[str]) -> list[str]:
    """The columns the user chose (those still known, in the list's order), else `default`."""
    row = session.get(ListColumns, (user_id, list_name))
    chosen = set(row.columns) if row is not None else set()
    kept = [key for key in known if key in chosen]
    return kept or list(default)


def choose_columns(session: Session, user_id: int, list_name: str, columns: Iterable[str], known: Sequence[str]) -> list[str]:
    """Remember the user's columns (unknown keys dropped; none at all: back to the default). Not committed."""
    wanted = set(columns)
    kept = [key for key in known if key in wanted]
    row = session.get(ListColumns, (user_id, list_name))
    if not kept:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(ListColumns(user_id=user_id, list_name=list_name, columns=kept))
    else:
        row.columns = kept
        session.add(row)
    session.flush()
    return kept
