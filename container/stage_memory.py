"""Peak memory and wall time of each DVC stage of a `dvc repro` running in a container.

    compose run --name NAME ... pipeline | python container/stage_memory.py NAME OUT.json

Reads the run's output on stdin (and echoes it), and watches the container's memory
cgroup (cgroup v1, as podman with runc sets it up on these machines) from the host:

- ``peak_rss``: the most anonymous memory (the cgroup's ``total_rss``: Python heaps,
  TensorFlow's tensors, every process of the stage together) seen in samples 0.1 s apart;
- ``peak_usage``: the kernel's own high-water mark of the cgroup's charge
  (``memory.max_usage_in_bytes``), reset when a stage starts, so exact; it includes page
  cache, which the kernel reclaims before it refuses memory, so it may sit near the limit
  without any danger.

A stage starts at DVC's "Running stage" line; its wall time is the one the stage prints
("stage finished in"). Out-of-memory kills inside the cgroup are counted; any makes this
exit non-zero. Standard library only: it runs in the container-tools venv.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

MEMORY_ROOT = Path("/sys/fs/cgroup/memory")
RUNNING = re.compile(r"Running stage '([^']+)'")
FINISHED = re.compile(r"^stage finished in ([0-9.]+) s")
GB = 1024**3


def find_cgroup(container: str, timeout: float = 600) -> Path:
    """The memory cgroup folder of ``container`` (waits for it to start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(["podman", "inspect", "--format", "{{.Id}}", container], capture_output=True, text=True)
        cid = found.stdout.strip()
        if found.returncode == 0 and cid:
            for folder in MEMORY_ROOT.rglob(f"*{cid}*"):
                if (folder / "memory.stat").exists():
                    return folder
        time.sleep(0.5)
    raise SystemExit(f"stage_memory: no memory cgroup found for container {container}")


def read_stat(folder: Path) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in (folder / "memory.stat").read_text().splitlines())}


def oom_kills(folder: Path) -> int:
    for line in (folder / "memory.oom_control").read_text().splitlines():
        if line.startswith("oom_kill "):
            return int(line.split()[1])
    return 0


class Watch:
    """Per-stage peaks of one cgroup, sampled by a background thread until the cgroup goes."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.limit = int((folder / "memory.limit_in_bytes").read_text())
        self.oom_kills = 0
        self.stage: str | None = None
        self.rows: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while True:
            with self.lock:
                try:
                    rss = read_stat(self.folder)["total_rss"]
                    usage = int((self.folder / "memory.max_usage_in_bytes").read_text())
                    self.oom_kills = oom_kills(self.folder)
                except (OSError, KeyError):
                    return  # the container has gone
                if self.stage is not None:
                    row = self.rows[self.stage]
                    row["peak_rss"] = max(row["peak_rss"], rss)
                    row["peak_usage"] = max(row["peak_usage"], usage)
            time.sleep(0.1)

    def begin(self, stage: str) -> None:
        with self.lock:
            self.stage = stage
            self.rows[stage] = {"peak_rss": 0, "peak_usage": 0, "seconds": None}
            (self.folder / "memory.max_usage_in_bytes").write_text("0")

    def finished(self, seconds: float) -> None:
        with self.lock:
            if self.stage is not None:
                self.rows[self.stage]["seconds"] = seconds


def watch_run(lines, locate) -> Watch:
    """Echo ``lines`` (the run's output) and watch the cgroup ``locate()`` finds once the first stage starts."""
    watch: Watch | None = None
    for line in lines:
        sys.stdout.write(line)
        sys.stdout.flush()
        if (running := RUNNING.search(line)) is not None:
            if watch is None:
                watch = Watch(locate())
            watch.begin(running.group(1))
        elif watch is not None and (finished := FINISHED.search(line)) is not None:
            watch.finished(float(finished.group(1)))
    if watch is None:
        raise SystemExit("stage_memory: no stage ran")
    watch.thread.join(timeout=30)  # the output ends as the container exits; the sampler stops with its cgroup
    return watch


def main() -> None:
    container, out = sys.argv[1], Path(sys.argv[2])
    watch = watch_run(sys.stdin, lambda: find_cgroup(container))
    with watch.lock:
        rows, limit, kills = watch.rows, watch.limit, watch.oom_kills
    out.write_text(json.dumps({"limit_bytes": limit, "oom_kills": kills, "stages": rows}, indent=2))
    print(f"\n{'stage':28} {'wall s':>8} {'peak RSS GB':>12} {'peak usage GB':>14}")
    for stage, row in rows.items():
        seconds = f"{row['seconds']:.0f}" if row["seconds"] is not None else "-"
        print(f"{stage:28} {seconds:>8} {row['peak_rss'] / GB:>12.2f} {row['peak_usage'] / GB:>14.2f}")
    print(f"memory limit {limit / GB:.1f} GB; out-of-memory kills: {kills}")
    if kills:
        raise SystemExit(f"stage_memory: {kills} out-of-memory kill(s) in the container")


if __name__ == "__main__":
    main()
