"""Magnitude pruning: the smallest weights go, at any schedule."""

from __future__ import annotations

from prunelab.pruning.unstructured.pruner import Pruner


def prepare_pruner(model, recipe, variables, schedule, calibration, stats=None) -> Pruner:
    return Pruner(variables, "magnitude", recipe.scope, schedule, stats=stats, n_m=recipe.n_m)
