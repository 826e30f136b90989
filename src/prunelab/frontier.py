"""The sparsity frontier: how far each method prunes once it recovers, one DVC experiment a point.

    python -m prunelab.frontier queue [--only NAME ...] [--dry-run]   # a queued experiment a missing point
    python -m prunelab.frontier gather [--wait] [--rev REV]           # dvc exp show -> metrics/frontier.json

`make frontier` runs both around `dvc queue start`. The points are params.yaml's ``frontier``
section: every unstructured method at every sparsity, recovered (``prune`` then
``evaluate@pruned``), and structured pruning by width and by depth at every FLOPs target
(``structured``, ``evaluate@structured``, ``deploy@structured``, ``benchmark@structured``: a
smaller graph is timed). Every point takes the same recovery (``frontier.recovery``), so the
methods compare at an equal budget. A point is the main run's own stages with ``-S``
overrides, so the overrides recorded with each point reproduce it: ``dvc exp run -S ...``.

Experiments are named ``frontier-<method or criterion>-<percent>``; a point whose experiment
already exists for this commit is not queued again, so an interrupted grid resumes, and
``--only`` splits the grid across machines (docs/sharing.md). A gather keeps the recorded points of
other commits that it does not find again, each naming its commit, so a grid run over several
sessions adds up in one record.
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from prunelab.errors import ParamsError
from prunelab.experiments import committed_json, committed_params, exp_show, experiments, lookup, wait_for_queue
from prunelab.files import read_json, write_json
from prunelab.params import GRADUAL_METHODS, PARAMS_FILE, Params, load_params, parse_params

RECORD = "metrics/frontier.json"
UNSTRUCTURED_TARGETS = ["evaluate@pruned"]
STRUCTURED_TARGETS = ["evaluate@structured", "benchmark@structured"]
PREFIX = "frontier-"
STRUCTURED_CRITERIA = ("width", "depth")


@dataclass(frozen=True)
class Point:
    name: str
    kind: str  # "unstructured" or "structured"
    method: str  # an unstructured method, or "width" / "depth"
    level: float  # the sparsity, or the fraction of the encoder's FLOPs kept
    overrides: tuple[str, ...]  # key=value, as `dvc exp run -S` takes them
    targets: tuple[str, ...]

    def command(self) -> list[str]:
        return ["dvc", "exp", "run", "--queue", "-n", self.name,
                *[arg for override in self.overrides for arg in ("-S", override)], *self.targets]


def checked_points(params: Params, raw: dict) -> list[Point]:
    """``points``, each refused (with its name) unless params.yaml with its overrides is valid: a grid that
    would fail is stopped before anything is queued."""
    found = points(params)
    for point in found:
        edited = copy.deepcopy(raw)
        for override in point.overrides:
            key, value = override.split("=", 1)
            *parents, last = key.split(".")
            node = edited
            for part in parents:
                node = node[part]
            node[last] = yaml.safe_load(value)
        try:
            parse_params(edited, f"params.yaml with the overrides of {point.name}")
        except ParamsError as err:
            raise SystemExit(f"error: {err}") from None
    return found


def points(params: Params) -> list[Point]:
    """Every point of the ``frontier`` section, unstructured first, in the order they are queued."""
    spec = params.frontier
    if spec is None:
        raise SystemExit("error: params.yaml has no frontier section; add one (see the default params.yaml)")
    found = []
    for method, scope in spec.methods.items():
        schedule = "gradual" if method in ("magnitude", *GRADUAL_METHODS) else "oneshot"
        for sparsity in spec.sparsities:
            overrides = [f"prune.method={method}", f"prune.scope={scope}", f"prune.schedule={schedule}",
                         f"prune.sparsity={sparsity}",
                         *_recovery("prune", spec.point_recovery(False, sparsity))]
            found.append(Point(f"{PREFIX}{method}-{_percent(sparsity)}", "unstructured", method, sparsity,
                               tuple(overrides), tuple(UNSTRUCTURED_TARGETS)))
    for criterion in spec.criteria:
        for target in spec.flops_targets:
            overrides = [f"structured.criterion={criterion}", f"structured.flops_target={target}"]
            if params.structured.min_fraction > target:
                overrides.append(f"structured.min_fraction={target}")
            overrides += _recovery("structured", spec.point_recovery(True, target))
            found.append(Point(f"{PREFIX}{criterion}-{_percent(target)}", "structured", criterion, target,
                               tuple(overrides), tuple(STRUCTURED_TARGETS)))
    return found


def _recovery(section: str, recovery: dict) -> list[str]:
    return [f"{section}.recovery.{key}={value}" for key, value in recovery.items()]


def _percent(fraction: float) -> str:
    return f"{round(fraction * 100):d}"


def queue(params: Params, raw: dict, only: list[str], dry_run: bool, rev: str = "HEAD") -> list[Point]:
    """Queue every point not already run (or queued) from ``rev``; ``only``: names or name parts to keep."""
    existing = set(experiments(exp_show(rev))) | queued_names()
    chosen = [p for p in checked_points(params, raw) if not only or any(part in p.name for part in only)]
    missing = [p for p in chosen if p.name not in existing]
    for point in missing:
        print(" ".join(point.command()), flush=True)
        if not dry_run:
            subprocess.run(point.command(), check=True)
    print(f"{len(missing)} of {len(chosen)} points {'to queue' if dry_run else 'queued'}; "
          f"{len(chosen) - len(missing)} already there")
    return missing


def queued_names(status: str | None = None) -> set[str]:
    """The frontier experiments waiting or running in ``dvc queue status``; its finished tasks may be of
    another commit, whose points this one runs again."""
    if status is None:
        status = subprocess.run(["dvc", "queue", "status"], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in status.splitlines()[1:]]
    return {row[1] for row in rows if len(row) > 2 and row[1].startswith(PREFIX) and row[-1] in ("Queued", "Running")}


def gather(runs: dict[str, dict], committed: dict, read=committed_json) -> list[dict]:
    """Every finished frontier experiment as a point of metrics/frontier.json, unstructured first.

    ``committed``: the params.yaml of the commit the experiments ran from; a point's overrides are
    the params it ran with that differ from those. ``read(rev, path)``: a metrics file of an
    experiment's commit.
    """
    found = []
    for name, run in runs.items():
        if not name.startswith(PREFIX):
            continue
        params = run["params"]
        # Every experiment's commit holds both models' metrics (one of them the workspace's); its name says
        # which one the point ran.
        structured = params["structured"]["criterion"] if name.split("-")[1] in STRUCTURED_CRITERIA else None
        model = "structured" if structured else "pruned"
        files = [f"metrics/evaluation/{model}.json", f"metrics/{'structured' if structured else 'prune'}.json",
                 "metrics/evaluation/baseline.json", "metrics/train.json", "metrics/benchmark/structured.json",
                 f"metrics/predictions/{model}.json"]
        metrics = {path: read(run["rev"], path) for path in files}
        evaluation, record = metrics[files[0]], metrics[files[1]]
        change = evaluation.get("comparison", {}).get("accuracy_change", {})
        point = {
            "name": name,
            "method": structured or params["prune"]["method"],
            "kind": "structured" if structured else "unstructured",
            "sparsity": (round(1 - record["flops_fraction"], 4) if structured
                         else evaluation.get("sparsity", {}).get("targeted_sparsity")),
            "recovery_epochs": record.get("epochs_run"),
            "recovery_rows_seen": sum(epoch["sentences"] for epoch in record.get("epochs", [])),
            "dev_accuracy": evaluation.get("accuracy"),
            "baseline_dev_accuracy": lookup(metrics, "metrics/evaluation/baseline.json", ("accuracy",)),
            "change_points": change.get("points"),
            "change_ci95_points": change.get("ci95_points"),
            "selection_accuracy": record.get("selection_accuracy"),
            "baseline_selection_accuracy": lookup(metrics, "metrics/train.json", ("selection_accuracy",)),
            "overrides": overrides(params, committed),
        }
        # kept so the report can pair points with one another, not only with the baseline: one digit a dev
        # sentence, in dev's order
        predictions = metrics[files[-1]].get("predictions")
        if predictions:
            point["dev_predictions"] = "".join(str(int(label)) for label in predictions)
        if structured:
            point["flops_fraction"] = record["flops_fraction"]
            point["dropped_layers"] = record.get("dropped_layers", [])
            benchmark = metrics.get("metrics/benchmark/structured.json", {})
            point["speedups"] = speedups(benchmark)
            # a speed-up holds on the CPU it was timed on: points of one grid may come from several machines
            machine = benchmark.get("machine", {})
            point["timed_on"] = f"{machine.get('cpu', 'unknown CPU')}, {machine.get('cores', '?')} cores"
        found.append(point)
    return sorted(found, key=_order)


def merge(recorded: dict | None, found: list[dict], commit: str) -> dict:
    """The record after a gather from ``commit``: the points ``found`` there, and every recorded point of
    another commit that was not found again (a point of ``commit`` no longer found was removed: it goes).
    Each point names the commit whose params its overrides are relative to."""
    fresh = [point | {"commit": commit} for point in found]
    names = {point["name"] for point in fresh}
    kept = []
    for point in (recorded or {}).get("points", []):
        # records written before points named their commit held one commit for all of them
        point = {"commit": recorded.get("commit"), **point}
        if point["name"] not in names and point["commit"] != commit:
            kept.append(point)
    merged = sorted(fresh + kept, key=_order)
    return {"commits": list(dict.fromkeys(point["commit"] for point in merged)), "points": merged}


def _order(point: dict) -> tuple:
    return (point["kind"] == "structured", point["method"], point["sparsity"] or 0)


def speedups(benchmark: dict) -> dict:
    """Batch-1 and batch-32 speed-ups with their intervals: the TF SavedModel and the int8 LiteRT file against the
    dense TF SavedModel, and the int8 LiteRT file against the dense model's int8 LiteRT file."""
    against = benchmark.get("against_baseline", {})
    same = benchmark.get("against_baseline_litert", {})

    def ratios(entry):
        return {setting: {"ratio": r["ratio"], "ci95": r["ci95"]} for setting, r in (entry or {}).items()
                if isinstance(r, dict) and "ratio" in r}

    return {"tf_vs_dense_tf": ratios(against.get("structured")),
            "int8_litert_vs_dense_tf": ratios(against.get("structured_int8_litert")),
            "int8_litert_vs_dense_int8_litert": ratios(same.get("structured_int8_litert"))}


