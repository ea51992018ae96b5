"""ENGINE_VERSION follows the engine: its code, its calibration and its libraries."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import matching
from matching import algorithm, config
from matching.version import ENGINE_LABEL, engine_fingerprint

REPO = Path(__file__).resolve().parent.parent


def test_the_version_is_the_label_and_the_fingerprint_of_this_code() -> None:
    assert f"{ENGINE_LABEL}+{engine_fingerprint()}" == matching.ENGINE_VERSION


def test_a_changed_weight_changes_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = engine_fingerprint()
    first, *rest = algorithm.FEATURES
    heavier = dataclasses.replace(first, weight=first.weight * 1.01)
    monkeypatch.setattr(algorithm, "FEATURES", (heavier, *rest))
    assert engine_fingerprint() != before


def test_a_changed_constant_changes_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = engine_fingerprint()
    monkeypatch.setattr(config, "MIN_TOKEN_SIM", config.MIN_TOKEN_SIM + 0.001)
    assert engine_fingerprint() != before


def _version_of(package_parent: Path) -> str:
    code = "import matching; print(matching.ENGINE_VERSION)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=package_parent,
        env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_an_edited_source_file_changes_the_version(tmp_path: Path) -> None:
    """A copy of the package is the same engine; one weight edited in its source is not."""
    copy = tmp_path / "matching"
    shutil.copytree(REPO / "matching", copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert _version_of(tmp_path) == matching.ENGINE_VERSION
    source = copy / "config.py"
    constant = re.search(r"^([A-Z_]+) = (\d+\.\d+)$", source.read_text(), re.MULTILINE)
    assert constant is not None, "config.py has no float constant to change"
    name, value = constant.groups()
    edited = f"{name} = {float(value) + 0.001!r}"
    source.write_text(source.read_text().replace(constant.group(0), edited, 1))
    assert _version_of(tmp_path) != matching.ENGINE_VERSION
