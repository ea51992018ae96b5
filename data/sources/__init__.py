"""The registry of official lists and how their files are fetched.

Each list code has one parser module, ``data.sources.<code>`` (see its FOLDER, FILES,
REQUIRED and parse()). Modules are imported on first use, so a broken or missing parser
only fails the lists that need it.

``fetch`` brings a list's files to local paths: downloaded from the official URLs into a
staging folder when online, or taken from ``<from_dir>/<FOLDER>/`` when offline. A
download retries transient failures (connection errors, timeouts, HTTP 408, 429 and 5xx)
as its RetryPolicy says; anything else (a 404, a bad URL) fails at once, naming the URL.
"""

from __future__ import annotations

import email.utils
import hashlib
import importlib
import importlib.util
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import httpx

from data.schema import LIST_CODES

logger = logging.getLogger(__name__)


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


class _TransientFetchError(FetchError):
    """A failure that may go away: worth another attempt after a wait."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# Answers that say "not now" rather than "never": a request timeout, rate limiting and the
# server's own failures (a 503 during a publisher's maintenance, a 502 from its CDN).
TRANSIENT_STATUS = frozenset({408, 429, *range(500, 600)})


@dataclass(frozen=True)
class RetryPolicy:
    """How a download retries a transient failure.

    At most ``attempts`` tries in all; before retry n, a wait of ``backoff_s * 2**(n-1)``
    seconds, at most ``backoff_max_s``. A server's Retry-After (429, 503) is honoured when
    it asks for longer, up to ``retry_after_max_s``; a server asking for more than that
    fails the download at once (the next scheduled refresh is the better retry). The
    default makes one attempt.
    """

    attempts: int = 1
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"download attempts must be at least 1, not {self.attempts}")
        if min(self.backoff_s, self.backoff_max_s, self.retry_after_max_s) < 0:
            raise ValueError("download backoff and Retry-After limits cannot be negative")

    def wait_s(self, retry: int, retry_after_s: float | None) -> float | None:
        """Seconds to wait before retry number ``retry`` (1 for the first); None when the
        server's Retry-After asks for longer than this policy waits."""
        backoff = min(self.backoff_s * 2 ** (retry - 1), self.backoff_max_s)
        if retry_after_s is None:
            return backoff
        if retry_after_s > self.retry_after_max_s:
            return None
        return max(backoff, retry_after_s)


ONE_ATTEMPT = RetryPolicy()


class FetchedFiles(dict[str, Path]):
    """One list's local files by name. ``last_modified``: for a download, the date (ISO, UTC)
    the publisher's server gave as its main file's Last-Modified; None offline or unsent.

    It is the publication date of lists whose files carry none (OFAC's legacy CSVs, the
    CSL). A local file's own time is not: it is when someone copied it."""

    last_modified: str | None = None


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
    retry: RetryPolicy = ONE_ATTEMPT,
) -> dict[str, FetchedFiles]:
    """Local paths of each list's files: {code: {file name: path}}, present files only.

    Offline (``from_dir`` given), a list whose folder lacks a REQUIRED file raises
    FetchError when ``strict`` (the list was asked for by name), and is otherwise left out
    of the result: the caller reports it as skipped. Online, every failure raises, after
    the retries ``retry`` allows for transient ones.
    """
    fetched: dict[str, FetchedFiles] = {}
    for code in check_codes(codes):
        source = SOURCES[code]
        if from_dir is None:
            fetched[code] = _download_list(source, dest / code, timeout, retry)
            continue
        files = _local_files(source, Path(from_dir))
        missing = [name for name in source.REQUIRED if name not in files]
        if not missing:
            fetched[code] = FetchedFiles(files)
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


def _download_list(
    source: ModuleType, dest: Path, timeout: float, retry: RetryPolicy
) -> FetchedFiles:
    """Download every file of one list; an optional file that fails is left out."""
    dest.mkdir(parents=True, exist_ok=True)
    files = FetchedFiles()
    modified: dict[str, str | None] = {}
    for name, url in source.FILES.items():
        try:
            files[name], modified[name] = download(url, dest / name, timeout, retry)
        except FetchError:
            if name in source.REQUIRED:
                raise
    main = next((n for n in source.REQUIRED if n in files), next(iter(files), None))
    files.last_modified = modified.get(main) if main else None
    return files


def download(
    url: str, path: Path, timeout: float, retry: RetryPolicy = ONE_ATTEMPT
) -> tuple[Path, str | None]:
    """Stream one URL to a file, retrying transient failures as ``retry`` says; also the
    server's Last-Modified as an ISO date (UTC), if sent.

    The file's mtime is that Last-Modified too. Raises FetchError naming the URL: at once
    for a permanent failure, after the last attempt for a transient one.
    """
    attempt = 1
    while True:
        try:
            return _download_once(url, path, timeout)
        except _TransientFetchError as failure:
            if attempt == retry.attempts:
                tries = f" ({attempt} attempts)" if attempt > 1 else ""
                raise FetchError(f"{failure}{tries}") from failure
            wait = retry.wait_s(attempt, failure.retry_after_s)
            if wait is None:
                raise FetchError(
                    f"{failure}; the server asks to retry in {failure.retry_after_s:g} s,"
                    f" longer than the {retry.retry_after_max_s:g} s a download waits"
                ) from failure
            logger.warning(
                "%s; attempt %d of %d, next in %.1f s", failure, attempt, retry.attempts, wait
            )
            time.sleep(wait)
            attempt += 1


def _download_once(url: str, path: Path, timeout: float) -> tuple[Path, str | None]:
    """One attempt: _TransientFetchError for what may succeed later, FetchError otherwise."""
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            if response.status_code in TRANSIENT_STATUS:
                retry_after = _retry_after_s(response.headers.get("retry-after"))
                raise _TransientFetchError(f"{url}: HTTP {response.status_code}", retry_after)
            response.raise_for_status()
            with path.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
            last_modified = response.headers.get("last-modified")
    except httpx.TimeoutException as exc:
        raise _TransientFetchError(f"{url}: no answer within {timeout:g} s") from exc
    except httpx.HTTPStatusError as exc:
        raise FetchError(f"{url}: HTTP {exc.response.status_code}") from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.TooManyRedirects) as exc:
        raise FetchError(f"{url}: {exc}") from exc
    except httpx.TransportError as exc:  # refused, reset, DNS, a body cut short
        raise _TransientFetchError(f"{url}: {str(exc) or type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {exc}") from exc
    modified = _http_date(last_modified) if last_modified else None
    if modified is not None:
        os.utime(path, (modified.timestamp(), modified.timestamp()))
    return path, None if modified is None else modified.astimezone(UTC).date().isoformat()


def _retry_after_s(value: str | None) -> float | None:
    """Retry-After as seconds from now: a number of seconds or an HTTP date; None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _http_date(text: str) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
