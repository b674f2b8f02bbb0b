"""What-if scenarios of the fundable plan, kept in the database (PlanScenario).

The numbers a scenario holds are compliance.scenarios.ScenarioData's JSON; this module only keeps
them, moves the version on with each edit and writes the audit log. Callers validate first and
commit after."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from inventory import audit
from inventory.models import PlanScenario, utcnow

ENTITY = "plan_scenario"


class ScenarioNameTaken(ValueError):
    """Another scenario already has this name."""


def list_scenarios(session: Session) -> list[PlanScenario]:
    return list(session.exec(select(PlanScenario).order_by(PlanScenario.name)))


def scenario_by_id(session: Session, scenario_id: int) -> PlanScenario | None:
    return session.get(PlanScenario, scenario_id)


def scenario_by_name(session: Session, name: str) -> PlanScenario | None:
    return session.exec(select(PlanScenario).where(PlanScenario.name == name.strip())).first()


def _check_name(session: Session, name: str, keep_id: int | None = None) -> str:
    name = name.strip()
    other = scenario_by_name(session, name)
    if other is not None and other.id != keep_id:
        raise ScenarioNameTaken(name)
    return name


def create_scenario(session: Session, name: str, data: dict[str, Any], actor: str) -> PlanScenario:
    """A new scenario holding `data` (validated by the caller), audit-logged; not committed."""
    scenario = PlanScenario(name=_check_name(session, name), data=data, created_by=actor, updated_by=actor)
    session.add(scenario)
    session.flush()
    audit.record(session, actor, "create", ENTITY, scenario.id, after=audit.snapshot(scenario))
    return scenario


def update_scenario(session: Session, scenario: PlanScenario, data: dict[str, Any], actor: str, name: str | None = None) -> bool:
    """Keep the edited numbers (and name); the version moves on. False, and nothing written, when
    nothing changed."""
    new_name = scenario.name if name is None else _check_name(session, name, keep_id=scenario.id)
    if data == scenario.data and new_name == scenario.name:
        return False
    before = audit.snapshot(scenario)
    scenario.name = new_name
    scenario.data = data
    scenario.version += 1
    scenario.updated_by = actor
    scenario.updated_at = utcnow()
    session.add(scenario)
    session.flush()
    audit.record(session, actor, "update", ENTITY, scenario.id, before=before, after=audit.snapshot(scenario))
    return True


def delete_scenario(session: Session, scenario: PlanScenario, actor: str) -> None:
    before = audit.snapshot(scenario)
    audit.record(session, actor, "delete", ENTITY, scenario.id, before=before)
    session.delete(scenario)
    session.flush()
