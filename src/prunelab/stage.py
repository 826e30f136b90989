"""What every stage script shares: validated params first, and how a user error is reported."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from prunelab.errors import UserError
from prunelab.params import load_params

_IMPORTED = time.perf_counter()
_clock_zero = 0.0  # seconds_since_start() when this process's current stage began


def run(main) -> None:
    """Validate params.yaml, then run ``main(params)``; a ``UserError`` ends it with its message alone, exit 1."""
    try:
        main(load_params())
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    print(f"stage finished in {seconds_since_start() - _clock_zero:.1f} s", flush=True)


def restart_clock() -> None:
    """Time the next stage from now: for a process that runs several stages (`make quick`)."""
    global _clock_zero
    _clock_zero = seconds_since_start()


def seconds_since_start() -> float:
    """Wall seconds since this process started: starting Python and importing TensorFlow are part of a stage's cost."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime: ticks after boot
        return float(Path("/proc/uptime").read_text().split()[0]) - started
    except (OSError, ValueError, IndexError):  # no /proc: from when this module was imported
        return time.perf_counter() - _IMPORTED
