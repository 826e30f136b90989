"""Movement pruning (Sanh et al. 2020): the weights fine-tuning moves towards zero go first.

Hard movement pruning, as the paper's: a score per weight learnt from −W·∂L/∂W′ (W′ the masked weight
the model computes with, W the weight's own value, kept while it is masked), every re-ranking keeps
the highest scores of *all* weights, and a masked weight whose score climbs back comes back with the
value it had. Sanh et al. train the scores with Adam, which moves each by about as much whatever the
size of its gradient: a score counts how consistently fine-tuning pushes its weight away from zero,
not how large the weight is. Each training step here adds the same Adam-normalised increment (the
first and second moments of −W·∂L/∂W′; their bias correction is one factor for every weight at a
step, so it changes no ranking) into a running sum (``MovementPruner.observe_gradients``, called by
``training.fine_tune``). The raw sum would not do: it is largest in size, of either sign, for the
largest weights, and without revival an early wrong cut is never undone.

Movement starts from the pre-trained model (``params.FROM_PRETRAINED``), and its ramp is meant to
begin after a warm-up (``prune.begin_fraction``), as in the paper.
"""

from __future__ import annotations

import tensorflow as tf

from prunelab.pruning.unstructured.masks import select_masks
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
        # Each weight's own value: the live one while it is kept, the last one while it is masked.
        self._values = {name: tf.Variable(v, trainable=False, name=f"movement/value/{name}")
                        for name, v in variables.items()}

    def observe_gradients(self, gradient_of: dict[int, tf.Tensor]) -> None:
        for name, weight in self.variables.items():
            mask = self.masks[name]
            value = self._values[name].assign(mask * weight + (1 - mask) * self._values[name])
            movement = -value * gradient_of[id(weight)]
            first = self._first[name].assign(BETA_1 * self._first[name] + (1 - BETA_1) * movement)
            second = self._second[name].assign(BETA_2 * self._second[name] + (1 - BETA_2) * tf.square(movement))
            self.sums[name].assign_add(first / (tf.sqrt(second) + EPSILON))

    def current_stats(self):
        return {name: total.numpy() for name, total in self.sums.items()}

    def prune_to(self, sparsity: float) -> None:
        keep = select_masks(self.current_stats(), sparsity, self.scope)
        for name, variable in self.variables.items():
            mask = self.masks[name]
            self._values[name].assign(mask * variable + (1 - mask) * self._values[name])
            self.masks[name].assign(tf.cast(keep[name], tf.float32))
            variable.assign(self._values[name] * self.masks[name])


def prepare_pruner(model, recipe, variables, schedule, calibration, stats=None) -> Pruner:
    return MovementPruner(variables, recipe.scope, schedule)
