"""What every pruned model goes through after pruning: recovery fine-tuning (or none) and its run record.

A pruned model starts from the fine-tuned baseline, is pruned (unstructured: a ``Recipe``,
``pruning.unstructured.prune``; structured: a FLOPs target, ``pruning.structured.prune``),
optionally fine-tuned to recover, and returned with its run record: the recipe, the recovery
settings actually used, the epochs actually run, what pruning reached (sparsity, or the units
each layer kept), and the selection-set accuracy before and after recovery. Stages and the
report read these records instead of re-deriving facts from params.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prunelab.data.batching import Encoded, training_rows
from prunelab.training.fine_tune import TrainConfig, accuracy_in_memory, fine_tune


@dataclass
class PrunedPoint:
    model: object
    record: dict
    steps: list[dict] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)


def recover(model, data: dict[str, Encoded], recovery: TrainConfig | None, teacher, label: str,
            accuracy_before: float | None, pruner=None) -> PrunedPoint:
    """Fine-tune when ``recovery`` has epochs; without, the accuracy before recovery is the final one."""
    if recovery is None or recovery.recipe.epochs == 0:
        accuracy = accuracy_before if accuracy_before is not None else selection_accuracy(model, data)
        return PrunedPoint(model, {"recovery": None, "epochs_run": 0, "selection_accuracy": accuracy})
    steps, epochs = fine_tune(model, training_rows(data), data["selection"], recovery, pruner,
                              teacher=teacher, label=label)
    return PrunedPoint(model, {"recovery": recovery.record(), "epochs_run": len(epochs),
                               "selection_accuracy": epochs[-1]["selection_accuracy"]}, steps, epochs)


def selection_accuracy(model, data: dict[str, Encoded]) -> float:
    return round(accuracy_in_memory(model, data["selection"], 32), 5)
