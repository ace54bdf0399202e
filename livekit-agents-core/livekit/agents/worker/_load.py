"""Host measurements: CPU load for worker status reports, memory of a job process.

Both read ``/proc`` on Linux (no extra dependency); ``psutil`` is used when it is installed, and
the load falls back to the 1-minute load average elsewhere.
"""

from __future__ import annotations

import os
import time

__all__ = ["CpuLoad", "process_memory_mb"]


def _cpu_count() -> int:
    env = os.environ.get("NUM_CPUS")
    if env:
        try:
            return max(1, int(float(env)))
        except ValueError:
            pass
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class CpuLoad:
    """The host's CPU utilisation (0-1) over the time since the previous measurement.

    Calls closer together than ``min_window`` seconds return the previous value: /proc/stat
    counts in 10 ms ticks, too coarse for a shorter window.
    """

    def __init__(self, min_window: float = 0.5) -> None:
        self._min_window = min_window
        self._last = self._read_proc_stat()
        self._last_at = time.monotonic()
        self._value = 0.0

    def __call__(self) -> float:
        now = self._read_proc_stat()
        if now is None:
            return self._loadavg()
        if self._last is None:
            self._last, self._last_at = now, time.monotonic()
            return self._value
        if time.monotonic() - self._last_at < self._min_window:
            return self._value
        busy, total = now[0] - self._last[0], now[1] - self._last[1]
        self._last, self._last_at = now, time.monotonic()
        if total > 0:
            self._value = min(1.0, max(0.0, busy / total))
        return self._value

    @staticmethod
    def _read_proc_stat() -> tuple[float, float] | None:
        try:
            with open("/proc/stat") as f:
                fields = f.readline().split()[1:]
        except OSError:
            return None
        values = [float(v) for v in fields]
        idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
        total = sum(values[:8])  # guest time is already counted in user/nice
        return total - idle, total

    @staticmethod
    def _loadavg() -> float:
        try:
            return min(1.0, os.getloadavg()[0] / _cpu_count())
        except (OSError, AttributeError):
            return 0.0


def process_memory_mb(pid: int) -> float | None:
    """Memory used by a process in MB (PSS when available, else RSS); None when unknown."""
    try:
        import psutil  # optional: more precise (PSS/USS) on every platform
    except ImportError:
        return _proc_memory_mb(pid)
    else:
        try:
            proc = psutil.Process(pid)
            try:
                info = proc.memory_full_info()
                return float(getattr(info, "pss", None) or info.uss) / 1e6
            except psutil.AccessDenied:
                return float(proc.memory_info().rss) / 1e6
        except psutil.Error:
            return None


def _proc_memory_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return float(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm") as f:
            rss_pages = int(f.read().split()[1])
        return rss_pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError, AttributeError):
        return None
