"""`make quick`: every stage of the pipeline on a small slice, in one process, for a first look.

A default `dvc repro` runs twenty stage processes, each starting TensorFlow and loading
and tracing its models; on a small slice those fixed costs are most of the time. Here
every stage of dvc.yaml runs its own script (the same code as `dvc repro`), in DVC's
order, in this one process, inside a workspace of its own (``quick/``) whose params.yaml
is the repository's with ``QUICK`` laid over it. It is not a DVC run: nothing is cached,
locked or pushed, the repository's own outputs are never touched, and the report opens
by saying it is a quick look.
"""

from __future__ import annotations

import gc
import os
import runpy
import shutil
import sys
import time
from pathlib import Path

import yaml

from prunelab import stage
from prunelab.errors import UserError
from prunelab.params import parse_params

REPO = Path.cwd()
WORKSPACE = REPO / "quick"
# What a quick look shrinks; everything else (model, methods, sparsity, targets, the buckets up to
# max_length) is params.yaml's. The baseline still has to learn the task, or every comparison is
# between models at chance: two epochs over this slice is about the least that does.
QUICK = {
    "data": {"train_size": 512, "selection_size": 128},
    "model": {"max_length": 64},
    "train": {"epochs": 2},
    "prune": {"epochs": 1, "frequency": 1, "calibration_size": 32,
              "structured": {"importance_sentences": 32, "recovery": {"epochs": 1}}},
    "sweep": {"sparsities": [0.5], "flops_targets": [0.5]},
    "deploy": {"variants": ["int8"]},
    "benchmark": {"rounds": 3, "passes": 1, "batch1_sentences": 4, "lengths": [16, 64], "length_sweep": []},
    "report": {"quick_look": True},
}


def overlay(base: dict, update: dict) -> dict:
    """``base`` with ``update``'s values put in, section by section."""
    merged = dict(base)
    for key, value in update.items():
        merged[key] = overlay(base.get(key) or {}, value) if isinstance(value, dict) else value
    return merged


def buckets_up_to(bucket_lengths: list, max_length: int) -> list:
    """The recipe's padding buckets shorter than ``max_length``, then ``max_length`` itself."""
    return [n for n in bucket_lengths if n < max_length] + [max_length]


def quick_params(repo: Path) -> dict:
    """The repository's params.yaml with ``QUICK`` over it, validated before any work."""
    if not (repo / "dvc.yaml").is_file():
        raise UserError(f"no dvc.yaml in {repo}: run `make quick` from the repository's root.")
    recipe = yaml.safe_load((repo / "params.yaml").read_text())
    raw = overlay(recipe, QUICK)
    recipe_buckets = parse_params(recipe).train.bucket_lengths
    raw["train"]["bucket_lengths"] = buckets_up_to(recipe_buckets, QUICK["model"]["max_length"])
    local_dir = raw["data"].get("local_dir")
    if local_dir and not Path(local_dir).is_absolute():  # the stages run in the workspace, one folder down
        raw["data"]["local_dir"] = str((repo / local_dir).resolve())
    parse_params(raw, "params.yaml with make quick's settings")
    return raw


def make_workspace(repo: Path, workspace: Path, params: dict) -> None:
    """A fresh ``workspace``: params.yaml written, the stage scripts and dvc.yaml linked from ``repo``, and
    a DVC repository of its own (no git) that reads that dvc.yaml with these params."""
    from dvc.repo import Repo

    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    for name in ("stages", "dvc.yaml"):
        (workspace / name).symlink_to(repo / name)
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    Repo.init(str(workspace), no_scm=True).close()


def stage_commands(workspace: Path) -> list[tuple[str, list[str]]]:
    """(name, argv) of every stage of the workspace's dvc.yaml, dependencies first (DVC's own graph)."""
    import networkx as nx
    from dvc.repo import Repo

    with Repo(str(workspace)) as repo:
        graph = repo.index.graph
        ordered = list(nx.lexicographical_topological_sort(graph.reverse(), key=lambda s: s.addressing))
        return [(s.name, s.cmd.split()[1:]) for s in ordered]


def run_stage(argv: list[str]) -> None:
    """Run a stage script as `python argv...` would, in this process; a failed stage ends the quick look."""
    sys.argv = list(argv)
    stage.restart_clock()
    try:
        runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as exit_:
        if exit_.code:
            raise
    finally:
        gc.collect()


def main() -> None:
    try:
        params = quick_params(REPO)
    except UserError as err:
        sys.exit(f"error: {err}")
    make_workspace(REPO, WORKSPACE, params)
    started = time.perf_counter()
    commands = stage_commands(WORKSPACE)
    os.chdir(WORKSPACE)
    seconds = {}
    for name, argv in commands:
        print(f"quick: {name}", flush=True)
        begun = time.perf_counter()
        try:
            run_stage(argv)
        except SystemExit:
            sys.exit(f"quick look stopped: stage {name} failed (its error is above)")
        seconds[name] = time.perf_counter() - begun
    print("quick look: wall time of each stage, one process")
    for name, spent in seconds.items():
        print(f"  {name:<22} {spent:8.1f} s")
    print(f"whole quick look: {time.perf_counter() - started:.0f} s (this process started "
          f"{stage.seconds_since_start():.0f} s ago); report: {WORKSPACE / 'reports/report.html'}")


if __name__ == "__main__":
    main()
