"""The parts of the split-up stack as processes of this machine.

PostgreSQL, an S3 server (moto's), the Prefect server on PostgreSQL, a Dask scheduler and its
workers, API processes and a Prefect process worker: each started by one function here, in
its own session (so its children go with it), logging to a file, and stopped by signalling
its process group (SIGTERM, then SIGKILL). `kyc cluster up` (cli/cluster.py) composes them;
the tests start the same parts through tests/servers.py, and `kyc serve` its local Dask
cluster. On separate machines the same commands run, one part per machine (README).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

# The repository folder: prefect.yaml and the flows' entrypoints are relative to it.
REPO = Path(__file__).resolve().parent.parent

# PostgreSQL refuses to run as root; as root, its processes run as this user (Debian's
# postgresql package creates it).
POSTGRES_USER = "postgres"

# Credentials of the S3 test server: moto accepts any, pyarrow and boto need some.
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


class StackError(RuntimeError):
    """A part of the stack could not start (the message names it and its log)."""


# --- processes ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def executable(name: str) -> str:
    """A command of this virtual environment (dask, prefect, kyc, moto_server ...)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def launch(
    command: list[str],
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    child_of_this_process: bool = False,
    nice: int = 0,
) -> subprocess.Popen:
    """Start ``command`` in a session of its own, stdout and stderr appended to ``log``.

    ``child_of_this_process``: it gets SIGTERM when this process dies, however that happens
    (`kyc serve`'s parts never outlive it); ``nice``: it runs at that niceness."""

    def in_the_child() -> None:
        if child_of_this_process:
            die_with_parent()
        if nice:
            os.nice(nice)

    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=user,
            group=pwd.getpwnam(user).pw_gid if user else None,
            preexec_fn=in_the_child if child_of_this_process or nice else None,
        )


def die_with_parent() -> None:
    """In a child, before it execs: get SIGTERM when the parent dies, whatever kills it."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reaps it if it is our exited child
        return waited == 0
    except ChildProcessError:  # not our child: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def stop_group(
    pid: int, timeout: float = 20.0, first: int = signal.SIGTERM, descendants: bool = False
) -> None:
    """Signal the process group led by ``pid`` (``first``, then SIGKILL) until it is gone.

    ``descendants``: also kill its descendants that left the group (a Prefect worker's flow
    runs, each in a session of its own), once the group is gone."""
    import psutil

    try:
        strays = psutil.Process(pid).children(recursive=True) if descendants else []
    except psutil.NoSuchProcess:
        strays = []
    _stop_group(pid, timeout, first)
    for process in strays:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def _stop_group(pid: int, timeout: float, first: int) -> None:
    for signum, wait in ((first, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid) and not _group_alive(pid):
                return
            time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(ready: Callable[[], bool], pid: int, timeout: float, what: str, log: Path) -> None:
    """Poll ``ready`` until it holds; a clear error if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            raise StackError(f"{what} exited before it was ready:\n{tail(log)}")
        try:
            if ready():
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(0.25)
    raise StackError(f"{what} was not ready within {timeout:.0f} s:\n{tail(log)}")


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str, headers: dict[str, str] | None = None) -> bool:
    return httpx.get(url, timeout=3, headers=headers).status_code == 200


def tail(log: Path, size: int = 3000) -> str:
    try:
        return f"--- {log} ---\n" + log.read_text(errors="replace")[-size:]
    except FileNotFoundError:
        return f"(no log at {log})"


# --- PostgreSQL ------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """Where the PostgreSQL server binaries are (`pg_config --bindir`)."""
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise StackError(
            f"PostgreSQL's server binaries were not found (pg_config --bindir: {error}); "
            "install them (Debian: apt-get install postgresql)"
        ) from None
    return Path(out.stdout.strip())


