"""A process's own memory, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path


def peak_rss_mb(status: Path = Path("/proc/self/status")) -> float:
    """This process's peak resident memory (VmHWM).

    Not ``getrusage``'s ``ru_maxrss``: Linux carries that across the exec that starts a
    spawned worker, so every worker would report at least the parent's size at the fork.
    """
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{status} has no VmHWM line")


def rss_mb() -> float:
    """This process's resident memory right now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
