"""One database session per request: opened on first use, closed at teardown; and values
derived from the data, kept until it changes (`cached`).

Views that change data call `commit()` before they answer, so an error is reported to the user;
whatever was not committed is rolled back when the request ends.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app, g
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

T = TypeVar("T")


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = Session(current_app.extensions["kiemke.engine"], expire_on_commit=False)
    return g.db_session


def commit() -> None:
    get_session().commit()


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.rollback()
        except DBAPIError:
            # The connection broke (database restarted or gone): discard it rather than pool it.
            session.invalidate()
        finally:
            session.close()


def cached(key: Hashable, compute: Callable[[], T], *, store: str = "kiemke.cache") -> T:
    """`compute()`, kept until the data revision moves on (inventory/revision.py).

    Only for values every user may see alike: the key must hold every input (filters, the
    date) and the value must not be changed by its users. Counts and reports go to their own
    stores (`kiemke.counts`, `kiemke.reports`), so many searches or quarters cannot push the
    costly views out.
    """
    return current_app.extensions[store].get(get_session(), key, compute)


def cached_fleet(session: Session, policy, today):
    """compliance.service.fleet_frame for today, shared by the overview and the procurement plan."""
    from compliance.service import fleet_frame

    return cached(("fleet", today), lambda: fleet_frame(session, policy, today))
