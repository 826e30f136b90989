"""The default pipeline at several seeds, as DVC experiments, and what varies between them.

    python -m prunelab.seeds                 # summarise every experiment `dvc exp show` knows
    python -m prunelab.seeds --wait          # first wait until the experiment queue is empty
    python -m prunelab.seeds --rev abc123    # experiments queued from another commit than HEAD

`make seeds` queues one experiment a seed (`dvc exp run --queue -S seed=N`), starts the
queue and calls this. A difference between methods smaller than the spread between
seeds is not a difference the pipeline can resolve.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

# What the summary reports: (label, metrics file, path of keys into it).
MEASURES = [
    ("baseline dev accuracy", "metrics/evaluation/baseline.json", ("accuracy",)),
    ("pruned dev accuracy", "metrics/evaluation/pruned.json", ("accuracy",)),
    ("pruned change (points)", "metrics/evaluation/pruned.json", ("comparison", "accuracy_change", "points")),
    ("structured dev accuracy", "metrics/evaluation/structured.json", ("accuracy",)),
    ("structured change (points)", "metrics/evaluation/structured.json", ("comparison", "accuracy_change", "points")),
    ("structured speed-up, batch 1", "metrics/benchmark/structured.json",
     ("against_baseline", "structured", "batch1", "ratio")),
    ("structured speed-up, batch 32", "metrics/benchmark/structured.json",
     ("against_baseline", "structured", "batch32", "ratio")),
]


def experiments(exp_show: list) -> dict[str, dict]:
    """Every finished run in ``dvc exp show --json`` output that has metrics: name → {"seed", "metrics"}.

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
                found[node.get("name") or node.get("rev")] = {"seed": params.get("seed"), "metrics": metrics}
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


def summary(runs: dict[str, dict]) -> list[dict]:
    """Per measure, the value at each seed and their mean and sample standard deviation (one run a seed)."""
    by_seed = {}
    for run in runs.values():
        if run["seed"] is not None:
            by_seed.setdefault(run["seed"], run)  # several runs at one seed: the first listed
    rows = []
    for label, path, keys in MEASURES:
        values = {seed: lookup(run["metrics"], path, keys) for seed, run in sorted(by_seed.items())}
        present = [v for v in values.values() if v is not None]
        rows.append({"measure": label, "values": values, "n": len(present),
                     "mean": float(np.mean(present)) if present else None,
                     "sd": float(np.std(present, ddof=1)) if len(present) > 1 else None})
    return rows


def markdown(rows: list[dict]) -> str:
    seeds = list(rows[0]["values"]) if rows else []
    lines = [f"| measure | {' | '.join(f'seed {s}' for s in seeds)} | mean ± sd |",
             f"| --- |{' ---: |' * len(seeds)} ---: |"]
    for row in rows:
        cells = [f"{v:.4f}" if v is not None else "–" for v in row["values"].values()]
        spread = f"{row['mean']:.4f} ± {row['sd']:.4f}" if row["sd"] is not None else "–"
        lines.append(f"| {row['measure']} | {' | '.join(cells)} | {spread} |")
    return "\n".join(lines)


def wait_for_queue(poll_seconds: float = 30.0) -> None:
    while True:
        status = subprocess.run(["dvc", "queue", "status"], capture_output=True, text=True, check=True).stdout
        if not any(state in status for state in ("Queued", "Running")):
            return
        time.sleep(poll_seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", action="store_true", help="wait until the DVC experiment queue is empty")
    parser.add_argument("--rev", default="HEAD",
                        help="the commit the experiments were queued from (dvc exp show lists those of one commit)")
    args = parser.parse_args(argv)
    if args.wait:
        wait_for_queue()
    shown = subprocess.run(["dvc", "exp", "show", "--json", "--rev", args.rev], capture_output=True, text=True)
    if shown.returncode != 0:  # e.g. an unknown --rev: dvc's own last line says which
        last = (shown.stderr.strip().splitlines() or ["(no message)"])[-1]
        sys.exit(f"error: dvc exp show --rev {args.rev}: {last}")
    print(markdown(summary(experiments(json.loads(shown.stdout)))))


if __name__ == "__main__":
    sys.exit(main())