def overrides(params: dict, committed: dict) -> list[str]:
    """``key=value`` for every leaf of ``params`` that differs from ``committed`` (``dvc exp run -S`` form)."""
    mine, theirs = _leaves(params), _leaves(committed)
    return [f"{key}={_yaml_value(value)}" for key, value in mine.items() if theirs.get(key, object()) != value]


def _leaves(tree: dict, prefix: str = "") -> dict:
    leaves = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            leaves |= _leaves(value, f"{prefix}{key}.")
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def _yaml_value(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def read_record(path: str = RECORD) -> dict | None:
    """The gathered frontier; None before `make frontier` has run (the report then leaves its section out)."""
    return read_json(path) if Path(path).is_file() else None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    queuing = commands.add_parser("queue", help="queue an experiment for every point not yet run")
    queuing.add_argument("--only", nargs="*", default=[], help="queue the points whose names hold one of these")
    queuing.add_argument("--dry-run", action="store_true", help="print the commands, queue nothing")
    gathering = commands.add_parser("gather", help=f"write {RECORD} from the finished experiments")
    gathering.add_argument("--wait", action="store_true", help="first wait until the experiment queue is empty")
    gathering.add_argument("--rev", default="HEAD", help="the commit the experiments were queued from")
    args = parser.parse_args(argv)
    if args.command == "queue":
        queue(load_params(), yaml.safe_load(PARAMS_FILE.read_text()), args.only, args.dry_run)
        return
    if args.wait:
        wait_for_queue()
    found = gather(experiments(exp_show(args.rev)), committed_params(args.rev))
    commit = subprocess.run(["git", "rev-parse", args.rev], capture_output=True, text=True, check=True).stdout.strip()
    record = merge(read_record(), found, commit)
    write_json(RECORD, record)
    print(f"wrote {RECORD}: {len(found)} points of {commit[:10]}, {len(record['points']) - len(found)} kept from "
          f"other commits; `dvc repro --force --single-item report` puts them in the report")


if __name__ == "__main__":
    sys.exit(main())
