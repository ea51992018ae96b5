"""Every knob of the service, in one place.

Each setting is an environment variable with the ``KYC_`` prefix, read once at import, with
its default and what it is for beside it. The README lists them all. This is the ground
floor: the CLI, the API and the flows import it; code below them (``data``, ``matching``)
takes these values as arguments rather than importing them, so it stays testable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kyc import SettingError
from matching import config as engine_config


def _env(name: str, default: str) -> str:
    return os.environ.get(f"KYC_{name}", default)


def _env_int(name: str, default: int) -> int:
    return _parsed(name, str(default), int, "a whole number")


def _env_float(name: str, default: float) -> float:
    return _parsed(name, str(default), float, "a number")


_T = TypeVar("_T")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _env_bool(name: str, default: bool) -> bool:
    # A misspelt switch ("flase") is an error, not quietly one of the two values.
    value = _env(name, "true" if default else "false").strip().lower()
    if value not in _TRUE + _FALSE:
        raise SettingError(f"KYC_{name}={value!r} is not true or false (or 1/0, yes/no, on/off)")
    return value in _TRUE


def _parsed(name: str, default: str, parse: Callable[[str], _T], what: str) -> _T:
    value = _env(name, default)
    try:
        return parse(value)
    except ValueError:
        raise SettingError(f"KYC_{name}={value!r} is not {what}") from None


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in _env(name, default).split(",") if item.strip()]


# --- Storage ---------------------------------------------------------------------------

# Root of all local state: watchlist snapshots, API keys, the Prefect home of the embedded
# server. Relative paths are resolved against the working directory.
DATA_DIR: Path = Path(_env("DATA_DIR", "var")).resolve()

# Where watchlist snapshots (one DuckDB file per content version) and the "current" pointer
# live on this machine. With SNAPSHOT_URI on shared storage: this machine's cache of it.
SNAPSHOT_DIR: Path = Path(_env("SNAPSHOT_DIR", str(DATA_DIR / "snapshots"))).resolve()

# Shared snapshot store for many machines: any pyarrow filesystem URI (s3://bucket/snapshots).
# Refreshes publish there; every machine copies a version into SNAPSHOT_DIR once, checked
# against its SHA-256. Empty: the snapshots are the local folder SNAPSHOT_DIR.
SNAPSHOT_URI: str = _env("SNAPSHOT_URI", "")

# How many snapshots to keep on disk; older ones are deleted after a successful refresh.
SNAPSHOTS_KEEP: int = _env_int("SNAPSHOTS_KEEP", 5)

# Job store: entities, results and progress of every job, as Parquet and JSON. Any URI that
# pyarrow's filesystem layer understands: a local path, file:///..., or s3://bucket/prefix.
JOB_STORE_URI: str = _env("JOB_STORE_URI", str(DATA_DIR / "jobs"))

# --- Watchlists ------------------------------------------------------------------------

# List codes the service loads and screens against by default.
LISTS: list[str] = _env_list("LISTS", "ofac,ofac_cons,un,eu,uk,us_csl")

# Offline source: a folder laid out like ../shared/data/watchlists (one sub-folder per
# source). Empty means download from the official publishers' URLs.
WATCHLIST_DIR: str = _env("WATCHLIST_DIR", "")

# A refresh is refused when a list would lose more than this fraction of its entries
# compared with the current snapshot (a truncated download), unless forced.
MAX_LIST_SHRINK: float = _env_float("MAX_LIST_SHRINK", 0.2)

# Seconds to wait for one official download before the refresh fails.
DOWNLOAD_TIMEOUT_S: float = _env_float("DOWNLOAD_TIMEOUT_S", 120.0)

# A download that fails transiently (connection error, timeout, HTTP 408, 429 or 5xx) is
# tried again, DOWNLOAD_ATTEMPTS times in all, after DOWNLOAD_BACKOFF_S seconds, doubling
# up to DOWNLOAD_BACKOFF_MAX_S (the defaults wait 5, 10, 20 s: a publisher's brief outage
# no longer costs six hours until the next refresh). A 404 or other permanent failure is
# not retried. A server's Retry-After is honoured up to DOWNLOAD_RETRY_AFTER_MAX_S; one
# asking for longer fails the download at once.
DOWNLOAD_ATTEMPTS: int = _env_int("DOWNLOAD_ATTEMPTS", 4)
DOWNLOAD_BACKOFF_S: float = _env_float("DOWNLOAD_BACKOFF_S", 5.0)
DOWNLOAD_BACKOFF_MAX_S: float = _env_float("DOWNLOAD_BACKOFF_MAX_S", 60.0)
DOWNLOAD_RETRY_AFTER_MAX_S: float = _env_float("DOWNLOAD_RETRY_AFTER_MAX_S", 300.0)

# Cron schedule of the refresh_watchlists deployment (UTC); empty disables it.
REFRESH_CRON: str = _env("REFRESH_CRON", "0 */6 * * *")

# --- Screening -------------------------------------------------------------------------

# Matches scoring below this confidence are not reported (0-1). Overridable per request.
# Default: the threshold the engine is calibrated at (matching/config.py).
DEFAULT_THRESHOLD: float = _env_float("DEFAULT_THRESHOLD", engine_config.DEFAULT_THRESHOLD)

# The search type of a request that names none (api.md: composite).
DEFAULT_SEARCH_TYPE: str = "composite"

# At most this many matches are reported per screened entity, best first.
MAX_MATCHES: int = _env_int("MAX_MATCHES", 10)

# Entities screened per task run of a job: the unit of progress, retry and resume.
CHUNK_SIZE: int = _env_int("CHUNK_SIZE", 50_000)

# A Dask scheduler (tcp://host:8786): a job's chunk tasks then run on its workers, all at
# once, through Prefect's Dask task runner. Empty: chunks run one after another in the
# flow's process (the embedded default).
DASK_ADDRESS: str = _env("DASK_ADDRESS", "")

# `kyc serve` (all mode) starts its own Dask cluster of this many worker processes when
# DASK_ADDRESS is empty: "auto" is one per core, which lets one machine's chunks use every
# core (the engine alone keeps about 1.3 of 2 busy). 0: no cluster, chunks one at a time.
DASK_WORKERS: str = _env("DASK_WORKERS", "0")

# --- API -------------------------------------------------------------------------------

API_HOST: str = _env("API_HOST", "127.0.0.1")
API_PORT: int = _env_int("API_PORT", 8000)

# Requests larger than this many bytes are refused with 413.
MAX_BODY_BYTES: int = _env_int("MAX_BODY_BYTES", 512 * 1024 * 1024)

# A job may hold at most this many entities (400 beyond).
MAX_ENTITIES_PER_JOB: int = _env_int("MAX_ENTITIES_PER_JOB", 2_000_000)

# Requests allowed per token per window, and the window in seconds (429 beyond).
RATE_LIMIT_REQUESTS: int = _env_int("RATE_LIMIT_REQUESTS", 1200)
RATE_LIMIT_WINDOW_S: int = _env_int("RATE_LIMIT_WINDOW_S", 60)

# Creating an accepted job's flow run happens in the background, SUBMIT_CONCURRENCY runs at
# a time. A failed creation (Prefect unreachable) is retried after SUBMIT_BACKOFF_S,
# doubling up to SUBMIT_BACKOFF_MAX_S; a job whose run could not be created within
# SUBMIT_GIVE_UP_S of being queued is failed with the reason.
SUBMIT_BACKOFF_S: float = _env_float("SUBMIT_BACKOFF_S", 0.5)
SUBMIT_BACKOFF_MAX_S: float = _env_float("SUBMIT_BACKOFF_MAX_S", 10.0)
SUBMIT_GIVE_UP_S: float = _env_float("SUBMIT_GIVE_UP_S", 120.0)

# Flow runs one API process creates at once. 1 for Prefect on SQLite (concurrent creations
# fall to 2-3/s there); with Prefect on PostgreSQL, more (`kyc cluster up` sets 8).
SUBMIT_CONCURRENCY: int = _env_int("SUBMIT_CONCURRENCY", 1)

# JWT verification: an HS256 shared secret and/or the path of an RS256 public key (PEM) or
# JWKS file. Empty disables that kind of token. Tenant and permissions come from claims.
JWT_SECRET: str = _env("JWT_SECRET", "")
JWT_PUBLIC_KEY_FILE: str = _env("JWT_PUBLIC_KEY_FILE", "")
JWT_TENANT_CLAIM: str = _env("JWT_TENANT_CLAIM", "tenant")
JWT_AUDIENCE: str = _env("JWT_AUDIENCE", "")
JWT_ISSUER: str = _env("JWT_ISSUER", "")

# Where hashed API keys are stored.
API_KEYS_FILE: Path = Path(_env("API_KEYS_FILE", str(DATA_DIR / "api_keys.json"))).resolve()

# --- Evidence: stored checks, reports, exports ------------------------------------------

# Every POST /kyc answer is stored (beside the job store) so GET /kyc/{check_id} returns it
# later. "false" stores nothing (GET /kyc/{check_id} then finds nothing): for a deployment
# whose own records keep the checks and that must not keep the subjects.
STORE_CHECKS: bool = _env_bool("STORE_CHECKS", True)

# A report's matches table lists at most this many matches, best first; it says how many
# more there are and where to get them all (the results download).
REPORT_MAX_MATCHES: int = _env_int("REPORT_MAX_MATCHES", 200)

# GET /exports/{jobId}: how long its presigned URL works, in seconds (api.md: one hour).
EXPORT_URL_TTL_S: int = _env_int("EXPORT_URL_TTL_S", 3600)

# The secret that signs export URLs of a local job store (an s3:// store gets S3's own
# presigned URLs). Every API process must have the same one: split-up deployments set it.
# Empty: one is generated on first use and kept in EXPORT_URL_SECRET_FILE (mode 0600).
EXPORT_URL_SECRET: str = _env("EXPORT_URL_SECRET", "")
EXPORT_URL_SECRET_FILE: Path = Path(
    _env("EXPORT_URL_SECRET_FILE", str(DATA_DIR / "export_url.secret"))
).resolve()

# The API's address as clients reach it (behind a proxy: https://kyc.example.com), for the
# signed URLs it hands out. Empty: the address the request came to.
PUBLIC_URL: str = _env("PUBLIC_URL", "")

# --- Prefect ---------------------------------------------------------------------------

# Embedded Prefect server: port of its API and UI.
PREFECT_PORT: int = _env_int("PREFECT_PORT", 4200)

# How the service runs: "all" starts the Prefect server, the runner and the API together;
# "api" starts only the API (Prefect at PREFECT_API_URL, workers elsewhere); "worker" only
# serves the deployments. See the README.
SERVE_MODE: str = _env("SERVE_MODE", "all")

# Embedded runner: seconds between polls for new runs (a new job waits up to this long),
# and how many flow runs it executes at once (in its one process, sharing one list index).
RUNNER_POLL_S: float = _env_float("RUNNER_POLL_S", 1.0)
RUNNER_LIMIT: int = _env_int("RUNNER_LIMIT", 2)

# Niceness of a `kyc serve --mode worker` process (the embedded runner included): screening
# is batch work and should not slow the API's answers on the same machine (0 = no change).
WORKER_NICE: int = _env_int("WORKER_NICE", 10)

# On a stop, runs in flight end at their next chunk (their jobs resume at the next start);
# a run still going after this many seconds is cancelled (and resumes the same way).
STOP_GRACE_S: float = _env_float("STOP_GRACE_S", 20.0)

# Recovery fails a job with a reason instead of resuming it after this many flow runs.
MAX_JOB_ATTEMPTS: int = _env_int("MAX_JOB_ATTEMPTS", 5)

# Split up (`kyc serve --mode api`): seconds between each API process's sweeps for jobs whose
# flow run crashed with its worker; such a job resumes in a new run (0 disables the sweep).
SWEEP_S: float = _env_float("SWEEP_S", 30.0)

# Split up: Prefect automations mark Crashed a flow run that sent no heartbeat for
# RUN_SILENT_AFTER_S (workers send one every PREFECT_FLOWS_HEARTBEAT_FREQUENCY, default 180,
# at least 30) and one a worker claimed but did not start within RUN_PENDING_AFTER_S.
RUN_SILENT_AFTER_S: float = _env_float("RUN_SILENT_AFTER_S", 600.0)
RUN_PENDING_AFTER_S: float = _env_float("RUN_PENDING_AFTER_S", 900.0)

# Seconds `kyc serve` waits for the Prefect server to answer its health check.
PREFECT_START_TIMEOUT_S: float = _env_float("PREFECT_START_TIMEOUT_S", 90.0)

# --- Monitoring ------------------------------------------------------------------------

# Cron schedule of the rescreen-book deployment (UTC); empty disables it. A refresh that
# makes a new snapshot starts a rescreen at once; the schedule catches up on anything that
# trigger missed (a rescreen of a version already screened does nothing).
RESCREEN_CRON: str = _env("RESCREEN_CRON", "30 */6 * * *")

# Rescreen jobs report only matches whose list entry was added or changed since the entity
# was last screened (the alerts of a list update), found by reverse screening of the book.
# "false" screens the whole book in full and reports every match again.
RESCREEN_DELTA: bool = _env_bool("RESCREEN_DELTA", True)

# Rescreens find the entities an added or changed entry could match by reverse screening of
# the book index, and screen only those. "false" screens every due entity instead (the same
# alerts at the cost of the whole book: the comparison the equivalence tests make).
RESCREEN_REVERSE: bool = _env_bool("RESCREEN_REVERSE", True)

# Cron schedule (UTC) of the catch-up rescreen (deployment rescreen-book-catch-up): every
# book entity screened in full against the current snapshot, every match not reported before
# is an alert. A safety net under the reverse rescreens; empty disables it.
RESCREEN_FULL_CRON: str = _env("RESCREEN_FULL_CRON", "0 3 * * 0")

# --- Webhooks --------------------------------------------------------------------------

# Per-tenant webhook endpoints and signing secrets (`kyc webhooks`); kept in clear, mode 0600.
# In a split-up deployment, every worker and API process needs the same file.
WEBHOOKS_FILE: Path = Path(_env("WEBHOOKS_FILE", str(DATA_DIR / "webhooks.json"))).resolve()

# The API process delivers pending webhook POSTs: it looks for due ones every WEBHOOK_POLL_S,
# waits WEBHOOK_TIMEOUT_S for a receiver's answer, and retries a failure after
# WEBHOOK_BACKOFF_S, doubling up to WEBHOOK_BACKOFF_MAX_S, WEBHOOK_MAX_ATTEMPTS tries in all
# (about seven hours with the defaults) before recording the delivery failed.
WEBHOOK_POLL_S: float = _env_float("WEBHOOK_POLL_S", 2.0)
WEBHOOK_TIMEOUT_S: float = _env_float("WEBHOOK_TIMEOUT_S", 10.0)
WEBHOOK_BACKOFF_S: float = _env_float("WEBHOOK_BACKOFF_S", 10.0)
WEBHOOK_BACKOFF_MAX_S: float = _env_float("WEBHOOK_BACKOFF_MAX_S", 3600.0)
WEBHOOK_MAX_ATTEMPTS: int = _env_int("WEBHOOK_MAX_ATTEMPTS", 12)

# A rescreen.alerts webhook carries at most this many alerts; the receiver pages the rest
# from GET /kyc/jobs/{job_id}?only_matches=true.
WEBHOOK_MAX_ALERTS: int = _env_int("WEBHOOK_MAX_ALERTS", 100)
