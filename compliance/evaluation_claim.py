"""What an evaluation locks before it reads, so two evaluations never write the same findings at once.

An evaluation writes only its scope's findings and compliance states (the devices in scope and
the site-level findings of the scope's sites; every rule's subject is one device or one site),
so evaluations of different sites need not wait for each other:

- PostgreSQL, a scope of devices or sites: a transaction-level advisory lock per site of the
  scope (taken in site order, so two scopes sharing sites never deadlock), beside a shared lock
  on the fleet key. Evaluations of other sites run side by side, as workers do with the jobs of
  a poll cycle.
- PostgreSQL, the whole fleet: the fleet key exclusively (it waits for every site's evaluation
  and holds off new ones), then the data revision's row (`claim_writes`), as before.
- SQLite: the database's write lock (`claim_writes`): one writer at a time there anyway.

The advisory locks end with the transaction, committed or not; nothing is left to release.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from compliance.engine import Scope, resolve_scope
from inventory.revision import claim_writes

# The first key of PostgreSQL's two-key advisory locks: "kk" for kiemke, then what is locked.
_FLEET_KEY = (0x6B6B, 0)
_SITE_CLASS = 0x6B6C


def claim_scope(session: Session, device_ids: frozenset[int] | None, site_ids: frozenset[int] | None) -> Scope | None:
    """Take the evaluation's locks in `session`'s transaction and return its scope as it stands
    once they are held (None: the whole fleet)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    fleet = device_ids is None and site_ids is None
    if not postgres or fleet:
        if postgres:
            session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), dict(zip("ab", _FLEET_KEY, strict=True)))
        claim_writes(session)
        return resolve_scope(session, device_ids, site_ids)
    session.execute(text("SELECT pg_advisory_xact_lock_shared(:a, :b)"), dict(zip("ab", _FLEET_KEY, strict=True)))
    held: set[int] = set()
    while True:
        # A device may move to another site between reading its site and holding the lock: read
        # the scope again once the locks are held, until it names no site not yet locked.
        scope = resolve_scope(session, device_ids, site_ids)
        missing = sorted(scope.site_ids - held)
        if not missing:
            return scope
        for site_id in missing:
            session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": _SITE_CLASS, "b": site_id})
        held.update(missing)
