import os
import shutil
from dataclasses import replace

import pytest

from prunelab.measurement.benchmark.machine import (
    Monitor,
    cpu_model,
    descendants,
    describe_others,
    snapshot,
)

TICKS = os.sysconf("SC_CLK_TCK")


def fake_proc(root, busy_ticks, processes):
    """A /proc with a first /proc/stat line, loadavg, cpuinfo, and ``{pid: (command, ppid, cpu ticks)}``."""
    root.mkdir(exist_ok=True)
    (root / "stat").write_text(f"cpu  {busy_ticks} 0 0 999999 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n")
    (root / "loadavg").write_text("1.50 0.75 0.25 2/300 4242\n")
    (root / "cpuinfo").write_text("processor\t: 0\nmodel name\t: Test CPU @ 2.0GHz\n")
    (root / "self").mkdir(exist_ok=True)
    for pid, (command, ppid, ticks) in processes.items():
        (root / str(pid)).mkdir(exist_ok=True)
        fields = ["S", str(ppid)] + ["0"] * 9 + [str(ticks - ticks // 2), str(ticks // 2)] + ["0"] * 30
        (root / str(pid) / "stat").write_text(f"{pid} ({command}) {' '.join(fields)}\n")


def test_monitor_subtracts_our_processes_and_names_the_busiest_others_even_short_lived_ones(tmp_path):
    me = 100
    proc = tmp_path / "proc"
    start = {me: ("python", 1, 0), 300: ("busy (other) job", 1, 0), 400: ("idle", 1, 50)}
    fake_proc(proc, busy_ticks=0, processes=start)
    monitor = Monitor(root=me, proc=proc)
    # Between rounds: a worker and its child ran, and a short test run came and went.
    middle = {**start, 200: ("worker", me, 3 * TICKS), 201: ("grandchild", 200, TICKS), 600: ("short", 1, 2 * TICKS),
              300: ("busy (other) job", 1, TICKS)}
    fake_proc(proc, busy_ticks=7 * TICKS, processes=middle)
    (proc / "300" / "cmdline").write_bytes(b"python\0-m\0pytest\0tests/test_x.py\0")
    monitor.sample()
    shutil.rmtree(proc / "600")
    end = {**start, 200: ("worker", me, 4 * TICKS), 201: ("grandchild", 200, TICKS),
           300: ("busy (other) job", 1, 3 * TICKS), 500: ("new", 1, TICKS)}
    fake_proc(proc, busy_ticks=12 * TICKS, processes=end)
    monitor.sample()
    monitor.first, monitor.last = replace(monitor.first, when=0.0), replace(monitor.last, when=5.0)

    usage = monitor.usage()
    assert usage["own_cpu_cores"] == pytest.approx(5 / 5)  # worker 4 s + grandchild 1 s over 5 s
    assert usage["other_processes_cpu_cores"] == pytest.approx((12 - 5) / 5)
    assert [(p["pid"], p["command"]) for p in usage["top_other_processes"]] == [
        (300, "python -m pytest tests/test_x.py"), (600, "short"), (500, "new")]  # the command line where /proc has one
    assert usage["top_other_processes"][0]["cpu_cores"] == pytest.approx(3 / 5)
    assert usage["load_average_before"] == [1.5, 0.75, 0.25]
    text = describe_others(usage, cores=2)
    assert text.startswith("other processes kept 1.40 of 2 cores busy; "
                           "the busiest: python -m pytest tests/test_x.py (pid 300) 0.60, short (pid 600) 0.40")


def test_processes_that_round_to_no_cpu_are_not_named():
    usage = {"other_processes_cpu_cores": 0.03, "top_other_processes": [
        {"pid": 1, "command": "init", "cpu_cores": 0.001}, {"pid": 2, "command": "job", "cpu_cores": 0.02}]}
    assert describe_others(usage, cores=2) == "other processes kept 0.03 of 2 cores busy; the busiest: job (pid 2) 0.02"
    usage["top_other_processes"] = usage["top_other_processes"][:1]
    assert describe_others(usage, cores=2) == "other processes kept 0.03 of 2 cores busy"


def test_descendants_follow_the_whole_tree(tmp_path):
    fake_proc(tmp_path, 0, {10: ("a", 1, 0), 11: ("b", 10, 0), 12: ("c", 11, 0), 13: ("d", 1, 0)})
    assert descendants(snapshot(tmp_path).processes, 10) == {10, 11, 12}


def test_cpu_model_reads_cpuinfo(tmp_path):
    fake_proc(tmp_path, 0, {})
    assert cpu_model(tmp_path) == "Test CPU @ 2.0GHz"


def test_the_real_proc_counts_this_process():
    monitor = Monitor()
    sum(i * i for i in range(3_000_000))  # some CPU time of our own
    monitor.sample()
    usage = monitor.usage()
    assert usage["own_cpu_cores"] > 0.1
    assert os.getpid() not in [p["pid"] for p in usage["top_other_processes"]]
