"""`kyc serve`: start and stop the parts of the service together.

Modes (KYC_SERVE_MODE or --mode):
- ``all`` (embedded default): a Prefect server subprocess on SQLite under the data
  directory (UI on http://127.0.0.1:PREFECT_PORT), the lists loaded on first start, the
  embedded runner in a child process (recovery first) and the API in this process.
- ``api``: only the API, against the Prefect server at PREFECT_API_URL (runs on workers).
- ``worker``: only the runner serving the deployments, against PREFECT_API_URL; with
  ``--recover`` it first resumes the jobs a dead process left (only safe when it is the
  one worker, which is how "all" mode starts it).

Prefect reads its settings when it is imported, so the environment is set before anything
imports it (or the global settings are refreshed if something already did). SIGINT and
SIGTERM stop everything, the Prefect server subprocess included; the server also gets
SIGTERM from the kernel if this process dies first (PR_SET_PDEATHSIG), so it never orphans.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cli.stack import die_with_parent
from kyc import settings

logger = logging.getLogger("kyc.serve")

MODES = ("all", "api", "worker")


class ServiceError(RuntimeError):
    """The service could not start (the message says which part and why)."""


def serve(mode: str, from_dir: Path | None, recover: bool | None = None) -> None:
    """Run the service in ``mode`` until SIGINT or SIGTERM.

    In "all" mode the runner is a child process (`kyc serve --mode worker --recover`), not a
    thread of the API process: screening holds the GIL for long stretches, and in the same
    process it made API polls wait seconds. ``recover`` (default: only for that embedded
    worker) runs start-up recovery before the runner polls.
    """
    if mode not in MODES:
        raise ServiceError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Prefect poll otherwise
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    children: list[subprocess.Popen] = []  # stopped in reverse order: worker, then server
    runner = None
    try:
        if mode == "all":
            children.append(start_prefect_server())
        elif not os.environ.get("PREFECT_API_URL"):
            raise ServiceError(f"--mode {mode} needs PREFECT_API_URL (the shared Prefect server)")
        _point_prefect_at_environment()
        ensure_watchlists(from_dir)
        if mode == "all":
            from flows.runner import register_deployments

            register_deployments()  # before the API accepts a job: runs need them
            children += start_local_dask_cluster()
            children.append(start_embedded_worker())
        if mode == "worker":
            from flows.runner import start_embedded_runner

            # Batch screening yields the CPU to the API and the Prefect server beside it.
            os.nice(settings.WORKER_NICE)

            runner = start_embedded_runner(recover=bool(recover))
            for job_id, outcome in runner.recovered.items():
                logger.info("recovery: job %s %s", job_id, outcome)
            _wait_forever()
        else:
            run_api(split=mode == "api")
    except KeyboardInterrupt:
        logger.info("stopping")
    finally:
        if runner is not None:
            runner.stop(timeout=settings.STOP_GRACE_S + 10)
        for child in reversed(children):
            # The worker's runs end at their next chunk, within STOP_GRACE_S.
            stop_process(child, timeout=settings.STOP_GRACE_S + 15)


def start_embedded_worker() -> subprocess.Popen:
    """The runner of "all" mode: `kyc serve --mode worker --recover` in a child process."""
    command = [sys.executable, "-c", "from cli.main import app; app()"]
    command += ["serve", "--mode", "worker", "--recover"]
    process = subprocess.Popen(command, preexec_fn=die_with_parent)
    logger.info("embedded worker started (pid %d)", process.pid)
    return process


def start_local_dask_cluster() -> list[subprocess.Popen]:
    """With KYC_DASK_WORKERS (and no KYC_DASK_ADDRESS): a Dask scheduler and that many
    worker processes, children of this process, whose address the embedded worker started
    next gets (KYC_DASK_ADDRESS), so a job's chunks use every core of this machine."""
    from cli import stack

    workers = local_dask_workers()
    if settings.DASK_ADDRESS or workers == 0:
        return []
    folder = settings.DATA_DIR / "dask"
    port = stack.free_port()
    scheduler = stack.start_dask_scheduler(
        port, folder / "scheduler.log", child_of_this_process=True
    )
    address = f"tcp://127.0.0.1:{port}"
    children = [scheduler]
    for number in range(1, workers + 1):
        name = f"worker-{number}"
        children.append(
            stack.start_dask_worker(
                address,
                name,
                dict(os.environ),
                folder / f"{name}.log",
                folder / name,
                child_of_this_process=True,
                nice=settings.WORKER_NICE,
            )
        )
    os.environ["KYC_DASK_ADDRESS"] = address  # read by the embedded worker's settings
    logger.info("local Dask cluster at %s: %d worker processes", address, workers)
    return children


