"""The registry of official lists and how their files are fetched.

Each list code has one parser module, ``data.sources.<code>`` (see its FOLDER, FILES,
REQUIRED and parse()). Modules are imported on first use, so a broken or missing parser
only fails the lists that need it.

``fetch`` brings a list's files to local paths: downloaded from the official URLs into a
staging folder when online, or taken from ``<from_dir>/<FOLDER>/`` when offline.
"""

from __future__ import annotations

import email.utils
import hashlib
import importlib
import importlib.util
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType

import httpx

from data.schema import LIST_CODES


def _parser_version() -> str:
    """A hash of the parsers' own source code (this package, the schema, the country table).

    It is part of every snapshot's content version, so the same files read by changed parsers
    make a new snapshot, without anyone having to remember to bump a number.
    """
    here = Path(__file__).parent
    code = [*sorted(here.glob("*.py")), here.parent / "schema.py", here.parent / "countries.py"]
    digest = hashlib.sha256()
    for path in code:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


PARSER_VERSION = _parser_version()


class UnknownListError(ValueError):
    """A list code that has no parser."""

    def __init__(self, code: str, why: str | None = None) -> None:
        known = ", ".join(LIST_CODES)
        super().__init__(f"unknown list code {code!r}: {why or f'known codes are {known}'}")


class FetchError(Exception):
    """A list's files could not be obtained: names the URL or the missing file."""


class _LazySources(Mapping[str, ModuleType]):
    """list code -> parser module, imported on first access."""

    def __getitem__(self, code: str) -> ModuleType:
        if code not in LIST_CODES:
            raise UnknownListError(code)
        module = f"{__name__}.{code}"
        try:
            return importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            raise UnknownListError(code, f"its parser module {module} is missing") from exc

    def __iter__(self) -> Iterator[str]:
        return iter(LIST_CODES)

    def __len__(self) -> int:
        return len(LIST_CODES)


SOURCES: Mapping[str, ModuleType] = _LazySources()


def available_codes() -> list[str]:
    """List codes whose parser module exists (all of them, once every parser is written)."""
    return [code for code in LIST_CODES if importlib.util.find_spec(f"{__name__}.{code}")]


def check_codes(codes: Iterable[str]) -> list[str]:
    """The codes, de-duplicated in order; an unknown one raises UnknownListError."""
    result: list[str] = []
    for code in codes:
        if code not in LIST_CODES:
            raise UnknownListError(code)
        if code not in result:
            result.append(code)
    return result


def fetch(
    codes: Iterable[str],
    from_dir: Path | None,
    dest: Path,
    timeout: float,
    *,
    strict: bool = True,
) -> dict[str, dict[str, Path]]:
    """Local paths of each list's files: {code: {file name: path}}, present files only.

    Offline (``from_dir`` given), a list whose folder lacks a REQUIRED file raises
    FetchError when ``strict`` (the list was asked for by name), and is otherwise left out
    of the result: the caller reports it as skipped. Online, every failure raises.
    """
    fetched: dict[str, dict[str, Path]] = {}
    for code in check_codes(codes):
        source = SOURCES[code]
        if from_dir is None:
            fetched[code] = _download_list(source, dest / code, timeout)
            continue
        files = _local_files(source, Path(from_dir))
        missing = [name for name in source.REQUIRED if name not in files]
        if not missing:
            fetched[code] = files
        elif strict:
            folder = Path(from_dir) / source.FOLDER
            raise FetchError(f"{code}: {folder} lacks the required file(s) {', '.join(missing)}")
    return fetched


def source_location(code: str, from_dir: Path | None) -> str:
    """Where a list comes from, for the record: its folder, or its main official URL."""
    source = SOURCES[code]
    if from_dir is not None:
        return str((Path(from_dir) / source.FOLDER).resolve())
    main = source.REQUIRED[0] if source.REQUIRED else next(iter(source.FILES))
    return source.FILES[main]


def _local_files(source: ModuleType, from_dir: Path) -> dict[str, Path]:
    folder = from_dir / source.FOLDER
    return {name: folder / name for name in source.FILES if (folder / name).is_file()}


def _download_list(source: ModuleType, dest: Path, timeout: float) -> dict[str, Path]:
    """Download every file of one list; an optional file that fails is left out."""
    dest.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, url in source.FILES.items():
        try:
            files[name] = download(url, dest / name, timeout)
        except FetchError:
            if name in source.REQUIRED:
                raise
    return files


def download(url: str, path: Path, timeout: float) -> Path:
    """Stream one URL to a file. The file's mtime is the server's Last-Modified, if sent."""
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            response.raise_for_status()
            with path.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
            last_modified = response.headers.get("last-modified")
    except httpx.TimeoutException as exc:
        raise FetchError(f"{url}: no answer within {timeout:g} s") from exc
    except httpx.HTTPStatusError as exc:
        raise FetchError(f"{url}: HTTP {exc.response.status_code}") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {exc}") from exc
    if last_modified:
        _set_mtime(path, last_modified)
    return path


def _set_mtime(path: Path, http_date: str) -> None:
    try:
        stamp = email.utils.parsedate_to_datetime(http_date).timestamp()
    except (TypeError, ValueError):
        return
    os.utime(path, (stamp, stamp))
