"""The engine's version: stored with every result, so a score can be traced to its code.

``ENGINE_VERSION`` is ``<ENGINE_LABEL>+<hash>``. The label is the readable name of a
release of the rules; the hash follows everything that decides a score, so nobody has to
remember to bump anything:

- the source of every module of this package,
- the declared features as they run (name, weight, role) and every constant of config.py,
- the installed versions of the libraries the package imports (a new rapidfuzz or
  anyascii can move a score as surely as a new rule).

Two results stamped with the same ENGINE_VERSION were computed by the same engine.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import sys
from pathlib import Path

# The readable half: bump it when the rules change in a way worth naming in release notes.
ENGINE_LABEL = "kyc-match-3.3"

_PACKAGE = Path(__file__).resolve().parent


def _sources() -> list[Path]:
    return sorted(_PACKAGE.rglob("*.py"))


def _imported_libraries(sources: list[Path]) -> list[str]:
    """Distributions of the third-party modules the package's sources import."""
    top_level: set[str] = set()
    for path in sources:
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Import):
                top_level.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                top_level.add(node.module.split(".")[0])
    top_level -= set(sys.stdlib_module_names) | {"matching", "__future__"}
    distributions = importlib.metadata.packages_distributions()
    return sorted({dist for name in top_level for dist in distributions.get(name, [name])})


def _library_versions(names: list[str]) -> list[str]:
    versions = []
    for name in names:
        try:
            versions.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name}==?")
    return versions


def _calibration() -> list[str]:
    """The features and constants as they are in this process (not as written)."""
    from matching import algorithm, config

    features = [
        f"{f.name} {f.weight!r} qualifier={f.qualifier} contradicts={f.contradicts}"
        for f in algorithm.FEATURES
    ]
    constants = [
        f"{name}={value!r}"
        for name, value in sorted(vars(config).items())
        if name.isupper() and not name.startswith("_")
    ]
    return features + constants


def engine_fingerprint() -> str:
    """The hash half of ENGINE_VERSION, computed afresh (tests change a weight and call it)."""
    sources = _sources()
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for line in (*_calibration(), *_library_versions(_imported_libraries(sources))):
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()[:12]


ENGINE_VERSION = f"{ENGINE_LABEL}+{engine_fingerprint()}"
