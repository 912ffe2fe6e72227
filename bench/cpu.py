"""CPU time of live processes, for the benchmarks: ffmpeg children still running are not in os.times() yet."""

import os
from pathlib import Path


def proc_cpu(pid: int) -> float:
    """CPU seconds of a live process, to the nanosecond: the scheduler's run time of each of its threads (the
    10 ms ticks of /proc/<pid>/stat are too coarse for a few milliseconds per second)."""
    total = 0.0
    for sched in Path(f"/proc/{pid}/task").glob("*/sched"):
        for line in sched.read_text().splitlines():
            if line.startswith("se.sum_exec_runtime"):
                total += float(line.split(":")[1]) / 1000
    return total


def ffmpeg_children() -> list[int]:
    """The pids of this process's ffmpeg children."""
    me = os.getpid()
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.endswith("(ffmpeg") and int(tail.split()[1]) == me:
            pids.append(int(stat.parent.name))
    return pids
