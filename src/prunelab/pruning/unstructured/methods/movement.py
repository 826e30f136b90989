"""Movement pruning (Sanh et al. 2020): the weights fine-tuning moves towards zero go first.

Hard movement pruning with the gradual schedule. Sanh et al. learn a score per weight whose gradient
is −w·∂L/∂w and train it with Adam; a step of Adam moves each score by about the same amount whatever
the size of its gradient, so a score counts how consistently fine-tuning pushes its weight away from
zero, not how large the weight is. Each training step here adds the same Adam-normalised increment
(first and second moments of −w·∂L/∂w; their bias correction is one factor for every weight at a
step, so it changes no ranking) into a running sum (``MovementPruner.observe_gradients``, called by
``training.fine_tune``), and every re-ranking keeps the highest sums. The raw sum would not do: it
is largest in size, of either sign, for the largest weights, so the first re-rankings would remove
weights a model relies on. A pruned weight stays pruned, as in gradual magnitude pruning (where its
magnitude is zero from then on): its weight is gone, so it could only come back at zero.

Movement starts from the pre-trained model (``params.FROM_PRETRAINED``), as in the paper.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from prunelab.pruning.unstructured.pruner import Pruner

# Adam's own defaults, as the paper's optimizer of the scores.
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-8


class MovementPruner(Pruner):
    def __init__(self, variables: dict[str, tf.Variable], scope: str, schedule):
        super().__init__(variables, "movement", scope, schedule, stats={})

        def zeros(kind, name, v):
            return tf.Variable(tf.zeros_like(v), trainable=False, name=f"movement/{kind}/{name}")

        self.sums = {name: zeros("sum", name, v) for name, v in variables.items()}
        self._first = {name: zeros("m", name, v) for name, v in variables.items()}
        self._second = {name: zeros("v", name, v) for name, v in variables.items()}

    def observe_gradients(self, gradient_of: dict[int, tf.Tensor]) -> None:
        for name, weight in self.variables.items():
            movement = -weight * gradient_of[id(weight)]
            first = self._first[name].assign(BETA_1 * self._first[name] + (1 - BETA_1) * movement)
            second = self._second[name].assign(BETA_2 * self._second[name] + (1 - BETA_2) * tf.square(movement))
            self.sums[name].assign_add(first / (tf.sqrt(second) + EPSILON))

    def current_stats(self):
        return {name: np.where(self.masks[name].numpy() > 0, total.numpy(), -np.inf)
                for name, total in self.sums.items()}


def prepare_pruner(model, recipe, variables, schedule, calibration, stats=None) -> Pruner:
    return MovementPruner(variables, recipe.scope, schedule)
