"""The comparison sweep: every method at several sparsities (or FLOPs targets), on equal terms.

Each point starts from the same fine-tuned baseline and goes through the same
``prunelab.points`` functions as the main run: one-shot pruning and, only when asked
(``sweep.recovery``), fine-tuning. What depends on the baseline alone is computed
once for all points: its dev predictions, Wanda's calibration statistics, the
teacher's outputs. Every point is measured in memory on SST-2 dev with
``measure_in_memory``, in the schema of every measured model. Speed is not measured
per point: unstructured points keep the dense graph, and the structured
model the report times is the exported ``models/structured``.
"""

from __future__ import annotations

from prunelab.accuracy import accuracy_change, classification_metrics
from prunelab.batching import Encoded
from prunelab.evaluation import describe_weights
from prunelab.params import StructuredSpec
from prunelab.points import prune_structured, prune_unstructured, structured_importance
from prunelab.pruning.methods import Recipe, calibration_sample, input_stats
from prunelab.pruning.scores import NEEDS_CALIBRATION
from prunelab.training import TrainConfig, predict_in_memory

MEASURE_BATCH = 32


class WeightSnapshot:
    """The model's weights, to start every sweep point from the same baseline."""

    def __init__(self, model):
        self.model = model
        self.values = [v.numpy() for v in model.weights]

    def restore(self) -> None:
        for variable, value in zip(self.model.weights, self.values):
            variable.assign(value)


def sweep_unstructured(model, recipes: list[Recipe], data: dict[str, Encoded], recovery: TrainConfig | None,
                       seed: int, teacher=None) -> list[dict]:
    snapshot = WeightSnapshot(model)
    baseline = _baseline_predictions(model, data["dev"])
    stats = {}  # the baseline's calibration statistics, by what they depend on: every point starts from it
    points = []
    for recipe in recipes:
        key = (recipe.targets, recipe.calibration_size)
        if recipe.method in NEEDS_CALIBRATION and key not in stats:
            stats[key] = input_stats(model, recipe, calibration_sample(data["train"], recipe.calibration_size, seed))
        point = prune_unstructured(model, recipe, data, recovery, seed, teacher,
                                   label=f"sweep {recipe.method} {recipe.sparsity}", stats=stats.get(key))
        points.append(_measured(point, data["dev"], recipe.targets, baseline))
        snapshot.restore()
    return points


def sweep_structured(model, spec: StructuredSpec, flops_targets, data: dict[str, Encoded],
                     recovery: TrainConfig | None, seed: int, teacher=None) -> list[dict]:
    importance = structured_importance(model, spec, data["train"], seed)
    baseline = _baseline_predictions(model, data["dev"])
    return [_measured(prune_structured(model, spec, float(target), data, recovery, importance, teacher,
                                       label=f"sweep structured {target}"), data["dev"], ("attention", "ffn"), baseline)
            for target in flops_targets]


def measure_in_memory(model, data: Encoded, target_groups, batch_size: int, split: str) -> dict:
    """A point still in memory, in the schema of ``evaluation.measure_saved_model`` (less size and memory)."""
    predictions = predict_in_memory(model, data, batch_size).argmax(-1)
    weights = {v.name: v.numpy() for v in model.weights}
    return {"split": split, "sentences": len(data), **classification_metrics(data.labels, predictions),
            "predictions": predictions.tolist(), **describe_weights(weights, target_groups, float(data.lengths.mean()))}


def _baseline_predictions(model, dev: Encoded):
    return predict_in_memory(model, dev, MEASURE_BATCH).argmax(-1)


def _measured(point, dev: Encoded, targets, baseline_predictions) -> dict:
    """The point in the schema of every measured model, with its paired accuracy change against the baseline."""
    measured = measure_in_memory(point.model, dev, targets, MEASURE_BATCH, split="dev")
    measured["sparsity"].pop("per_kernel")
    measured["accuracy_change"] = accuracy_change(dev.labels, baseline_predictions, measured.pop("predictions"))
    print(f"[sweep] {_name(point.record)}: dev accuracy {measured['accuracy']:.4f}", flush=True)
    return measured | {"run": point.record | {"epochs": point.epochs}}


def _name(record: dict) -> str:
    if record["kind"] == "structured":
        return f"structured at {record['flops_target']:.0%} FLOPs"
    return f"{record['method']} at {record['sparsity']:.0%}"
