"""container/stage_memory.py on a fake cgroup folder: each stage gets its own peaks, read until the cgroup goes."""

import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "container"))
import stage_memory  # noqa: E402

from prunelab.files import _atomic_write  # noqa: E402


def write_cgroup(folder: Path, rss: int, max_usage: int, kills: int = 0) -> None:
    write_whole(folder / "memory.stat", f"cache 10\nrss {rss}\ntotal_rss {rss}\n")
    write_whole(folder / "memory.oom_control", f"oom_kill_disable 0\nunder_oom 0\noom_kill {kills}\n")
    if not (folder / "memory.max_usage_in_bytes").exists() or max_usage:
        write_whole(folder / "memory.max_usage_in_bytes", str(max_usage))


def write_whole(path: Path, text: str) -> None:
    """Replaced in one step, as a cgroup file reads: the sampler must never see a half-written file."""
    _atomic_write(path, lambda f: f.write(text))


def test_each_stage_gets_its_own_peak_and_the_watch_ends_with_the_cgroup(tmp_path):
    folder = tmp_path / "libpod-abc"
    folder.mkdir()
    (folder / "memory.limit_in_bytes").write_text(str(10 * 2**30))
    write_cgroup(folder, rss=100, max_usage=0)

    def run_output():
        yield "Running stage 'train':\n"
        write_cgroup(folder, rss=3000, max_usage=5000)
        time.sleep(0.4)
        write_cgroup(folder, rss=2000, max_usage=0)
        yield "stage finished in 12.5 s\n"
        yield "Running stage 'report':\n"  # resets the kernel's high-water mark to 0
        time.sleep(0.4)
        write_cgroup(folder, rss=400, max_usage=700, kills=1)
        time.sleep(0.4)
        threading.Timer(0.2, shutil.rmtree, args=(folder,)).start()  # the container exits

    watch = stage_memory.watch_run(run_output(), lambda: folder)
    assert watch.rows["train"] == {"peak_rss": 3000, "peak_usage": 5000, "seconds": 12.5}
    assert watch.rows["report"]["peak_rss"] == 2000  # what the last stage left, still held as the next began
    assert watch.rows["report"]["peak_usage"] == 700
    assert watch.limit == 10 * 2**30 and watch.oom_kills == 1
    assert not watch.thread.is_alive()
