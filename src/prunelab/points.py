"""Prune one point and record what ran: the main run, the structured model and every sweep point.

A point starts from the fine-tuned baseline, prunes (unstructured: a ``Recipe``;
structured: a FLOPs target), optionally fine-tunes to recover, and returns the model
with its run record: the recipe, the recovery settings actually used, the epochs
actually run, what pruning reached (sparsity, or the units each layer kept), and the
selection-set accuracy before and after recovery. Stages and the report read these
records instead of re-deriving facts from params.yaml.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prunelab.batching import Encoded, steps_per_epoch
from prunelab.params import StructuredSpec
from prunelab.pruning.methods import Recipe, calibration_sample, prepare_pruner
from prunelab.structured import build_pruned, select_plan, unit_importance
from prunelab.training import TrainConfig, accuracy_in_memory, fine_tune


@dataclass
class PrunedPoint:
    model: object
    record: dict
    steps: list[dict] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)


def prune_unstructured(model, recipe: Recipe, data: dict[str, Encoded], recovery: TrainConfig | None,
                       seed: int, teacher=None, label: str = "prune", stats=None) -> PrunedPoint:
    """Zero weights of ``model`` in place by ``recipe``, then recover with ``recovery`` (None: no fine-tuning).

    ``stats``: the model's ``methods.input_stats`` on this recipe's calibration sample, if already collected.
    """
    started = time.perf_counter()
    epochs = recovery.epochs if recovery is not None else 0
    total_steps = steps_per_epoch(data["train"], recovery.bucket_lengths, recovery.batch_size) * epochs if epochs else 0
    calibration = calibration_sample(data["train"], recipe.calibration_size, seed)
    pruner = prepare_pruner(model, recipe, calibration, total_steps, stats)
    record = {"kind": "unstructured", **recipe.describe()}
    if recipe.schedule == "oneshot":
        pruner.update(0)
        record["selection_accuracy_before_recovery"] = _selection_accuracy(model, data)
    point = _recover(model, data, recovery, teacher, label, record.get("selection_accuracy_before_recovery"), pruner)
    achieved = pruner.sparsity()
    if abs(achieved - recipe.sparsity) > 1e-3:
        raise RuntimeError(f"pruning reached sparsity {achieved:.4f}, not the target {recipe.sparsity}")
    point.record = record | {"achieved_sparsity": round(achieved, 6), **point.record,
                             "seconds": round(time.perf_counter() - started, 1)}
    if not point.steps:
        point.steps = [{"step": 0, "sparsity": round(achieved, 5)}]
    return point


def structured_importance(model, spec: StructuredSpec, train: Encoded, seed: int):
    """Head and neuron importance on the seeded calibration sample; one pass serves every FLOPs target."""
    sample = calibration_sample(train, spec.importance_sentences, seed)
    return unit_importance(model, sample, score=spec.score, max_sentences=None)


def prune_structured(model, spec: StructuredSpec, flops_target: float, data: dict[str, Encoded],
                     recovery: TrainConfig | None, importance, teacher=None,
                     label: str = "structured") -> PrunedPoint:
    """A smaller model keeping the most important heads and neurons within ``flops_target``, then recovery."""
    started = time.perf_counter()
    plan, report = select_plan(importance, model.config, flops_target, seq_len=spec.reference_length,
                               allow_layer_removal=spec.allow_layer_removal, min_fraction=spec.min_fraction)
    smaller = build_pruned(model, plan)
    record = {"kind": "structured", "score": spec.score, "importance_sentences": importance.sentences, **report,
              "dense_heads": model.config.num_attention_heads, "dense_ffn_width": model.config.intermediate_size,
              "selection_accuracy_before_recovery": _selection_accuracy(smaller, data)}
    point = _recover(smaller, data, recovery, teacher, label, record["selection_accuracy_before_recovery"])
    point.record = record | point.record | {"seconds": round(time.perf_counter() - started, 1)}
    return point


def _recover(model, data: dict[str, Encoded], recovery: TrainConfig | None, teacher, label: str,
             accuracy_before: float | None, pruner=None) -> PrunedPoint:
    """Fine-tune when ``recovery`` has epochs; without, the accuracy before recovery is the final one."""
    if recovery is None or recovery.epochs == 0:
        accuracy = accuracy_before if accuracy_before is not None else _selection_accuracy(model, data)
        return PrunedPoint(model, {"recovery": None, "epochs_run": 0, "selection_accuracy": accuracy})
    steps, epochs = fine_tune(model, data["train"], data["selection"], recovery, pruner,
                              teacher=teacher, label=label)
    settings = {"epochs": recovery.epochs, "batch_size": recovery.batch_size, "learning_rate": recovery.learning_rate,
                "warmup_ratio": recovery.warmup_ratio, "weight_decay": recovery.weight_decay,
                "distill_alpha": recovery.distill_alpha, "distill_temperature": recovery.distill_temperature,
                "distill_hidden_weight": recovery.distill_hidden_weight}
    return PrunedPoint(model, {"recovery": settings, "epochs_run": len(epochs),
                               "selection_accuracy": epochs[-1]["selection_accuracy"]}, steps, epochs)


def _selection_accuracy(model, data: dict[str, Encoded]) -> float:
    return round(accuracy_in_memory(model, data["selection"], 32), 5)
