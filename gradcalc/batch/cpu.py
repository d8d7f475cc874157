"""How many batch workers by default: one per idle core, measured while the batch loads its cases.

Kept free of NumPy so that the command can start measuring before NumPy
loads. The load average lags a minute behind (right after a test run or
another batch it still counts their processes), so the idle share of the
machine's CPU ticks over the start-up window is used where the system
gives it (/proc/stat), and the load average only elsewhere.

>>> 1 <= default_jobs() <= usable_cores()
True
"""

from __future__ import annotations

import os
import time
from typing import NamedTuple


def usable_cores() -> int:
    """The cores this process may run on.

    >>> usable_cores() >= 1
    True
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class CpuSample(NamedTuple):
    """Idle and total CPU ticks of the machine (/proc/stat), this process's CPU seconds, and the clock."""

    idle: int
    total: int
    own: float
    wall: float


def cpu_sample() -> CpuSample | None:
    """The machine's CPU counters now, or None where /proc/stat does not exist.

    >>> sample = cpu_sample(); sample is None or sample.total >= sample.idle
    True
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            ticks = [int(field) for field in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal: steal (a hypervisor's other guests) counts as busy
    return CpuSample(ticks[3] + ticks[4], sum(ticks), time.process_time(), time.monotonic())


def idle_cores(since: CpuSample | None, cores: int) -> float | None:
    """Cores left idle since `since`, counting the one this process kept busy (it waits while workers run).

    None when there is no sample or the window is too short to tell.

    >>> idle_cores(None, 2) is None
    True
    """
    now = cpu_sample()
    if since is None or now is None or now.total - since.total < 10:
        return None
    share = (now.idle - since.idle) / (now.total - since.total)
    own = (now.own - since.own) / max(now.wall - since.wall, 1e-9)
    return min(float(cores), share * cores + min(own, 1.0))  # the process's own time and idle may overlap


def default_jobs(cores: int | None = None, idle: float | None = None) -> int:
    """One worker per idle core, at least 1; `idle` measured by `idle_cores`, else cores less the load average.

    Workers on busy cores only slow each other down (a core running
    something else gives a worker half of itself, and the batch waits for
    its slowest worker), so the default is never more workers than idle
    cores, and 1 on a busy machine, the same as `--jobs 1`.

    >>> default_jobs(cores=2, idle=1.9), default_jobs(cores=2, idle=1.3), default_jobs(cores=2, idle=0.2)
    (2, 1, 1)
    >>> default_jobs(cores=8, idle=5.6)
    6
    """
    if cores is None:
        cores = usable_cores()
    if idle is None:  # the load average lags a minute behind: only a fallback
        idle = cores - (os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0)
    return max(1, min(cores, round(idle)))
