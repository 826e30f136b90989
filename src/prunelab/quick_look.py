"""`make quick`: every stage of the pipeline on a small slice, two at a time, for a first look.

A default `dvc repro` runs twenty stage processes one after another, each starting TensorFlow
and loading and tracing its models; on a small slice those fixed costs are most of the time.
Here every stage of dvc.yaml runs its own script (the same code as `dvc repro`) in one of two
long-lived worker processes, as soon as the stages it reads have finished (DVC's graph), inside
a workspace of its own (``quick/``) whose params.yaml is the repository's with ``QUICK`` laid
over it. A benchmark runs alone, so that what it times does not share the machine. It is
not a DVC run: nothing is cached, locked or pushed, the repository's own outputs are never
touched, and the report opens by saying it is a quick look.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import runpy
import shutil
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import yaml

from prunelab import stage
from prunelab.errors import UserError
from prunelab.params import parse_params

REPO = Path.cwd()
WORKSPACE = REPO / "quick"
# Stages run two at a time: on a small slice most of a stage is single-threaded (starting Python,
# loading and tracing models, converting to LiteRT), which leaves a core for the other.
CONCURRENT_STAGES = 2
# What a quick look shrinks; everything else (model, methods, sparsity, targets, the buckets up to
# max_length) is params.yaml's. The baseline still has to learn the task, or every comparison is
# between models at chance: two epochs over this slice is about the least that does.
QUICK = {
    "data": {"train_size": 512, "selection_size": 128},
    "model": {"max_length": 64},
    "train": {"epochs": 2},
    "prune": {"frequency": 1, "calibration_size": 32, "recovery": {"epochs": 1, "distill": {"transfer_size": 512}}},
    "structured": {"importance_sentences": 32, "recovery": {"epochs": 1}},
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


@dataclass(frozen=True)
class Stage:
    """One stage of dvc.yaml as the quick look runs it."""

    name: str
    argv: list[str]
    after: frozenset[str]  # the stages whose outputs it reads

    @property
    def exclusive(self) -> bool:
        """A benchmark times artifacts: nothing may run beside it."""
        return self.name.split("@")[0] == "benchmark"


def stage_plan(workspace: Path) -> list[Stage]:
    """Every stage of the workspace's dvc.yaml with the stages it reads (DVC's own graph), dependencies first.

    Stages that more stages wait for come first (the fine-tunes before the sweeps), so that the
    longest chain starts early; a stage always has more of them than any stage that reads it.
    """
    import networkx as nx
    from dvc.repo import Repo

    with Repo(str(workspace)) as repo:
        graph = repo.index.graph  # an edge runs from a stage to a stage it depends on
        ordered = list(nx.lexicographical_topological_sort(graph.reverse(), key=lambda s: s.addressing))
        ordered.sort(key=lambda s: -len(nx.ancestors(graph, s)))  # stable: DVC's order among equals
        return [Stage(s.name, script_argv(s.cmd), frozenset(d.name for d in graph.successors(s))) for s in ordered]


def script_argv(cmd: str) -> list[str]:
    """`PYTHONPATH=$PWD/src python stages/x.py arg` as `["stages/x.py", "arg"]`: the worker already
    imports the repository's prunelab, so the environment assignments and the interpreter go."""
    words = cmd.split()
    while words and "=" in words[0]:
        words.pop(0)
    if not words or words[0] != "python":
        raise ValueError(f"dvc.yaml command {cmd!r} is not `python stages/<name>.py ...`: the quick look runs no other")
    return words[1:]


def ready(pending: list[Stage], done: set[str], running: list[Stage], slots: int) -> list[Stage]:
    """The pending stages to start now, in DVC's order: everything they read is done, a slot is free,
    and no benchmark would share the machine."""
    chosen: list[Stage] = []
    for candidate in pending:
        busy = running + chosen
        if len(busy) >= slots or any(s.exclusive for s in busy):
            break
        if candidate.after <= done and not (candidate.exclusive and busy):
            chosen.append(candidate)
    return chosen


def run_stages(plan: list[Stage], workspace: Path, slots: int = CONCURRENT_STAGES) -> dict[str, float]:
    """Run ``plan`` in ``slots`` long-lived worker processes (each imports TensorFlow once); seconds per stage.

    A failed stage ends the quick look once the stages still running have finished.
    """
    pending, done, running, seconds = list(plan), set(), {}, {}
    context = multiprocessing.get_context("spawn")  # as the benchmark's workers: no inherited TensorFlow state
    with ProcessPoolExecutor(slots, mp_context=context, initializer=os.chdir, initargs=(str(workspace),)) as pool:
        while pending or running:
            for chosen in ready(pending, done, list(running.values()), slots):
                pending.remove(chosen)
                print(f"quick: {chosen.name}", flush=True)
                running[pool.submit(timed_stage, chosen.argv)] = chosen
            if not running:
                raise RuntimeError(f"no stage can start: {[s.name for s in pending]} wait for stages not in the plan")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                stage_ = running.pop(future)
                try:
                    seconds[stage_.name] = future.result()
                except BaseException as err:  # SystemExit: the stage printed its error; anything else, a traceback
                    if not isinstance(err, SystemExit):
                        traceback.print_exception(err)
                    pool.shutdown(cancel_futures=True)
                    sys.exit(f"quick look stopped: stage {stage_.name} failed (its error is above)")
                done.add(stage_.name)
    return seconds


def timed_stage(argv: list[str]) -> float:
    """``run_stage`` in a worker; the seconds it took."""
    started = time.perf_counter()
    run_stage(argv)
    return time.perf_counter() - started


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
    seconds = run_stages(stage_plan(WORKSPACE), WORKSPACE)
    print(f"quick look: wall time of each stage, {CONCURRENT_STAGES} at a time (the benchmarks alone)")
    for name, spent in seconds.items():
        print(f"  {name:<22} {spent:8.1f} s")
    print(
        f"whole quick look: {time.perf_counter() - started:.0f} s (stages summed: {sum(seconds.values()):.0f} s); "
        f"report: {WORKSPACE / 'reports/report.html'}"
    )


if __name__ == "__main__":
    main()
