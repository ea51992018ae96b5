"""`kyc serve`'s own Dask cluster (KYC_DASK_WORKERS): real scheduler and worker processes."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest

from cli import service, stack
from kyc import settings


def test_auto_starts_one_worker_process_per_core_for_the_embedded_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(settings, "DASK_WORKERS", "auto")
    monkeypatch.setattr(settings, "DASK_ADDRESS", "")
    monkeypatch.setattr(settings, "DATA_DIR", tmp_path)
    monkeypatch.setenv("KYC_DASK_ADDRESS", "")  # restored afterwards, whatever it is set to
    children = service.start_local_dask_cluster()
    try:
        address = os.environ["KYC_DASK_ADDRESS"]  # what the embedded worker started next reads
        assert address.startswith("tcp://127.0.0.1:")
        cores = len(os.sched_getaffinity(0))
        workers = stack.wait_dask_workers(address, cores)
        assert len(workers) == cores
        for pid in workers.values():  # batch work yields the CPU to the API
            assert psutil.Process(pid).nice() >= settings.WORKER_NICE
        assert len(children) == cores + 1  # the scheduler and one `dask worker` per core
    finally:
        for child in children:
            stack.stop_group(child.pid)
    assert all(not stack.alive(child.pid) for child in children)


def test_no_cluster_by_default_or_with_an_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "DASK_WORKERS", "0")
    assert service.start_local_dask_cluster() == []
    monkeypatch.setattr(settings, "DASK_WORKERS", "2")
    monkeypatch.setattr(settings, "DASK_ADDRESS", "tcp://dask-host:8786")
    assert service.start_local_dask_cluster() == []  # an existing cluster is used instead


def test_a_bad_worker_count_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "DASK_WORKERS", "two")
    with pytest.raises(service.ServiceError, match="KYC_DASK_WORKERS='two'"):
        service.local_dask_workers()
