"""How much CPU the rest of the machine took while the benchmark ran, read from /proc.

Alternating rounds make a comparison fair under load, but load still widens every
interval; a reader of a wide interval needs to know whether the machine was busy
and with what. The machine's busy time comes from /proc/stat; this process and
its descendants (the workers) are subtracted, process by process, from
/proc/[pid]/stat, which also names the busiest other processes.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessInfo:
    ppid: int
    command: str
    cpu_seconds: float  # user + system, all its threads


@dataclass(frozen=True)
class Snapshot:
    when: float
    busy_seconds: float  # CPU time every process on the machine has spent since boot
    processes: dict[int, ProcessInfo]
    load_average: tuple[float, float, float]


def cpu_model(proc: Path = PROC) -> str:
    try:
        for line in (proc / "cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def snapshot(proc: Path = PROC) -> Snapshot:
    return Snapshot(time.perf_counter(), _busy_seconds(proc), _processes(proc), _load_average(proc))


def _busy_seconds(proc: Path) -> float:
    """user, nice, system, irq, softirq and steal of the first line of /proc/stat (idle and iowait left out)."""
    fields = (proc / "stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _load_average(proc: Path) -> tuple[float, float, float]:
    one, five, fifteen = (float(x) for x in (proc / "loadavg").read_text().split()[:3])
    return one, five, fifteen


def _processes(proc: Path) -> dict[int, ProcessInfo]:
    table = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # it exited while we looked
            continue
        # The command sits in parentheses and may itself hold spaces and parentheses.
        command = text[text.index("(") + 1 : text.rindex(")")]
        rest = text[text.rindex(")") + 2 :].split()
        utime, stime = int(rest[11]), int(rest[12])
        table[int(entry.name)] = ProcessInfo(int(rest[1]), command, (utime + stime) / os.sysconf("SC_CLK_TCK"))
    return table


def descendants(processes: dict[int, ProcessInfo], root: int) -> set[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, info in processes.items():
        children.setdefault(info.ppid, []).append(pid)
    found, pending = set(), [root]
    while pending:
        pid = pending.pop()
        found.add(pid)
        pending.extend(children.get(pid, []))
    return found


def command_line(pid: int, fallback: str, proc: Path = PROC, limit: int = 80) -> str:
    """What the process runs (``python -m pytest tests/...`` says more than ``python``), cut to ``limit``."""
    try:
        text = (proc / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        text = ""
    return (text or fallback)[:limit]


class Monitor:
    """CPU time per process over the benchmark, from /proc snapshots taken between rounds.

    Two snapshots, one at each end, would miss every process that started and ended
    in between (a test run, a short stage), though /proc/stat still counts their time;
    a snapshot between rounds (milliseconds, while no worker is timing) catches any
    process that lives longer than a round. Our own processes (this one and every
    descendant, the workers) are told apart by their parent chain.
    """

    def __init__(self, root: int | None = None, proc: Path = PROC):
        self.root, self.proc = os.getpid() if root is None else root, proc
        self.first = self.last = snapshot(proc)
        self.used: dict[int, float] = {}
        self.commands: dict[int, str] = {}
        self.ours: set[int] = descendants(self.first.processes, self.root)

    def sample(self) -> None:
        now = snapshot(self.proc)
        for pid, info in now.processes.items():
            before = self.last.processes.get(pid)
            # Unseen at the last sample (or a pid reused since): all of its time came after it.
            known = before is not None and info.cpu_seconds >= before.cpu_seconds
            spent = info.cpu_seconds - (before.cpu_seconds if known else 0.0)
            if spent > 0 and pid not in self.commands:  # read while it still runs
                self.commands[pid] = command_line(pid, info.command, self.proc)
            self.used[pid] = self.used.get(pid, 0.0) + spent
        self.ours |= descendants(now.processes, self.root)
        self.last = now

    def usage(self, top: int = 5) -> dict:
        """Cores other processes kept busy since the start, and the busiest; call after a last ``sample``."""
        elapsed = self.last.when - self.first.when
        own = sum(seconds for pid, seconds in self.used.items() if pid in self.ours)
        others = sorted(((seconds, pid) for pid, seconds in self.used.items() if pid not in self.ours), reverse=True)
        return {
            "elapsed_s": elapsed,
            "other_processes_cpu_cores": max(0.0, (self.last.busy_seconds - self.first.busy_seconds - own) / elapsed),
            "own_cpu_cores": own / elapsed,
            "top_other_processes": [{"pid": pid, "command": self.commands[pid], "cpu_cores": seconds / elapsed}
                                    for seconds, pid in others[:top] if seconds > 0],
            "load_average_before": list(self.first.load_average),
            "load_average_after": list(self.last.load_average),
        }


def describe_others(usage: dict, cores: int) -> str:
    """For a warning: "other processes kept 1.30 of 2 cores busy; the busiest: python (pid 812) 0.80, ..."."""
    top = ", ".join(f"{p['command']} (pid {p['pid']}) {p['cpu_cores']:.2f}" for p in usage["top_other_processes"]
                    if round(p["cpu_cores"], 2) > 0)  # a process that shows as 0.00 explains nothing
    return (f"other processes kept {usage['other_processes_cpu_cores']:.2f} of {cores} cores busy"
            + (f"; the busiest: {top}" if top else ""))
