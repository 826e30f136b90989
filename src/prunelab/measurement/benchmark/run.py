"""One model's benchmark: find its artifacts, start a worker for each, run the rounds, assemble the results.

A benchmark a model (a DVC stage each), so that pruning again re-times only the pruned
model's artifacts. Every run holds the dense baseline too, the reference each ratio
is measured against side by side; the baseline's own run adds its A/A copy.
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from prunelab.deployment.artifact import load_artifact
from prunelab.errors import UserError
from prunelab.measurement.benchmark import results
from prunelab.measurement.benchmark.inputs import Inputs
from prunelab.measurement.benchmark.machine import Monitor, cpu_model, describe_others
from prunelab.measurement.benchmark.rounds import run_rounds
from prunelab.measurement.benchmark.stats import CONFIDENCE, RESAMPLES
from prunelab.measurement.benchmark.workers import Worker, load_inputs

# Each model's SavedModel under models/; its LiteRT files are under models/deploy/<model>/.
SAVED_MODELS = {results.REFERENCE: "baseline/saved_model", "pruned": "pruned", "structured": "structured"}

# Batch-1 calls a round at each fixed length: every sentence there has the same shape,
# so a few calls already average out; more would lengthen every round of the sweep.
LENGTH_BATCH1_CALLS = 4
# The length sweep draws a curve whose steps are large next to its noise: one pass a round
# keeps it short.
LENGTH_PASSES = 1


def find_artifacts(models: Path, model: str) -> dict[str, Path]:
    """The baseline, ``model``'s SavedModel (for the baseline: its A/A copy), then each of its LiteRT files and,
    for another model, the baseline's LiteRT file of each of those variants: what pruning adds to a runtime
    and a quantization a user would take anyway is measured in the same rounds."""
    if model not in SAVED_MODELS:
        raise UserError(f"benchmark needs a model name, one of {', '.join(SAVED_MODELS)}: "
                        "python stages/benchmark.py MODEL")
    models = Path(models)
    found = {results.REFERENCE: models / SAVED_MODELS[results.REFERENCE],
             results.COPY if model == results.REFERENCE else model: models / SAVED_MODELS[model]}
    for path in sorted((models / "deploy" / model).glob("*.tflite")):
        found[f"{model}_{path.stem}_litert"] = path
        same_variant = models / "deploy" / results.REFERENCE / path.name
        if model != results.REFERENCE and same_variant.is_file():
            found[results.litert_name(results.REFERENCE, path.stem)] = same_variant
    return found


def run_benchmark(artifacts: dict[str, Path], inputs: Inputs, spec, seed: int, loader=load_artifact) -> dict:
    """Time every artifact on ``inputs`` in alternating rounds (``spec``: params' ``benchmark`` section).

    ``artifacts`` must include ``baseline``; with ``baseline_copy`` the run checks A/A. ``loader(path, threads=n)``
    runs in each worker and must be importable there (a module-level function).
    """
    threads = spec.threads or os.cpu_count()
    monitor = Monitor()
    with ExitStack() as stack:
        workers = {name: Worker(name, path, loader, threads) for name, path in artifacts.items()}
        for worker in workers.values():
            stack.callback(worker.stop)
        print(f"loading {len(workers)} artifacts, {threads} threads each, and warming up ...", flush=True)
        loaded = dict(zip(workers, load_inputs(list(workers.values()), inputs.all())))
        rng = np.random.default_rng(seed)
        monitor.sample()
        timings = run_rounds(workers, [s.name for s in inputs.main], spec.rounds, rng, spec.passes,
                             "batch 1 and batched", monitor.sample)
        by_length = {name: {} for name in workers}
        if inputs.by_length:
            by_length = run_rounds(workers, [s.name for s in inputs.by_length], spec.length_rounds, rng,
                                   LENGTH_PASSES, "length sweep", monitor.sample)
        usage = monitor.usage()  # sampled last while the workers were alive: their CPU time is ours
        for name, worker in workers.items():
            loaded[name].update(worker.finish())
    for name in timings:
        timings[name].update(by_length[name])

    report = assemble(timings, loaded, artifacts, inputs, spec, seed, threads, usage)
    if report["aa"] and report["aa"]["warning"]:
        print(f"warning: {report['aa']['warning']}", file=sys.stderr, flush=True)
    return report


def assemble(timings: dict, loaded: dict, artifacts: dict, inputs: Inputs, spec, seed: int, threads: int,
             usage: dict) -> dict:
    """metrics/benchmark/<model>.json: settings, machine, each artifact, each against the baseline, A/A, by length."""
    cores = os.cpu_count()
    aa = None
    if results.COPY in artifacts:
        aa = results.aa_check(timings, inputs.main, seed, spec.aa_max_halfwidth)
        aa["warning"] = results.aa_warning(aa, describe_others(usage, cores))
    compared = [name for name in artifacts if name not in (results.REFERENCE, results.COPY)]
    return {
        "settings": {
            "rounds": spec.rounds, "passes": spec.passes, "length_rounds": spec.length_rounds,
            "length_passes": LENGTH_PASSES, "seed": seed,
            "threads": {"intra_op": threads, "inter_op": 1},
            "confidence": CONFIDENCE, "bootstrap_resamples": RESAMPLES,
            "warmup": "one untimed call at every input of every set, in every worker, before the first round",
            "inputs": {s.name: s.describe() for s in inputs.all()},
        },
        "machine": {"cpu": cpu_model(), "cores": cores, **usage},
        "artifacts": {
            name: {"path": str(artifacts[name]), **loaded[name], **results.per_setting(timings[name], inputs.main)}
            for name in artifacts
        },
        "against_baseline": {name: results.against_reference(timings, inputs.main, name, seed) for name in compared},
        "against_baseline_litert": results.against_same_variant(timings, inputs.main, seed),
        "aa": aa,
        "by_length": results.by_length_rows(timings, inputs.by_length, seed),
    }
