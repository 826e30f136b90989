"""Remove heads and FFN neurons to a FLOPs target, recover, and record what ran (the structured model, sweep points)."""

from __future__ import annotations

import time

from prunelab.data.batching import Encoded
from prunelab.params import StructuredSpec
from prunelab.pruning.recovery import PrunedPoint, recover, selection_accuracy
from prunelab.pruning.sample import calibration_sample
from prunelab.pruning.structured import Importance, build_pruned, select_plan, unit_importance
from prunelab.pruning.structured.depth import LayerOrder, layer_removal_order, select_layers
from prunelab.training.fine_tune import TrainConfig


def structured_importance(model, spec: StructuredSpec, train: Encoded, seed: int) -> Importance | LayerOrder:
    """What ``spec.criterion`` ranks by, on the seeded calibration sample; one pass serves every FLOPs target:
    head and neuron importance (width), or the order in which whole layers go (depth)."""
    sample = calibration_sample(train, spec.importance_sentences, seed)
    if spec.criterion == "depth":
        return layer_removal_order(model, sample)
    return unit_importance(model, sample, score=spec.score, max_sentences=None)


def prune_structured(model, spec: StructuredSpec, flops_target: float, data: dict[str, Encoded],
                     recovery: TrainConfig | None, importance, teacher=None,
                     label: str = "structured") -> PrunedPoint:
    """A smaller model keeping the most important heads and neurons within ``flops_target``, then recovery."""
    started = time.perf_counter()
    if isinstance(importance, LayerOrder):
        plan, report = select_layers(importance, model.config, flops_target, spec.reference_length)
        criterion = {"criterion": "depth"}
    else:
        plan, report = select_plan(importance, model.config, flops_target, seq_len=spec.reference_length,
                                   allow_layer_removal=spec.allow_layer_removal, min_fraction=spec.min_fraction)
        criterion = {"criterion": "width", "score": spec.score}
    smaller = build_pruned(model, plan)
    record = {"kind": "structured", **criterion, "importance_sentences": importance.sentences, **report,
              "dense_heads": model.config.num_attention_heads, "dense_ffn_width": model.config.intermediate_size,
              "selection_accuracy_before_recovery": selection_accuracy(smaller, data)}
    point = recover(smaller, data, recovery, teacher, label, record["selection_accuracy_before_recovery"])
    point.record = record | point.record | {"seconds": round(time.perf_counter() - started, 1)}
    return point
