"""Real servers that tests start themselves and stop, each a process group on a free port.

    with s3_server() as s3:               # moto's stand-alone S3 (a real S3 HTTP endpoint)
        uri = s3.bucket_uri("jobs")         # s3://<bucket>/jobs?endpoint_override=...&scheme=http
        fs = s3.filesystem()                # pyarrow.fs.S3FileSystem pointed at it
    with postgres_server() as pg:         # initdb + postgres, as the postgres user when root
        pg.url("prefect")                   # postgresql+asyncpg://postgres@127.0.0.1:<port>/prefect
    with prefect_server(pg) as prefect:   # `prefect server start` on it (or SQLite: None)
        prefect.env                         # PREFECT_API_URL (and the auth string) for clients
    with dask_cluster(2, env) as dask:    # `dask scheduler` + two `dask worker` processes
        dask.address, dask.worker_pids()

The processes are started by cli/stack.py, the code `kyc cluster up` uses: the README's
commands for separate machines are the same ones. Every part is stopped in a ``finally``,
whatever the test did.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cli import stack
from cli.stack import S3_CREDENTIALS, free_port


@contextlib.contextmanager
def _scratch(prefix: str) -> Iterator[Path]:
    """A folder others may traverse (PostgreSQL's user must reach its data inside)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- S3 (moto) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Server:
    port: int

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def bucket_uri(self, prefix: str = "") -> str:
        """A fresh bucket as a pyarrow URI (the endpoint in the query string)."""
        bucket = f"kyc-{uuid.uuid4().hex[:12]}"
        self.filesystem().create_dir(bucket)
        return stack.s3_uri(self.port, f"{bucket}/{prefix}".rstrip("/"))

    def filesystem(self):  # -> pyarrow.fs.S3FileSystem
        from pyarrow import fs

        return fs.S3FileSystem(
            endpoint_override=self.endpoint,
            scheme="http",
            access_key=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            secret_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region="us-east-1",
            allow_bucket_creation=True,
        )


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto_server on a free port, with the AWS_* variables pyarrow needs set meanwhile."""
    port = free_port()
    saved = {name: os.environ.get(name) for name in S3_CREDENTIALS}
    os.environ.update(S3_CREDENTIALS)
    with _scratch("kyc-s3-") as folder:
        process = stack.start_s3(port, folder / "moto.log")
        try:
            yield S3Server(port)
        finally:
            stack.stop_group(process.pid)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


# --- PostgreSQL --------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresServer:
    port: int
    log: Path

    def url(self, database: str) -> str:
        """A new database's SQLAlchemy URL (asyncpg), as Prefect's server takes it."""
        stack.create_database(self.port, database, self.log)
        return stack.postgres_url(self.port, database)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster: initdb and the postmaster, removed afterwards."""
    with _scratch("kyc-pg-") as folder:
        stack.init_postgres(folder / "data", folder / "initdb.log")
        port = free_port()
        process = stack.start_postgres(folder / "data", port, folder / "postgres.log")
        try:
            yield PostgresServer(port, folder / "postgres.log")
        finally:
            stack.stop_group(process.pid, first=2)  # SIGINT: a fast shutdown


# --- Prefect server ----------------------------------------------------------------------


@dataclass(frozen=True)
class PrefectServer:
    port: int
    auth: str | None
    log: Path

    @property
    def env(self) -> dict[str, str]:
        """What a client process needs: PREFECT_API_URL (and the basic auth string)."""
        return stack.prefect_client_env(self.port, self.auth)


@contextlib.contextmanager
def prefect_server(
    postgres: PostgresServer | None = None, auth: str | None = None
) -> Iterator[PrefectServer]:
    """`prefect server start` on PostgreSQL (a new database of ``postgres``) or, without
    one, on SQLite in a throwaway home; with basic auth when ``auth`` is "user:password"."""
    with _scratch("kyc-prefect-") as home:
        database = postgres.url(f"prefect_{uuid.uuid4().hex[:8]}") if postgres else None
        port = free_port()
        log = home / "server.log"
        process = stack.start_prefect_server(port, home, log, database_url=database, auth=auth)
        try:
            yield PrefectServer(port, auth, log)
        finally:
            stack.stop_group(process.pid)


# --- Dask ----------------------------------------------------------------------------------


@dataclass
class DaskCluster:
    address: str
    folder: Path
    env: dict[str, str]
    workers: dict[str, int] = field(default_factory=dict)  # name -> `dask worker` group pid

    def worker_pids(self) -> dict[str, int]:
        """Worker process ids by worker address (the processes that run the tasks)."""
        return stack.wait_dask_workers(self.address, len(self.workers))


@contextlib.contextmanager
def dask_cluster(workers: int, env: dict[str, str]) -> Iterator[DaskCluster]:
    """A Dask scheduler and ``workers`` worker processes with ``env`` (the KYC_* and
    PREFECT_* variables the chunk tasks read)."""
    with _scratch("kyc-dask-") as folder:
        port = free_port()
        scheduler = stack.start_dask_scheduler(port, folder / "scheduler.log")
        cluster = DaskCluster(f"tcp://127.0.0.1:{port}", folder, env)
        try:
            for number in range(1, workers + 1):
                name = f"worker-{number}"
                process = stack.start_dask_worker(
                    cluster.address, name, env, folder / f"{name}.log", folder / name
                )
                cluster.workers[name] = process.pid
            stack.wait_dask_workers(cluster.address, workers)
            yield cluster
        finally:
            for pid in cluster.workers.values():
                stack.stop_group(pid)
            stack.stop_group(scheduler.pid)
