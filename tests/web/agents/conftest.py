"""Agent tests on the web app: an agent account of site S1 (the `seed` province) and a poster."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session

from collectors.agents.accounts import IssuedAccount, add_account

FIXTURES = Path(__file__).parents[2] / "collectors" / "agents" / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(autouse=True)
def _batched_evaluation_done(app):
    """Tell what the app's batcher still holds before the test's database goes away (its thread
    would otherwise evaluate a dropped database a second later)."""
    yield
    from web.agents_endpoint import BATCHER

    app.extensions[BATCHER].flush()


@dataclass
class Agent:
    account: IssuedAccount

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": basic(self.account.name, self.account.password)}


@pytest.fixture
def agent(engine, seed) -> Agent:
    """An account of S1; machines whose addresses fit none of S1's subnets go to its internet zone
    (the fixtures' addresses are in no subnet of the two-site seed province)."""
    with Session(engine, expire_on_commit=False) as session:
        issued = add_account(session, "s1-agents", site="S1", zone="internet", actor="test")
        session.commit()
    return Agent(issued)
