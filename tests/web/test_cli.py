"""`kiemke serve` uses waitress; `kiemke demo` ends by serving and printing how to sign in."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask

from web.cli import demo_serve
from web.main import DEMO_STEPS, main

pytestmark = pytest.mark.db


@pytest.fixture
def served(monkeypatch):
    calls = []
    import waitress

    monkeypatch.setattr(waitress, "serve", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_serve_uses_waitress(kiemke_env, served):
    runner = CliRunner()
    assert runner.invoke(main, ["init"], catch_exceptions=False).exit_code == 0
    result = runner.invoke(main, ["serve", "--port", "8099"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8099/" in result.output
    app, kw = served[0]
    assert isinstance(app, Flask) and kw["host"] == "127.0.0.1" and kw["port"] == 8099


def test_serve_needs_a_database(kiemke_env, served):
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1 and "kiemke init" in result.output
    assert not served


def test_demo_step_is_registered_last_and_prints_a_working_password(kiemke_env, served, monkeypatch):
    import re

    assert DEMO_STEPS[-1] is demo_serve
    # The demo without its other steps: init, then only the web step.
    monkeypatch.setattr("web.main.DEMO_STEPS", [demo_serve])
    monkeypatch.setattr("inventory.demo.load_demo", lambda session, actor: type("S", (), {"sites": 0, "devices": 0})())
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8080/" in result.output
    password = re.search(r"one-time password (\S+)\n", result.output).group(1)
    assert served, "the demo should end by serving"

    from inventory.settings import Settings
    from tests.web.conftest import login
    from web import create_app

    client = create_app(Settings(), {"TESTING": True}).test_client()
    response = login(client, "admin", password)
    assert response.headers["Location"] == "/password"


def test_demo_without_serve_does_nothing(kiemke_env, served):
    class Ctx:
        obj = None

    demo_serve(Ctx(), profile="small", serve=False)
    assert not served