def _postgres_user() -> str | None:
    """The user PostgreSQL runs as: ours, or POSTGRES_USER when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRES_USER)
    except KeyError:
        raise StackError(
            f"PostgreSQL refuses root and there is no {POSTGRES_USER!r} user"
        ) from None
    return POSTGRES_USER


def init_postgres(data_dir: Path, log: Path) -> None:
    """A new database cluster in ``data_dir`` (trust authentication, local connections only).

    As root, ``data_dir`` is handed to POSTGRES_USER, who must be able to reach it: its
    parent folders must be searchable by others (not a 0700 temporary folder of root's)."""
    user = _postgres_user()
    data_dir.mkdir(parents=True, exist_ok=True)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    command = [str(postgres_bindir() / "initdb"), "-D", str(data_dir), "-A", "trust"]
    command += ["-U", "postgres", "-E", "UTF8", "--no-sync"]
    process = launch(command, log, user=user)
    if process.wait(120) != 0:
        who = f" (it runs as {user!r}, who must be able to reach the folder)" if user else ""
        raise StackError(f"initdb failed in {data_dir}{who}:\n{tail(log)}")


def start_postgres(data_dir: Path, port: int, log: Path) -> subprocess.Popen:
    """The postmaster on 127.0.0.1:``port`` (its socket in ``data_dir``); returns when it
    accepts connections. SIGTERM stops it (a smart shutdown), SIGINT at once."""
    command = [str(postgres_bindir() / "postgres"), "-D", str(data_dir), "-p", str(port)]
    command += ["-k", str(data_dir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
    command += ["-c", "max_connections=200"]
    process = launch(command, log, user=_postgres_user())
    ready = [str(postgres_bindir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]
    wait_until(
        lambda: subprocess.run(ready, capture_output=True).returncode == 0,
        process.pid,
        60,
        "PostgreSQL",
        log,
    )
    return process


def create_database(port: int, name: str, log: Path) -> None:
    """Create database ``name`` unless it exists."""
    psql = [str(postgres_bindir() / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    exists = subprocess.run(
        [*psql, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True,
        text=True,
    )
    if exists.stdout.strip() == "1":
        return
    created = subprocess.run([*psql, "-c", f'CREATE DATABASE "{name}"'], capture_output=True)
    if created.returncode != 0:
        raise StackError(f"could not create database {name}: {created.stderr.decode()}")


def postgres_url(port: int, database: str = "prefect") -> str:
    """The SQLAlchemy URL Prefect's server takes (PREFECT_SERVER_DATABASE_CONNECTION_URL)."""
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"


# --- S3 (moto's stand-alone server) ----------------------------------------------------


def start_s3(port: int, log: Path) -> subprocess.Popen:
    """moto_server on 127.0.0.1:``port``: a real S3 HTTP endpoint, kept in its memory."""
    moto = executable("moto_server")
    if shutil.which(moto) is None and not Path(moto).exists():
        raise StackError("moto_server is not installed: `uv sync` installs it (a dev dependency)")
    process = launch([moto, "-H", "127.0.0.1", "-p", str(port)], log)
    wait_until(lambda: port_open(port), process.pid, 60, "the S3 server (moto)", log)
    return process


def s3_uri(port: int, path: str) -> str:
    """A pyarrow URI of ``bucket/prefix`` on the S3 server at ``port``."""
    return f"s3://{path}?endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1"


def create_bucket(port: int, bucket: str) -> None:
    """Create ``bucket`` on the S3 server at ``port`` unless it exists."""
    from pyarrow import fs

    filesystem = fs.S3FileSystem(
        endpoint_override=f"127.0.0.1:{port}",
        scheme="http",
        access_key=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region=S3_CREDENTIALS["AWS_DEFAULT_REGION"],
        allow_bucket_creation=True,
    )
    if filesystem.get_file_info(bucket).type == fs.FileType.NotFound:
        filesystem.create_dir(bucket)


# --- Prefect ---------------------------------------------------------------------------


def auth_headers(auth: str | None) -> dict[str, str]:
    """Basic auth headers for a Prefect server with PREFECT_SERVER_API_AUTH_STRING."""
    if not auth:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


def start_prefect_server(
    port: int,
    home: Path,
    log: Path,
    database_url: str | None = None,
    auth: str | None = None,
    host: str = "127.0.0.1",
    timeout: float = 180.0,
) -> subprocess.Popen:
    """`prefect server start` (on PostgreSQL when ``database_url`` is given, else SQLite in
    ``home``), with basic auth when ``auth`` ("user:password") is given; returns when a
    request with those credentials is answered."""
    home.mkdir(parents=True, exist_ok=True)
    env = _without_prefect_client(os.environ)
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    if database_url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    if auth:
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth
    command = [executable("prefect"), "server", "start", "--host", host, "--port", str(port)]
    process = launch(command, log, env=env)
    # /api/health answers without credentials; a read of the flows needs them.
    probe = f"http://127.0.0.1:{port}/api/flows/filter"
    wait_until(
        lambda: (
            httpx.post(probe, json={"limit": 1}, headers=auth_headers(auth), timeout=3).status_code
            == 200
        ),
        process.pid,
        timeout,
        "the Prefect server",
        log,
    )
    return process


def _without_prefect_client(environ: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    """The environment without a Prefect client's settings (a server needs none of them)."""
    return {
        k: v for k, v in environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING")
    }


def prefect_client_env(port: int, auth: str | None, host: str = "127.0.0.1") -> dict[str, str]:
    """The variables a Prefect client (API, worker, Dask worker) needs to reach the server."""
    env = {"PREFECT_API_URL": f"http://{host}:{port}/api"}
    if auth:
        env["PREFECT_API_AUTH_STRING"] = auth
    return env


def prefect_command(args: list[str], env: dict[str, str], log: Path, timeout: float) -> None:
    """Run one `prefect ...` command from the repository folder (prefect.yaml is there)."""
    process = launch([executable("prefect"), *args], log, env=env, cwd=REPO)
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        stop_group(process.pid)
        raise StackError(
            f"`prefect {' '.join(args)}` took over {timeout:.0f} s:\n{tail(log)}"
        ) from None
    if code != 0:
        raise StackError(f"`prefect {' '.join(args)}` failed ({code}):\n{tail(log)}")


def start_prefect_worker(
    pool: str, env: dict[str, str], log: Path, limit: int = 4
) -> subprocess.Popen:
    """`prefect worker start` on ``pool`` (a process pool): each flow run a process of its
    own session (stop_group(..., descendants=True) stops them too)."""
    command = [executable("prefect"), "worker", "start", "--pool", pool, "--type", "process"]
    command += ["--limit", str(limit)]  # flow-run processes at once (~300 MB each)
    return launch(command, log, env=env, cwd=REPO)


# --- Dask ------------------------------------------------------------------------------


def start_dask_scheduler(
    port: int, log: Path, host: str = "127.0.0.1", child_of_this_process: bool = False
) -> subprocess.Popen:
    """`dask scheduler` on ``host:port`` (no dashboard); returns when it listens."""
    command = [executable("dask"), "scheduler", "--host", host, "--port", str(port)]
    command += ["--no-dashboard"]
    process = launch(command, log, child_of_this_process=child_of_this_process)
    wait_until(lambda: port_open(port), process.pid, 60, "the Dask scheduler", log)
    return process


def start_dask_worker(
    address: str,
    name: str,
    env: dict[str, str],
    log: Path,
    local_dir: Path,
    child_of_this_process: bool = False,
    nice: int = 0,
) -> subprocess.Popen:
    """One `dask worker` process (under its nanny, which restarts it if it dies) running one
    chunk at a time: a chunk already keeps both cores of a small machine partly busy, and
    one at a time bounds the memory to one chunk beside the cached indexes."""
    command = [executable("dask"), "worker", address, "--name", name, "--nthreads", "1"]
    command += ["--nworkers", "1", "--memory-limit", "0", "--local-directory", str(local_dir)]
    command += ["--no-dashboard"]
    return launch(command, log, env=env, child_of_this_process=child_of_this_process, nice=nice)


def wait_dask_workers(address: str, count: int, timeout: float = 120.0) -> dict[str, int]:
    """Wait until the scheduler has ``count`` workers; their process ids by address."""
    from distributed import Client

    with Client(address, timeout=timeout) as client:
        client.wait_for_workers(count, timeout=timeout)
        return client.run(os.getpid)


# --- the API ---------------------------------------------------------------------------


def start_api(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`kyc serve --mode api` on 127.0.0.1:``port`` (wait_api waits until it answers)."""
    env = {**env, "KYC_API_PORT": str(port)}
    return launch([executable("kyc"), "serve", "--mode", "api"], log, env=env)


def wait_api(port: int, process: subprocess.Popen, log: Path, timeout: float = 300.0) -> None:
    """Until the API is ready (warm), not only alive: traffic before that waits seconds."""
    url = f"http://127.0.0.1:{port}/health/ready"
    wait_until(lambda: http_ok(url), process.pid, timeout, f"the API on port {port}", log)
