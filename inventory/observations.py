"""Collected facts as they stand: the latest observation of each key, per device.

Collectors write observations (history) and compliance reads them; the query lives here, in the
layer both sit on.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlmodel import Session

from inventory.models import Observation


def latest_observations(session: Session, device_ids: list[int] | None = None) -> dict[int, dict[str, str]]:
    """device id -> {fact key: latest value}: the collected facts as they stand."""
    latest = select(func.max(Observation.id)).group_by(Observation.device_id, Observation.key)
    if device_ids is not None:
        latest = latest.where(Observation.device_id.in_(device_ids))
    out: dict[int, dict[str, str]] = defaultdict(dict)
    query = select(Observation.device_id, Observation.key, Observation.value).where(Observation.id.in_(latest.scalar_subquery()))
    for device_id, key, value in session.execute(query):
        out[device_id][key] = value
    return out
