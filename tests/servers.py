"""Real servers that tests start themselves and stop: each a subprocess on a free port.

    with s3_server() as s3:        # moto's stand-alone S3 (a real S3 HTTP endpoint)
        uri = s3.bucket_uri("jobs")  # s3://<bucket>?endpoint_override=...&scheme=http
        fs = s3.filesystem()         # pyarrow.fs.S3FileSystem pointed at it

A user starts the same by hand: `moto_server -H 127.0.0.1 -p 5000`, then
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY set to anything and the endpoint in the URI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- S3 (moto) ---------------------------------------------------------------------------

S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


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
        query = urlencode(
            {"endpoint_override": self.endpoint, "scheme": "http", "region": "us-east-1"}
        )
        path = f"{bucket}/{prefix}".rstrip("/")
        return f"s3://{path}?{query}"

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
    moto = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    port = free_port()
    process = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    saved = {name: os.environ.get(name) for name in S3_CREDENTIALS}
    os.environ.update(S3_CREDENTIALS)
    try:
        wait_for_port(port, process, 30, "moto_server")
        yield S3Server(port)
    finally:
        stop(process)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
