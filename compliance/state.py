"""A device's compliance state: compliant, non_compliant or unknown, with the reasons.

Compliant only when every rule that applies to the device was evaluated on data no older than
the policy's freshness limit and passed; non_compliant when any applicable rule failed (an open,
unwaived finding); otherwise unknown. Unknown is never counted as compliant. The rules are pure
functions of `DeviceEvidence` (built by compliance/evaluation.py) so each is written once here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from compliance.configparse import PLATFORMS
from inventory.models import Device, DeviceCompliance
from inventory.repository import in_inventory

COMPLIANT = "compliant"
NON_COMPLIANT = "non_compliant"
UNKNOWN = "unknown"
STATES = (COMPLIANT, NON_COMPLIANT, UNKNOWN)

# Checks that read host facts an agent or a poll collects (CPU, memory, disks, TPM, antivirus,
# encryption): without those facts they answer "not applicable", which must not pass for a pass.
HOST_FACT_CHECKS = frozenset({"ep.cpu_cores", "ep.ram", "ep.disk", "ep.tpm_secure_boot", "ep.av_present", "ep.av_fresh", "ep.disk_encryption"})

NOT_COLLECTED = "not collected"
NEVER_REACHED = "never reached"
NO_PARSER = "no parser for its platform"
HOST_FACTS_MISSING = "the host facts it reads were not reported"


@dataclass(frozen=True)
class DeviceEvidence:
    """What decides one device's state."""

    last_seen: datetime | None  # when a collector last got an answer from it
    reachable: bool | None  # the last poll: None never polled, False failed
    config_rules: tuple[str, ...] = ()  # applicable rules that read its running-config
    platform: str | None = None
    config_taken_at: datetime | None = None  # its latest configuration snapshot
    config_error: str | None = None  # why that snapshot could not be parsed
    fact_rules: tuple[str, ...] = ()  # applicable rules that read collected host facts
    has_host_facts: bool = False
    undetermined_rules: tuple[str, ...] = ()  # host-fact rules its facts do not answer (e.g. TPM never reported)
    failed_rules: tuple[str, ...] = ()  # open, unwaived findings
    errored_rules: tuple[str, ...] = ()  # rules whose check raised on it (not evaluated)
    unread_rules: tuple[str, ...] = ()  # rules that read config lines the parser did not understand


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _not_evaluated(rules: tuple[str, ...], why: str) -> str:
    return f"not evaluated: {', '.join(rules)}: {why}"


def gaps(evidence: DeviceEvidence, *, now: datetime, freshness_days: int) -> list[str]:
    """Why the device's evaluation is not a full verdict on fresh data (empty: it is)."""
    oldest = now - timedelta(days=freshness_days)
    reasons = []
    if evidence.last_seen is None:
        reasons.append(NEVER_REACHED if evidence.reachable is False else NOT_COLLECTED)
    elif evidence.last_seen < oldest:
        reasons.append(f"stale: last collected {_day(evidence.last_seen)}, older than {freshness_days} days")
    if evidence.config_rules:
        if evidence.platform not in PLATFORMS:
            reasons.append(NO_PARSER)
        elif evidence.config_taken_at is None:
            reasons.append(_not_evaluated(evidence.config_rules, "no configuration collected"))
        elif evidence.config_error is not None:
            reasons.append(_not_evaluated(evidence.config_rules, f"configuration unreadable ({evidence.config_error})"))
        elif evidence.config_taken_at < oldest:
            reasons.append(f"stale: configuration from {_day(evidence.config_taken_at)}, older than {freshness_days} days")
    if evidence.fact_rules and not evidence.has_host_facts:
        reasons.append(_not_evaluated(evidence.fact_rules, "host facts not collected"))
    elif evidence.fact_rules and evidence.undetermined_rules:
        reasons.append(_not_evaluated(evidence.undetermined_rules, HOST_FACTS_MISSING))
    for rule in evidence.errored_rules:
        reasons.append(_not_evaluated((rule,), "its check failed"))
    if evidence.unread_rules:
        reasons.append(_not_evaluated(evidence.unread_rules, "configuration lines it reads were not understood"))
    return reasons


def decide(evidence: DeviceEvidence, *, now: datetime, freshness_days: int) -> tuple[str, list[str]]:
    """(state, reasons): the failed rules first, then what keeps the verdict from being whole."""
    failed = [f"failed: {rule}" for rule in evidence.failed_rules]
    reasons = failed + gaps(evidence, now=now, freshness_days=freshness_days)
    if failed:
        return NON_COMPLIANT, reasons
    return (UNKNOWN if reasons else COMPLIANT), reasons


# -- queries (the web reads these) ----------------------------------------------------------------


def state_shares(session: Session, site_ids: Collection[int] | None = None) -> dict[int, dict[str, int]]:
    """site id -> {compliant: n, non_compliant: n, unknown: n} over the site's devices that are
    not disposed; a device never evaluated counts as unknown. Every site asked for is answered."""
    state = func.coalesce(DeviceCompliance.state, UNKNOWN)
    query = (
        select(Device.site_id, state, func.count()).outerjoin(DeviceCompliance, DeviceCompliance.device_id == Device.id)
        .where(in_inventory()).group_by(Device.site_id, state)
    )  # fmt: skip
    if site_ids is not None:
        query = query.where(Device.site_id.in_(list(site_ids)))
    shares = {site_id: dict.fromkeys(STATES, 0) for site_id in site_ids or ()}
    for site_id, name, count in session.execute(query):
        shares.setdefault(site_id, dict.fromkeys(STATES, 0))[name] = count
    return shares


def device_state(session: Session, device_id: int) -> dict | None:
    """The device's state as of its last evaluation (state, reasons, evaluated_at, data_as_of,
    failed_rules), or None if it was never evaluated (show it as unknown)."""
    row = session.execute(select(DeviceCompliance).where(DeviceCompliance.device_id == device_id)).scalar_one_or_none()
    if row is None:
        return None
    return {"state": row.state, "reasons": list(row.reasons), "evaluated_at": row.evaluated_at, "data_as_of": row.data_as_of, "failed_rules": row.failed_rules}
