"""The layers hold: web > collectors > compliance > inventory, nothing imports upward.

The contracts live in pyproject.toml ([tool.importlinter]); import-linter reads every import,
also one inside a function. A name handed to importlib is not an import it can see, so the
lower layers make no such calls at all.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOWER_LAYERS = ("inventory", "compliance", "collectors")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """Run import-linter with the project's contracts over the packages importable from `cwd`."""
    limit = [arg for contract in contracts for arg in ("--contract", contract)]
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *limit, str(PYPROJECT)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_import_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_inside_a_function_breaks_the_layers(tmp_path: Path) -> None:
    """The contract fails on a back-reference (here on four stand-in packages, not the real ones)."""
    for package in ("web", *reversed(LOWER_LAYERS)):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "web" / "main.py").write_text("import collectors\nimport compliance\nimport inventory\n")
    (tmp_path / "inventory" / "queries.py").write_text("def rule():\n    from compliance import policy\n")
    (tmp_path / "compliance" / "policy.py").write_text("")

    result = lint_imports(tmp_path, "layers")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and "inventory.queries -> compliance.policy" in result.stdout


def dynamic_imports(source: str) -> list[int]:
    """Line numbers of importlib.import_module(...) and __import__(...) calls in `source`."""
    names = {"import_module", "__import__"}
    return sorted(
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and ((isinstance(node.func, ast.Name) and node.func.id in names) or (isinstance(node.func, ast.Attribute) and node.func.attr in names))
    )  # fmt: skip


def test_dynamic_imports_are_found() -> None:
    source = "import importlib\n\nfor m in ('web.cli',):\n    importlib.import_module(m)\n__import__('web')\n"
    assert dynamic_imports(source) == [4, 5]
    assert dynamic_imports("from importlib import resources\nresources.files('inventory')\n") == []


@pytest.mark.parametrize("layer", LOWER_LAYERS)
def test_lower_layers_import_nothing_by_name(layer: str) -> None:
    """Imports by name (importlib) hide from the contracts: only the top layer may use them."""
    found = {str(path.relative_to(ROOT)): lines for path in sorted((ROOT / layer).rglob("*.py")) if (lines := dynamic_imports(path.read_text(encoding="utf-8")))}
    assert found == {}
