"""The latest recorded value of a few fact keys per device: what the device import compares its
TPM / Secure Boot / encryption cells with (an equal value adds no observation) and the export
writes back, so an export re-imported changes nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable

from sqlalchemy import func, select
from sqlmodel import Session

from inventory.models import Observation

CHUNK = 2000  # ids per IN list: SQLite and PostgreSQL both take it, the planner still uses the index


def latest_values(session: Session, device_ids: Iterable[int], keys: Collection[str]) -> dict[int, dict[str, str]]:
    """device id -> {key: latest value} for `keys` (any source; the newest observation wins)."""
    ids = list(device_ids)
    out: dict[int, dict[str, str]] = defaultdict(dict)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        newest = select(func.max(Observation.id)).where(Observation.device_id.in_(chunk), Observation.key.in_(list(keys))).group_by(Observation.device_id, Observation.key)
        query = select(Observation.device_id, Observation.key, Observation.value).where(Observation.id.in_(newest.scalar_subquery()))
        for device_id, key, value in session.execute(query):
            out[device_id][key] = value
    return out
