"""The floor plan holds: design.md's arrows, checked by import-linter's contracts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports")
    assert lint is not None, "import-linter is a dev dependency: uv sync installs lint-imports"
    out = subprocess.run([lint], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_every_library_the_code_imports_is_declared() -> None:
    """A package imported but only installed as another's dependency passes here and
    breaks a fresh install the day that other package stops pulling it in."""
    import ast
    import importlib.metadata
    import sys
    import tomllib

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared = {
        _canonical(spec.split("[")[0].split(">")[0].split("=")[0].split("<")[0])
        for spec in pyproject["project"]["dependencies"]
    }
    # Our own top-level packages: those the wheel ships (a new one is covered at once).
    ours = set(pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    imported: set[str] = set()
    for package in ours:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_bytes())):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
    third_party = imported - ours - set(sys.stdlib_module_names) - {"__future__"}
    distributions = importlib.metadata.packages_distributions()
    undeclared = {
        module: distributions.get(module, [module])
        for module in third_party
        if not any(_canonical(dist) in declared for dist in distributions.get(module, [module]))
    }
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-")
