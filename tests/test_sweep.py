import numpy as np
import pytest

from conftest import random_encoded, tiny_model
from prunelab.params import StructuredSpec
from prunelab.pruning.unstructured.methods import wanda
from prunelab.pruning.unstructured.prune import prune_unstructured
from prunelab.pruning.unstructured.recipe import Recipe
from prunelab.sweep.measure import measure_in_memory
from prunelab.sweep.structured import sweep_structured
from prunelab.sweep.unstructured import sweep_unstructured


def test_every_point_starts_from_the_baseline_and_is_measured_alike():
    model = tiny_model("bert")
    before = [v.numpy().copy() for v in model.weights]
    data = {"train": random_encoded(32, seed=1), "selection": random_encoded(16, seed=2),
            "dev": random_encoded(24, seed=3)}
    recipes = [Recipe("magnitude", sparsity, "global", ("attention", "ffn"), calibration_size=8)
               for sparsity in (0.3, 0.7)]
    points = sweep_unstructured(model, recipes, data, recovery=None, seed=0)
    assert [p["run"]["achieved_sparsity"] for p in points] == [pytest.approx(0.3, abs=1e-3),
                                                               pytest.approx(0.7, abs=1e-3)]
    for point in points:
        assert point["split"] == "dev" and point["sentences"] == 24
        assert point["sparsity"]["targeted_sparsity"] == pytest.approx(point["run"]["achieved_sparsity"])
        change = point["accuracy_change"]
        assert change["sentences_gained"] - change["sentences_lost"] == round(change["points"] / 100 * 24)
        assert point["run"]["recovery"] is None and point["run"]["epochs_run"] == 0
    # The model is the baseline again afterwards: the 0.7 point did not start from the 0.3 one.
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.weights))


def test_wanda_points_share_one_calibration_and_match_pruning_each_alone(monkeypatch):
    data = {"train": random_encoded(32, seed=1), "selection": random_encoded(16, seed=2),
            "dev": random_encoded(24, seed=3)}
    recipes = [Recipe("wanda", sparsity, "per_output", ("attention", "ffn"), calibration_size=8)
               for sparsity in (0.25, 0.75)]  # whole inputs of every output in the tiny model's kernels
    collections = []
    collect = wanda.collect_input_stats
    monkeypatch.setattr(wanda, "collect_input_stats", lambda *a, **k: collections.append(1) or collect(*a, **k))
    points = sweep_unstructured(tiny_model("bert"), recipes, data, recovery=None, seed=0)
    assert len(collections) == 1
    for recipe, point in zip(recipes, points):
        alone = prune_unstructured(tiny_model("bert"), recipe, data, None, seed=0).model
        measured = measure_in_memory(alone, data["dev"], recipe.targets, 32, split="dev")
        assert point["accuracy"] == measured["accuracy"]
        assert point["sparsity"]["targeted_sparsity"] == measured["sparsity"]["targeted_sparsity"]


@pytest.mark.parametrize("criterion", ["width", "depth"])
def test_structured_points_keep_their_flops_budget_and_start_from_the_baseline(criterion):
    model = tiny_model("bert")  # two layers: depth keeps one at either target
    before = [v.numpy().copy() for v in model.weights]
    data = {"train": random_encoded(32, seed=1), "selection": random_encoded(16, seed=2),
            "dev": random_encoded(24, seed=3)}
    spec = StructuredSpec(flops_target=0.5, criterion=criterion, importance_sentences=8, recovery={
        "epochs": 1, "batch_size": 8, "learning_rate": 1e-3, "warmup_ratio": 0.0, "weight_decay": 0.0})
    points = sweep_structured(model, spec, [0.5, 0.8], data, recovery=None, seed=0)
    for target, point in zip((0.5, 0.8), points):
        assert point["run"]["kind"] == "structured" and point["run"]["flops_fraction"] <= target
        assert point["split"] == "dev" and point["run"]["recovery"] is None
        assert point["run"]["criterion"] == criterion
        assert len(point["run"]["dropped_layers"]) == (1 if criterion == "depth" else 0)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.weights))
