"""SNIP-style first-order scores (Lee et al. 2019): |w · ∂L/∂w| summed over calibration batches, pruned once."""

from __future__ import annotations

from prunelab.pruning.unstructured.calibration import collect_gradient_scores
from prunelab.pruning.unstructured.pruner import Pruner


def collect_stats(model, variables, calibration):
    return collect_gradient_scores(model, variables, calibration)


def prepare_pruner(model, recipe, variables, schedule, calibration, stats=None) -> Pruner:
    """``stats``: the scores on ``calibration`` when already collected (a sweep shares them)."""
    if stats is None:
        stats = collect_stats(model, variables, calibration)
    return Pruner(variables, "snip", recipe.scope, schedule, stats=stats, n_m=recipe.n_m)
