"""The structured sweep: one importance pass, then a smaller model at every FLOPs target."""

from __future__ import annotations

from prunelab.data.batching import Encoded
from prunelab.params import StructuredSpec
from prunelab.pruning.structured.prune import prune_structured, structured_importance
from prunelab.sweep.measure import baseline_predictions, measured
from prunelab.training.fine_tune import TrainConfig


def sweep_structured(model, spec: StructuredSpec, flops_targets, data: dict[str, Encoded],
                     recovery: TrainConfig | None, seed: int, teacher=None) -> list[dict]:
    importance = structured_importance(model, spec, data["train"], seed)
    baseline = baseline_predictions(model, data["dev"])
    return [measured(prune_structured(model, spec, float(target), data, recovery, importance, teacher,
                                      label=f"sweep structured {target}"), data["dev"], ("attention", "ffn"), baseline)
            for target in flops_targets]
