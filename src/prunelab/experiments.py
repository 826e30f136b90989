"""DVC experiments read back: what `dvc exp show --json` says of each finished run, and the queue.

`make seeds` and `make frontier` queue DVC experiments (``dvc exp run --queue -S key=value``),
one a run, each in a temporary copy of the workspace; these helpers wait for the queue and read
each finished experiment's params and metrics files, as DVC recorded them in its commit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import yaml


def experiments(exp_show: list) -> dict[str, dict]:
    """Every finished run in ``dvc exp show --json`` output that has metrics: name → {"seed", "params",
    "metrics", "rev"}.

    An experiment still queued or running (or one that failed) has no commit of its own yet:
    dvc shows it with its own params but the workspace's metrics, so it is left out.
    """
    found = {}

    def visit(node):
        if isinstance(node, dict):
            data = node.get("data")
            finished = isinstance(data, dict) and data.get("rev") == node.get("rev")
            if finished and data.get("metrics") and data.get("params"):
                params = data["params"].get("params.yaml", {}).get("data", {})
                metrics = {path: entry.get("data", {}) for path, entry in data["metrics"].items()}
                found[node.get("name") or node.get("rev")] = {"seed": params.get("seed"), "params": params,
                                                              "metrics": metrics, "rev": node.get("rev")}
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(exp_show)
    return found


def lookup(metrics: dict, path: str, keys: tuple) -> float | None:
    value = metrics.get(path)
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value)


def committed_json(rev: str, path: str) -> dict:
    """A JSON metrics file as an experiment's commit holds it, whole: `dvc exp show` leaves out list values
    (every interval), so figures with their intervals are read here. ``{}`` where the commit has no such file."""
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True)
    return json.loads(shown.stdout) if shown.returncode == 0 else {}


def committed_params(rev: str) -> dict:
    """params.yaml as commit ``rev`` holds it, read whole (`dvc exp show` leaves out list values)."""
    shown = subprocess.run(["git", "show", f"{rev}:params.yaml"], capture_output=True, text=True, check=True)
    return yaml.safe_load(shown.stdout)


def exp_show(rev: str = "HEAD") -> list:
    """``dvc exp show --json`` of the experiments of commit ``rev``; an error exits naming what dvc said."""
    shown = subprocess.run(["dvc", "exp", "show", "--json", "--rev", rev], capture_output=True, text=True)
    if shown.returncode != 0:  # e.g. an unknown --rev: dvc's own last line says which
        last = (shown.stderr.strip().splitlines() or ["(no message)"])[-1]
        sys.exit(f"error: dvc exp show --rev {rev}: {last}")
    return json.loads(shown.stdout)


def wait_for_queue(poll_seconds: float = 30.0) -> None:
    while True:
        status = subprocess.run(["dvc", "queue", "status"], capture_output=True, text=True, check=True).stdout
        if not any(state in status for state in ("Queued", "Running")):
            return
        time.sleep(poll_seconds)
