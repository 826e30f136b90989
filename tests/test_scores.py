"""Scoring rules: magnitude and Wanda."""

import numpy as np

from prunelab.pruning.unstructured.calibration import InputStats
from prunelab.pruning.unstructured.masks import select_masks
from prunelab.pruning.unstructured.pruner import Pruner, prunable_variables
from prunelab.pruning.unstructured.schedules import make_schedule
from prunelab.pruning.unstructured.scores import magnitude, wanda

TARGETS = ["attention", "ffn"]
RNG = np.random.default_rng(0)


def test_magnitude_removes_the_smallest_weights(model):
    variables = prunable_variables(model, TARGETS)
    before = {n: v.numpy().copy() for n, v in variables.items()}
    Pruner(variables, "magnitude", "global", make_schedule("oneshot", 0.5, 0)).update(0)
    kept = np.concatenate([np.abs(before[n][v.numpy() != 0]) for n, v in variables.items()])
    removed = np.concatenate([np.abs(before[n][v.numpy() == 0]) for n, v in variables.items()])
    assert removed.max() <= kept.min()


def test_wanda_equals_per_output_magnitude_when_input_norms_are_equal():
    weights = {"w": RNG.normal(size=(16, 6)).astype(np.float32)}
    stats = {"w": InputStats(tokens=10, sum_squares=np.full(16, 4.0))}
    for policy in [{"scope": "per_output"}, {"scope": "per_layer", "n_m": (2, 4)}]:
        by_wanda = select_masks(wanda(weights, stats), 0.5, **policy)
        by_magnitude = select_masks(magnitude(weights, None), 0.5, **policy)
        assert np.array_equal(by_wanda["w"], by_magnitude["w"])


def test_wanda_keeps_weights_on_loud_inputs():
    weights = {"w": np.ones((4, 2), dtype=np.float32)}
    stats = {"w": InputStats(tokens=3, sum_squares=np.array([1.0, 9.0, 0.25, 4.0]))}
    keep = select_masks(wanda(weights, stats), 0.5, "per_output")["w"]
    assert keep[:, 0].tolist() == [False, True, False, True]
