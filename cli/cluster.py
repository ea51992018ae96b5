"""`kyc cluster up / down / status`: the split-up stack on one machine, to try it.

`up` starts, each in its own process group with its log under ``<dir>/logs``:
PostgreSQL (a cluster in ``<dir>/postgres``), an S3 server (moto's, in memory), the Prefect
server on PostgreSQL with basic auth, a Dask scheduler and its workers, the watchlist
snapshot on S3 (first start), the work pool and deployments of prefect.yaml, Prefect's
automations for dead workers' runs, two API processes and a Prefect process worker. It
returns once every part answers, leaving them running; ``<dir>/cluster.json`` records each
part's process and ``<dir>/cluster.env`` the variables a shell needs to use the stack
(`set -a; . <dir>/cluster.env`). `down` stops every part recorded, the last started first.

The parts are the ones cli/stack.py starts; on separate machines the same commands run one
part per machine (README).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cli import stack

WORK_POOL = "kyc-pool"  # prefect.yaml's work pool
BUCKET = "kyc"

# The stack's own tuning: run creation on PostgreSQL is concurrent; dead workers' runs are
# found within a minute or two (heartbeats every 30 s, Prefect's minimum).
HEARTBEAT_S = 30
SILENT_AFTER_S = 75
PENDING_AFTER_S = 300
SWEEP_S = 5
SUBMIT_CONCURRENCY = 8


# How a part is stopped when SIGTERM is not the way: PostgreSQL's fast shutdown is SIGINT
# (SIGTERM waits for every client); `prefect worker start` ignores the first SIGTERM.
STOP_SIGNALS = {"postgres": (signal.SIGINT, 20.0), "prefect-worker": (signal.SIGINT, 10.0)}


@dataclass
class Ports:
    postgres: int = 5433
    s3: int = 9000
    prefect: int = 4200
    dask: int = 8786
    apis: list[int] = field(default_factory=lambda: [8000, 8001])


@dataclass
class Part:
    """A started process of the stack, as cluster.json records it."""

    name: str
    pid: int
    log: str
    url: str | None = None


@dataclass
class Cluster:
    folder: Path
    ports: Ports
    auth: str
    dask_workers: int = 2
    parts: list[Part] = field(default_factory=list)

    @property
    def state_file(self) -> Path:
        return self.folder / "cluster.json"

    @property
    def env_file(self) -> Path:
        return self.folder / "cluster.env"

    def log(self, name: str) -> Path:
        return self.folder / "logs" / f"{name}.log"

    def env(self) -> dict[str, str]:
        """The variables of every part that uses the stack (and of a user's shell)."""
        store = f"{BUCKET}/jobs"
        return {
            **stack.S3_CREDENTIALS,
            **stack.prefect_client_env(self.ports.prefect, self.auth),
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_S),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_HOME": str(self.folder / "prefect-client"),
            "KYC_DATA_DIR": str(self.folder / "data"),
            "KYC_JOB_STORE_URI": stack.s3_uri(self.ports.s3, store),
            "KYC_SNAPSHOT_URI": stack.s3_uri(self.ports.s3, f"{BUCKET}/snapshots"),
            "KYC_DASK_ADDRESS": self.dask_address,
            "KYC_SUBMIT_CONCURRENCY": str(SUBMIT_CONCURRENCY),
            "KYC_SWEEP_S": str(SWEEP_S),
            "KYC_RUN_SILENT_AFTER_S": str(SILENT_AFTER_S),
            "KYC_RUN_PENDING_AFTER_S": str(PENDING_AFTER_S),
        }

    @property
    def dask_address(self) -> str:
        return f"tcp://127.0.0.1:{self.ports.dask}"

    def started(self, name: str, process: subprocess.Popen, url: str | None = None) -> None:
        """Record a started part at once: `down` must find it even if `up` fails later."""
        self.parts.append(Part(name, process.pid, str(self.log(name)), url))
        self.save()

    def save(self) -> None:
        data = {
            "ports": asdict(self.ports),
            "auth": self.auth,
            "dask_workers": self.dask_workers,
            "parts": [asdict(part) for part in self.parts],
        }
        self.state_file.write_text(json.dumps(data, indent=2))
        lines = [f"{name}={value}" for name, value in sorted(self.env().items())]
        self.env_file.write_text("\n".join(lines) + "\n")
        self.env_file.chmod(0o600)  # holds the Prefect server's password

    @classmethod
    def load(cls, folder: Path) -> Cluster | None:
        try:
            data = json.loads((folder / "cluster.json").read_text())
        except FileNotFoundError:
            return None
        return cls(
            folder,
            Ports(**data["ports"]),
            data["auth"],
            data["dask_workers"],
            [Part(**part) for part in data["parts"]],
        )


def up(folder: Path, ports: Ports, from_dir: Path | None, dask_workers: int = 2) -> Cluster:
    """Start the whole stack (see the module's docstring); stopped again if a part fails."""
    folder = folder.resolve()
    if (running := Cluster.load(folder)) is not None and any(
        stack.alive(part.pid) for part in running.parts
    ):
        raise stack.StackError(f"a cluster is already running from {folder}: `kyc cluster down`")
    (folder / "data").mkdir(parents=True, exist_ok=True)
    cluster = Cluster(folder, ports, f"kyc:{secrets.token_urlsafe(12)}", dask_workers)
    cluster.save()
    try:
        _start(cluster, from_dir)
    except BaseException:
        down(folder)
        raise
    return cluster


