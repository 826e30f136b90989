"""A sweep point measured in memory on SST-2 dev, against the baseline's predictions."""

from __future__ import annotations

from prunelab.data.batching import Encoded
from prunelab.measurement.accuracy import accuracy_change, classification_metrics
from prunelab.measurement.evaluation import describe_weights
from prunelab.training.fine_tune import predict_in_memory

MEASURE_BATCH = 32


def measure_in_memory(model, data: Encoded, target_groups, batch_size: int, split: str) -> dict:
    """A point still in memory, in the schema of ``evaluation.measure_saved_model`` (less size and memory)."""
    predictions = predict_in_memory(model, data, batch_size).argmax(-1)
    weights = {v.name: v.numpy() for v in model.weights}
    return {"split": split, "sentences": len(data), **classification_metrics(data.labels, predictions),
            "predictions": predictions.tolist(), **describe_weights(weights, target_groups, float(data.lengths.mean()))}


def baseline_predictions(model, dev: Encoded):
    return predict_in_memory(model, dev, MEASURE_BATCH).argmax(-1)


def measured(point, dev: Encoded, targets, baseline_predictions) -> dict:
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
