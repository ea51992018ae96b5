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
