"""One evaluation of the fleet or a part of it: what every trigger (CLI, web, scheduler, imports,
polls) calls so that findings follow the data."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date

from sqlalchemy import Engine

from compliance.policy import Policy


def evaluate_scope(
    engine: Engine,
    *,
    device_ids: Collection[int] | None = None,
    site_ids: Collection[int] | None = None,
    trigger: str,
    actor: str,
    today: date | None = None,
    policy: Policy | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Evaluate the devices in scope (both None: the whole fleet) and bring their findings up to
    date. Returns the check summary plus "run_id", "scope" and "status"."""
    from compliance.service import run_check  # thin first version: the whole fleet

    del device_ids, site_ids, trigger, progress

    result = run_check(engine, actor=actor, today=today, policy=policy)
    return result | {"run_id": None, "scope": {"devices": None, "sites": None}, "status": "ok"}
