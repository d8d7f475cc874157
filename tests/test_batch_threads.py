"""Batch workers run one BLAS thread each; the default --jobs is one worker per idle core (issue 16)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradcalc.batch import cpu, pool
from gradcalc.batch.blas import blas_threads, limit_blas_threads
from gradcalc.cli.batch import app

CASES = "".join(f'[[case]]\nname = "c{i}"\nexpr = "trace(A@B)"\nexpect = "equal"\n\n' for i in range(3))


def test_workers_run_one_blas_thread() -> None:
    before = blas_threads()
    if before is None:
        pytest.skip("no BLAS this process can reach (neither threadpoolctl nor OpenBLAS)")
    limit_blas_threads(2)
    try:
        assert blas_threads() == 2
        assert pool.worker_blas_threads(2) == [1, 1]
        assert blas_threads() == 2  # the parent's own setting is left alone
    finally:
        limit_blas_threads(before)


@pytest.mark.parametrize(("cores", "idle", "jobs"), [
    (1, 1.0, 1), (2, 2.0, 2), (2, 1.6, 2), (2, 1.4, 1), (2, 0.3, 1), (2, -1.0, 1), (4, 2.4, 2), (16, 13.2, 13),
    (2, 3.0, 2),
])
def test_default_jobs_is_one_per_idle_core(cores: int, idle: float, jobs: int) -> None:
    assert cpu.default_jobs(cores=cores, idle=idle) == jobs


@pytest.mark.parametrize(("load", "jobs"), [(0.0, 2), (0.4, 2), (0.7, 1), (1.2, 1), (9.0, 1)])
def test_without_proc_stat_the_load_average_counts(monkeypatch: pytest.MonkeyPatch, load: float, jobs: int) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load), raising=False)
    assert cpu.default_jobs(cores=2) == jobs


@pytest.mark.parametrize(("idle_ticks", "own", "cores"), [
    (50, 0.5, 2.0), (0, 0.5, 1.0), (0, 0.25, 0.5), (100, 0.0, 2.0),
])
def test_idle_cores_counts_this_process_as_idle(monkeypatch: pytest.MonkeyPatch, idle_ticks: int, own: float,
                                                cores: float) -> None:
    """Idle share of 100 ticks on 2 cores over 0.5 s, plus the share of a core this process used."""
    monkeypatch.setattr(cpu, "cpu_sample", lambda: cpu.CpuSample(idle_ticks, 100, own, 0.5))
    assert cpu.idle_cores(cpu.CpuSample(0, 0, 0.0, 0.0), 2) == pytest.approx(cores)
    assert cpu.idle_cores(cpu.CpuSample(0, 95, 0.0, 0.0), 2) is None  # too short a window to tell
    assert cpu.idle_cores(None, 2) is None


def test_idle_cores_on_this_machine() -> None:
    start = cpu.cpu_sample()
    if start is None:
        pytest.skip("no /proc/stat")
    time.sleep(0.2)
    idle = cpu.idle_cores(start, 2)
    assert idle is None or 0.0 <= idle <= 2.0 + 1e-9


@pytest.mark.parametrize(("idle", "jobs"), [(2.0, 2), (0.5, 1)])
def test_batch_uses_the_default_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, idle: float,
                                     jobs: int) -> None:
    (tmp_path / "s.toml").write_text(CASES)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(cpu, "idle_cores", lambda _since, _cores: idle)
    result = CliRunner().invoke(app, ["batch", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1])["summary"]["jobs"] == jobs