def _start(cluster: Cluster, from_dir: Path | None) -> None:
    ports, env = cluster.ports, {**os.environ, **cluster.env()}
    pgdata = cluster.folder / "postgres"
    if not (pgdata / "PG_VERSION").exists():
        stack.init_postgres(pgdata, cluster.log("initdb"))
    postgres = stack.start_postgres(pgdata, ports.postgres, cluster.log("postgres"))
    cluster.started("postgres", postgres)
    stack.create_database(ports.postgres, "prefect", cluster.log("postgres"))
    cluster.started("s3", stack.start_s3(ports.s3, cluster.log("s3")))
    os.environ.update(stack.S3_CREDENTIALS)  # this process writes the first snapshot there
    stack.create_bucket(ports.s3, BUCKET)
    with ThreadPoolExecutor(2) as pool:  # the Prefect server takes ~15 s: load lists meanwhile
        prefect = pool.submit(
            stack.start_prefect_server,
            ports.prefect,
            cluster.folder / "prefect",
            cluster.log("prefect-server"),
            database_url=stack.postgres_url(ports.postgres),
            auth=cluster.auth,
        )
        snapshot = pool.submit(_first_snapshot, env, from_dir, cluster.log("lists"))
        cluster.started("prefect-server", prefect.result(), f"http://127.0.0.1:{ports.prefect}")
        snapshot.result()
    scheduler = stack.start_dask_scheduler(ports.dask, cluster.log("dask-scheduler"))
    cluster.started("dask-scheduler", scheduler, cluster.dask_address)
    for number in range(1, cluster.dask_workers + 1):
        name = f"dask-worker-{number}"
        local = cluster.folder / "dask" / name
        process = stack.start_dask_worker(cluster.dask_address, name, env, cluster.log(name), local)
        cluster.started(name, process)
    # The APIs start (and build their index) while Prefect gets its pool and deployments.
    apis = {port: stack.start_api(port, env, cluster.log(f"api-{port}")) for port in ports.apis}
    for port, process in apis.items():
        cluster.started(f"api-{port}", process, f"http://127.0.0.1:{port}")
    _setup_prefect(env, cluster.log("setup"))
    worker = stack.start_prefect_worker(WORK_POOL, env, cluster.log("prefect-worker"))
    cluster.started("prefect-worker", worker)
    for port, process in apis.items():
        stack.wait_api(port, process, cluster.log(f"api-{port}"))
    stack.wait_dask_workers(cluster.dask_address, cluster.dask_workers)


def _first_snapshot(env: dict[str, str], from_dir: Path | None, log: Path) -> None:
    """`kyc lists refresh` onto S3 when the store has no snapshot yet."""
    command = [stack.executable("kyc"), "lists", "show"]
    if subprocess.run(command, env=env, capture_output=True).returncode == 0:
        return
    command = [stack.executable("kyc"), "lists", "refresh"]
    if from_dir is not None:
        command += ["--from", str(from_dir)]
    process = stack.launch(command, log, env=env)
    if process.wait(600) != 0:
        raise stack.StackError(f"could not load the watchlists:\n{stack.tail(log)}")


def _setup_prefect(env: dict[str, str], log: Path) -> None:
    """`kyc cluster setup` against the new Prefect server."""
    process = stack.launch([stack.executable("kyc"), "cluster", "setup"], log, env=env)
    if process.wait(600) != 0:
        raise stack.StackError(f"could not set Prefect up:\n{stack.tail(log)}")


def setup(silent_after_s: float, pending_after_s: float) -> list[str]:
    """The work pool and deployments of prefect.yaml, and the automations for dead workers'
    runs, on the Prefect server at PREFECT_API_URL; what was done, line by line."""
    import asyncio

    from flows.deployments import close_client
    from flows.zombies import ensure_zombie_automations

    env = dict(os.environ)
    log = Path(os.environ.get("KYC_DATA_DIR", ".")) / "prefect-setup.log"
    done = []
    started = time.perf_counter()
    stack.prefect_command(
        ["work-pool", "create", WORK_POOL, "--type", "process", "--overwrite"], env, log, 120
    )
    done.append(f"work pool {WORK_POOL} (process)")
    stack.prefect_command(["--no-prompt", "deploy", "--all"], env, log, 600)
    done.append(f"deployments of prefect.yaml ({time.perf_counter() - started:.0f} s)")

    async def automations() -> list[str]:
        try:
            return await ensure_zombie_automations(silent_after_s, pending_after_s)
        finally:
            await close_client()

    done += [f"automation: {name}" for name in asyncio.run(automations())]
    return done


def down(folder: Path) -> list[str]:
    """Stop every recorded part, the last started first; what was stopped."""
    cluster = Cluster.load(folder.resolve())
    if cluster is None:
        return []
    stopped = []
    for part in reversed(cluster.parts):
        if stack.alive(part.pid):
            first, wait = STOP_SIGNALS.get(part.name, (signal.SIGTERM, 20.0))
            stack.stop_group(part.pid, timeout=wait, first=first, descendants=True)
            stopped.append(f"{part.name} (pid {part.pid})")
    cluster.state_file.unlink(missing_ok=True)
    return stopped


def status(folder: Path) -> list[tuple[str, int, bool, str]]:
    """(part, pid, alive, url or log) of every recorded part."""
    cluster = Cluster.load(folder.resolve())
    if cluster is None:
        return []
    return [
        (part.name, part.pid, stack.alive(part.pid), part.url or part.log) for part in cluster.parts
    ]