def local_dask_workers() -> int:
    """KYC_DASK_WORKERS as a number ("auto": one per core of this process)."""
    value = settings.DASK_WORKERS.strip().lower()
    if value == "auto":
        return len(os.sched_getaffinity(0))
    try:
        return max(int(value or 0), 0)
    except ValueError:
        raise ServiceError(f"KYC_DASK_WORKERS={value!r}: use a number or auto") from None


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    """The first SIGTERM or SIGINT stops the service; later ones are ignored, so they
    cannot cut short the orderly stop they asked for (SIGKILL still ends it)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _wait_forever() -> None:
    # A plain sleep, not Event().wait(): a KeyboardInterrupt raised by the signal handler
    # inside a lock's wait surfaces as "release unlocked lock" instead of a clean stop.
    while True:
        time.sleep(3600)


# --- the Prefect server ----------------------------------------------------------------


def start_prefect_server() -> subprocess.Popen:
    """Start `prefect server start` on SQLite under DATA_DIR and wait until it is healthy."""
    home = settings.DATA_DIR / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    api_url = f"http://127.0.0.1:{settings.PREFECT_PORT}/api"
    os.environ.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    log = (settings.DATA_DIR / "prefect-server.log").open("ab")
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(settings.PREFECT_PORT)]
    env = _prefect_server_environment(api_url)
    _wait_port_free(settings.PREFECT_PORT, settings.PREFECT_START_TIMEOUT_S)
    # Its own session: Ctrl-C in the terminal must not stop it before the runner has
    # stopped (we stop it last); die_with_parent still ends it if we are killed.
    process = subprocess.Popen(
        command,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
        start_new_session=True,
    )
    logger.info("Prefect server starting (pid %d), UI at %s", process.pid, api_url[:-4])
    try:
        _wait_healthy(process, f"{api_url}/health", settings.PREFECT_START_TIMEOUT_S)
    except BaseException:
        stop_process(process)
        raise
    return process


def _prefect_server_environment(api_url: str) -> dict[str, str]:
    """The server's environment: bound to 127.0.0.1 on PREFECT_PORT, its UI calling it there.

    The UI in the browser asks /ui-settings which API to call; Prefect answers with its
    UI API URL setting, which defaults to port 4200 whatever port the server listens on
    (the UI then shows "Can't connect to Server API" and no runs). Host and port are also
    set as settings, not only as flags, so every part of the server agrees on them; a
    PREFECT_* value inherited from the shell cannot move the embedded server elsewhere.
    """
    env = {k: v for k, v in os.environ.items() if k not in _EMBEDDED_SERVER_OVERRIDES}
    env.update(
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(settings.PREFECT_PORT),
        PREFECT_SERVER_UI_API_URL=api_url,
    )
    return env


# Settings the embedded server's environment replaces: the client URL (the server needs
# none) and every name Prefect reads its host, port and UI API URL from.
_EMBEDDED_SERVER_OVERRIDES = frozenset(
    {
        "PREFECT_API_URL",
        "PREFECT_SERVER_API_HOST",
        "PREFECT_SERVER_API_PORT",
        "PREFECT_SERVER_UI_API_URL",
        "PREFECT_UI_API_URL",
    }
)


def _wait_port_free(port: int, timeout: float) -> None:
    """A server of a killed previous run may still be shutting down: wait for its port."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        if time.monotonic() > deadline:
            raise ServiceError(f"port {port} (Prefect server) is in use by another process")
        time.sleep(0.5)


def _wait_healthy(process: subprocess.Popen, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceError(
                f"the Prefect server exited with code {process.returncode}; "
                f"see {settings.DATA_DIR / 'prefect-server.log'}"
            )
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise ServiceError(f"the Prefect server did not become healthy within {timeout:.0f} s")


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _point_prefect_at_environment() -> None:
    """Make an already imported Prefect see the environment set above."""
    if "prefect" in sys.modules:
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


# --- watchlists and the API ------------------------------------------------------------


def ensure_watchlists(from_dir: Path | None) -> None:
    """Load the lists on first start: a refresh when there is no current snapshot yet."""
    from data.store import REFRESH_ERRORS, open_snapshots
    from flows.lists import configured_refresh, source_folder

    if open_snapshots(settings.SNAPSHOT_URI, settings.SNAPSHOT_DIR).current_version() is not None:
        return
    folder = source_folder(from_dir)
    where = folder or "the official publishers"
    logger.info("no watchlist snapshot yet: loading the lists from %s", where)
    try:
        report = configured_refresh(None, folder)
    except REFRESH_ERRORS as error:
        hint = "" if folder else " (offline? load them from a folder: --from DIR)"
        raise ServiceError(f"could not load the watchlists{hint}: {error}") from error
    logger.info("watchlist snapshot %s loaded: %s", report.version, report.lists)


def run_api(split: bool = False) -> None:
    """Serve the API with uvicorn until a signal stops it.

    ``split`` (--mode api: workers elsewhere): the API also sweeps for jobs whose run
    crashed with its worker (Prefect marks such runs Crashed through the automations that
    `kyc cluster setup` creates)."""
    import uvicorn

    from api.app import create_app, default_submit_policy

    app = create_app(submit_policy=default_submit_policy(sweep=split))
    config = uvicorn.Config(app, host=settings.API_HOST, port=settings.API_PORT, log_level="info")
    uvicorn.Server(config).run()
