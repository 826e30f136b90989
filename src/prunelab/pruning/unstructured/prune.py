"""Prune a model's weights in place by a ``Recipe``, recover, and record what ran (the main run, every sweep point)."""

from __future__ import annotations

import time

from prunelab.data.batching import Encoded, steps_per_epoch, training_rows
from prunelab.pruning.recovery import PrunedPoint, recover, selection_accuracy
from prunelab.pruning.sample import calibration_sample
from prunelab.pruning.unstructured.recipe import Recipe, prepare_pruner
from prunelab.training.fine_tune import TrainConfig


def prune_unstructured(model, recipe: Recipe, data: dict[str, Encoded], recovery: TrainConfig | None,
                       seed: int, teacher=None, label: str = "prune", stats=None) -> PrunedPoint:
    """Zero weights of ``model`` in place by ``recipe``, then recover with ``recovery`` (None: no fine-tuning).

    ``stats``: the model's ``recipe.calibration_stats`` on this recipe's calibration sample, if already collected.
    """
    started = time.perf_counter()
    epochs = recovery.recipe.epochs if recovery is not None else 0
    total_steps = (steps_per_epoch(training_rows(data), recovery.bucket_lengths, recovery.recipe.batch_size)
                   * epochs if epochs else 0)
    calibration = calibration_sample(data["train"], recipe.calibration_size, seed)
    pruner = prepare_pruner(model, recipe, calibration, total_steps, stats)
    record = {"kind": "unstructured", **recipe.describe()}
    if recipe.schedule == "oneshot":
        pruner.update(0)
        record["selection_accuracy_before_recovery"] = selection_accuracy(model, data)
    point = recover(model, data, recovery, teacher, label, record.get("selection_accuracy_before_recovery"), pruner)
    achieved = pruner.sparsity()
    if abs(achieved - recipe.sparsity) > 1e-3:
        raise RuntimeError(f"pruning reached sparsity {achieved:.4f}, not the target {recipe.sparsity}")
    point.record = record | {"achieved_sparsity": round(achieved, 6), **point.record,
                             "seconds": round(time.perf_counter() - started, 1)}
    if not point.steps:
        point.steps = [{"step": 0, "sparsity": round(achieved, 5)}]
    return point
