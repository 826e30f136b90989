"""Wanda (Sun et al. 2023): weights scored by their magnitude times their input's norm on the calibration sample."""

from __future__ import annotations

from prunelab.pruning.unstructured.calibration import collect_input_stats
from prunelab.pruning.unstructured.pruner import Pruner


def collect_stats(model, variables, calibration):
    return collect_input_stats(model, variables, calibration)


def prepare_pruner(model, recipe, variables, schedule, calibration, stats=None) -> Pruner:
    """``stats``: the model's input statistics on ``calibration`` when already collected (a sweep shares them)."""
    if stats is None:
        stats = collect_stats(model, variables, calibration)
    return Pruner(variables, "wanda", recipe.scope, schedule, stats=stats, n_m=recipe.n_m)
