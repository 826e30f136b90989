"""Binds a scoring rule, a mask policy and a schedule to a model's variables."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from prunelab.errors import ParamsError
from prunelab.model.checkpoint import WEIGHT_GROUPS, canonical_name, weight_group
from prunelab.pruning.unstructured.masks import select_masks
from prunelab.pruning.unstructured.schedules import sparsity_at
from prunelab.pruning.unstructured.scores import NEEDS_CALIBRATION, SCORING_RULES


def prunable_variables(model, groups) -> dict[str, tf.Variable]:
    """The model's weights in ``groups`` (see ``checkpoint.WEIGHT_GROUPS``), by canonical name."""
    unknown = set(groups) - set(WEIGHT_GROUPS)
    if unknown:
        raise ParamsError(f"prune.targets {sorted(unknown)} unknown; choose from {', '.join(WEIGHT_GROUPS)}.")
    chosen = {canonical_name(v.name): v for v in model.weights if weight_group(v.name) in groups}
    if not chosen:
        raise ParamsError(f"the model has no weights in prune.targets {list(groups)}.")
    return chosen


class Pruner:
    """Keeps one mask per prunable variable; masks change only when the schedule says so.

    Rules in ``NEEDS_CALIBRATION`` (Wanda, SNIP) need ``stats`` collected on a calibration sample;
    ``n_m=(n, m)`` asks for N:M masks instead of ``scope``.
    """

    def __init__(self, variables: dict[str, tf.Variable], scoring_rule: str, scope: str, schedule, stats=None,
                 n_m: tuple[int, int] | None = None):
        if scoring_rule not in SCORING_RULES:
            raise ParamsError(f"prune.method {scoring_rule!r} is not one of {', '.join(SCORING_RULES)}.")
        if scoring_rule in NEEDS_CALIBRATION and stats is None:
            raise ParamsError(f"prune.method {scoring_rule!r} needs calibration statistics (collect_input_stats).")
        self.variables = variables
        self.score = SCORING_RULES[scoring_rule]
        self.stats = stats
        self.scope = scope
        self.n_m = n_m
        self.schedule = schedule
        self.masks = {
            name: tf.Variable(tf.ones_like(v), trainable=False, name=f"mask/{name}") for name, v in variables.items()
        }

    def masked_variables(self) -> list[tuple[tf.Variable, tf.Variable]]:
        return [(self.variables[name], self.masks[name]) for name in self.variables]

    def update(self, step: int) -> None:
        sparsity = sparsity_at(self.schedule, step)
        if sparsity is not None:
            self.prune_to(sparsity)

    def observe_gradients(self, gradient_of: dict[int, tf.Tensor]) -> None:
        """Called inside every traced training step with each trained variable's gradient (by ``id`` of the
        variable), before the update; a rule that scores by them (movement) keeps what it needs."""

    def current_stats(self):
        """What the scoring rule reads besides the weights, as of now."""
        return self.stats

    def prune_to(self, sparsity: float) -> None:
        weights = {name: v.numpy() for name, v in self.variables.items()}
        keep = select_masks(self.score(weights, self.current_stats()), sparsity, self.scope, n_m=self.n_m)
        for name, variable in self.variables.items():
            self.masks[name].assign(keep[name].astype(np.float32))
            variable.assign(weights[name] * keep[name])

    def sparsity(self) -> float:
        """Fraction of prunable weights that are zero right now."""
        zeros = sum(int(tf.size(v)) - int(tf.math.count_nonzero(v)) for v in self.variables.values())
        return zeros / sum(int(tf.size(v)) for v in self.variables.values())
