"""Movement pruning (Sanh et al. 2020): the weights fine-tuning moves towards zero go first.

Hard movement pruning with the gradual schedule: every training step adds −w·∂L/∂w of each
targeted weight into a running sum (``MovementPruner.gradient_accumulators``, read by
``training.fine_tune``), and every re-ranking keeps the highest sums. A pruned weight stays
pruned, as in gradual magnitude pruning (where its magnitude is zero from then on): its weight
is gone, so it could only come back at zero, and its sum no longer moves.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from prunelab.pruning.unstructured.pruner import Pruner


class MovementPruner(Pruner):
    def __init__(self, variables: dict[str, tf.Variable], scope: str, schedule):
        super().__init__(variables, "movement", scope, schedule, stats={})
        self.sums = {name: tf.Variable(tf.zeros_like(v), trainable=False, name=f"movement/{name}")
                     for name, v in variables.items()}

    def gradient_accumulators(self) -> list[tuple[tf.Variable, tf.Variable]]:
        return [(self.variables[name], self.sums[name]) for name in self.variables]

    def current_stats(self):
        return {name: np.where(self.masks[name].numpy() > 0, total.numpy(), -np.inf)
                for name, total in self.sums.items()}


def prepare_pruner(model, recipe, variables, schedule, calibration, stats=None) -> Pruner:
    return MovementPruner(variables, recipe.scope, schedule)
