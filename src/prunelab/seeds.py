"""The default pipeline at several seeds, as DVC experiments, and what varies between them.

    python -m prunelab.seeds                 # summarise every experiment `dvc exp show` knows
    python -m prunelab.seeds --wait          # first wait until the experiment queue is empty
    python -m prunelab.seeds --rev abc123    # experiments queued from another commit than HEAD

`make seeds` queues one experiment a seed (`dvc exp run --queue -S seed=N`), starts the
queue and calls this: it prints the spread and writes ``metrics/seeds.json``, which the report
reads to give its headline figures as mean ± sd over the seeds beside the committed run's.
A difference between methods smaller than the spread between seeds is not a difference the
pipeline can resolve.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from prunelab.experiments import committed_params, exp_show, experiments, lookup, wait_for_queue
from prunelab.files import read_json, write_json

# What the summary and the report give per seed: (label, metrics file, path of keys into it). The headline
# figures: the baseline's accuracy, each model's change, and the speed-ups of the artifacts a user ships.
MEASURES = [
    ("baseline dev accuracy", "metrics/evaluation/baseline.json", ("accuracy",)),
    ("pruned change (points)", "metrics/evaluation/pruned.json", ("comparison", "accuracy_change", "points")),
    ("structured change (points)", "metrics/evaluation/structured.json", ("comparison", "accuracy_change", "points")),
    *[(f"{label} speed-up, batch {batch}", f"metrics/benchmark/{model}.json",
       ("against_baseline", artifact, f"batch{batch}", "ratio"))
      for label, model, artifact in (("structured TF", "structured", "structured"),
                                     ("baseline int8 LiteRT", "baseline", "baseline_int8_litert"),
                                     ("structured int8 LiteRT", "structured", "structured_int8_litert"))
      for batch in (1, 32)],
]
RECORD = "metrics/seeds.json"


def read_record(path: str = RECORD) -> dict:
    """The seed experiments' record; none yet (a fresh workspace, `make quick`, the container) is no runs."""
    return read_json(path) if Path(path).is_file() else {"commit": None, "runs": []}


def measures(metrics: dict[str, dict]) -> dict[str, float | None]:
    """Every measure of one run, from its metrics files by path (None where a file or key is absent)."""
    return {label: lookup(metrics, path, keys) for label, path, keys in MEASURES}


def measure_files() -> list[str]:
    return list(dict.fromkeys(path for _, path, _ in MEASURES))


def summary(runs: dict[str, dict]) -> list[dict]:
    """Per measure, the value at each seed and their spread (one run a seed: the first listed)."""
    return spread({seed: measures(run["metrics"]) for seed, (_, run) in first_per_seed(runs).items()})


def first_per_seed(runs: dict[str, dict]) -> dict[int, tuple[str, dict]]:
    """Seed → (name, run) of the first run listed at that seed, in seed order; runs without a seed left out."""
    by_seed = {}
    for name, run in runs.items():
        if run["seed"] is not None:
            by_seed.setdefault(run["seed"], (name, run))
    return dict(sorted(by_seed.items()))


def spread(by_seed: dict[int, dict[str, float | None]]) -> list[dict]:
    """Per measure, its value at each seed and their mean and sample standard deviation."""
    rows = []
    for label, _, _ in MEASURES:
        values = {seed: found.get(label) for seed, found in by_seed.items()}
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", action="store_true", help="wait until the DVC experiment queue is empty")
    parser.add_argument("--rev", default="HEAD",
                        help="the commit the experiments were queued from (dvc exp show lists those of one commit)")
    args = parser.parse_args(argv)
    if args.wait:
        wait_for_queue()
    runs = default_recipe_runs(experiments(exp_show(args.rev)), committed_params(args.rev), committed_params)
    commit = subprocess.run(["git", "rev-parse", args.rev], capture_output=True, text=True, check=True).stdout.strip()
    write_json(RECORD, record(runs, commit))
    print(markdown(summary(runs)))
    print(f"wrote {RECORD}: `dvc repro --force --single-item report` puts it in the report (make seeds does)")


def default_recipe_runs(runs: dict[str, dict], default: dict, params_of) -> dict[str, dict]:
    """The runs of the commit's own recipe at another seed: experiments that changed anything but the seed
    (a decision's candidate, a frontier point) are not seeds of the default run. ``params_of(rev)`` reads a
    run's params; the workspace is kept (its metrics are the committed run's)."""
    def without_seed(params):
        return {key: value for key, value in params.items() if key != "seed"}

    return {name: run for name, run in runs.items()
            if name == "workspace" or without_seed(params_of(run["rev"])) == without_seed(default)}


def record(runs: dict[str, dict], commit: str) -> dict:
    """The experiments' measures for the report, one run a seed; the workspace's own run is left out
    (the report reads it from the workspace's metrics, which may be newer)."""
    experiments_only = {name: run for name, run in runs.items() if name != "workspace"}
    return {"commit": commit, "runs": [{"seed": seed, "experiment": name, "params": run["params"],
                                        "measures": measures(run["metrics"])}
                                       for seed, (name, run) in first_per_seed(experiments_only).items()]}


if __name__ == "__main__":
    sys.exit(main())
