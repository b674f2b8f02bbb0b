"""A collection outcome as plain JSON and back: what offline scan bundles and collectors' batches
carry (collectors/service.py, collectors/fleet/). Reading checks every value for its kind, so a
damaged or crafted outcome is one `DamagedOutcome`, never a half-read record."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date

from collectors.records import (
    ArpRecord,
    CollectorError,
    DeviceFacts,
    FdbRecord,
    HostRecord,
    InterfaceRecord,
    LldpRecord,
    SoftwareRecord,
    Target,
)
from collectors.runner import Outcome
from inventory.redact import mask_config


class DamagedOutcome(ValueError):
    """An outcome whose values are not what their kind says (the message names the part)."""


def outcome_to_json(outcome: Outcome) -> dict:
    # Outcomes leave the machine (a bundle on a laptop, a collector's batch): configs are masked the
    # way stored snapshots are (the reader stores them as they are; masking again is harmless), so
    # they hold no device secret.
    return {
        "target": asdict(outcome.target),
        "facts": [asdict(replace(f, running_config=mask_config(f.running_config)) if f.running_config else f) for f in outcome.facts],
        "error": {"kind": outcome.error.kind, "message": outcome.error.message} if outcome.error else None,
        "attempts": list(outcome.attempts),
        "duration_ms": outcome.duration_ms,
    }


def facts_from_json(data: dict) -> DeviceFacts:
    host = data.get("host")
    if host:
        software = tuple(SoftwareRecord(s["name"], date.fromisoformat(s["installed"]) if s.get("installed") else None) for s in host["software"])
        host = HostRecord(host["cores"], host["ram_kb"], tuple(tuple(d) for d in host["disks"]), software)
    return DeviceFacts(
        **{k: v for k, v in data.items() if k not in ("interfaces", "fdb", "arp", "lldp", "host", "open_ports", "services", "warnings")},
        interfaces=tuple(InterfaceRecord(**i) for i in data.get("interfaces", ())),
        fdb=tuple(FdbRecord(**i) for i in data.get("fdb", ())),
        arp=tuple(ArpRecord(**i) for i in data.get("arp", ())),
        lldp=tuple(LldpRecord(**i) for i in data.get("lldp", ())),
        host=host,
        open_ports=tuple(data.get("open_ports", ())),
        services=tuple(tuple(s) for s in data.get("services", ())),
        warnings=tuple(data.get("warnings", ())),
    )


def outcome_from_json(item) -> Outcome:
    """One outcome read back. Device ids are the sender's: the reader matches devices again by
    identity, so the target's device id is dropped."""
    try:
        if not isinstance(item, dict) or not isinstance(item.get("target"), dict) or not isinstance(item.get("facts"), list):
            raise DamagedOutcome("an outcome without a target or facts")
        error = item.get("error")
        failure = None
        if error:
            if not isinstance(error, dict) or not isinstance(error.get("message"), str) or not isinstance(error.get("kind"), str):
                raise DamagedOutcome("an outcome with a malformed error")
            failure = CollectorError(error["message"])
            failure.kind = error["kind"]
        target = Target(**(item["target"] | {"device_id": None}))
        facts = []
        for fact in item["facts"]:
            if not isinstance(fact, dict):
                raise DamagedOutcome("facts that are not an object")
            facts.append(facts_from_json(fact))
        _check_texts(target, *facts)
        attempts = item.get("attempts", ())
        duration = item.get("duration_ms", 0)
        if not isinstance(attempts, list | tuple) or not isinstance(duration, int | float):
            raise DamagedOutcome("an outcome with malformed attempts or duration")
        return Outcome(target, tuple(facts), failure, tuple(attempts), duration)
    except DamagedOutcome:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise DamagedOutcome(f"{type(exc).__name__}: {exc}") from None


def _check_texts(*records) -> None:
    """Scalar fields of a target or facts are what their kind says (text, number or nothing)."""
    for record in records:
        for name, value in vars(record).items():
            if value is None or isinstance(value, tuple | HostRecord):
                continue
            expected = int if name == "uptime_seconds" else str
            if isinstance(value, bool) or not isinstance(value, expected):
                raise DamagedOutcome(f"{name} is not {'a number' if expected is int else 'text'}")
