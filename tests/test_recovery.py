"""A pruned model's recovery and its run record (pruning/recovery.py), through both halves' prune functions."""

import pytest

from conftest import fine_tuning, random_encoded, tiny_model
from prunelab.params import StructuredSpec
from prunelab.pruning.structured.prune import prune_structured, structured_importance
from prunelab.pruning.unstructured.prune import prune_unstructured
from prunelab.pruning.unstructured.recipe import Recipe

DATA = {"train": random_encoded(32, seed=1), "selection": random_encoded(16, seed=2)}
RECIPE = dict(epochs=1, batch_size=8, learning_rate=1e-3, warmup_ratio=0.0, weight_decay=0.0)


@pytest.mark.parametrize("method, scope, schedule", [("magnitude", "global", "gradual"),
                                                     ("sparsegpt", "per_output", "oneshot")])
def test_the_run_record_names_the_recovery_that_ran(method, scope, schedule):
    recipe = Recipe(method, 0.5, scope, ("attention", "ffn"), schedule=schedule, calibration_size=8, frequency=1)
    recovery = fine_tuning([16, 40], embedding_update="frozen", **RECIPE)
    point = prune_unstructured(tiny_model("bert"), recipe, DATA, recovery, seed=0)
    assert point.record["recovery"] == recovery.record()
    assert point.record["recovery"]["embedding_update"] == "frozen"
    assert point.record["recovery"]["bucket_lengths"] == [16, 40]
    assert point.record["epochs_run"] == 1 and point.record["achieved_sparsity"] == pytest.approx(0.5, abs=1e-3)


def test_a_structured_model_without_recovery_keeps_its_accuracy_before_recovery():
    model = tiny_model("bert")
    spec = StructuredSpec(flops_target=0.6, importance_sentences=8, recovery=RECIPE)
    importance = structured_importance(model, spec, DATA["train"], seed=0)
    point = prune_structured(model, spec, spec.flops_target, DATA, None, importance)
    assert point.record["recovery"] is None and point.record["epochs_run"] == 0
    assert point.record["selection_accuracy"] == point.record["selection_accuracy_before_recovery"]
