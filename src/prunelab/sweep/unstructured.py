"""One unstructured method's sweep: a point a recipe, each from the same baseline weights."""

from __future__ import annotations

from prunelab.data.batching import Encoded
from prunelab.pruning.sample import calibration_sample
from prunelab.pruning.unstructured.prune import prune_unstructured
from prunelab.pruning.unstructured.recipe import Recipe, calibration_stats
from prunelab.pruning.unstructured.scores import NEEDS_CALIBRATION
from prunelab.sweep.measure import baseline_predictions, measured
from prunelab.training.fine_tune import TrainConfig


class WeightSnapshot:
    """The model's weights, to start every sweep point from the same baseline."""

    def __init__(self, model):
        self.model = model
        self.values = [v.numpy() for v in model.weights]

    def restore(self) -> None:
        for variable, value in zip(self.model.weights, self.values):
            variable.assign(value)


def sweep_unstructured(model, recipes: list[Recipe], data: dict[str, Encoded], recovery: TrainConfig | None,
                       seed: int, teacher=None) -> list[dict]:
    snapshot = WeightSnapshot(model)
    baseline = baseline_predictions(model, data["dev"])
    stats = {}  # the baseline's calibration statistics, by what they depend on: every point starts from it
    points = []
    for recipe in recipes:
        key = (recipe.method, recipe.targets, recipe.calibration_size)
        if recipe.method in NEEDS_CALIBRATION and key not in stats:
            stats[key] = calibration_stats(model, recipe,
                                           calibration_sample(data["train"], recipe.calibration_size, seed))
        point = prune_unstructured(model, recipe, data, recovery, seed, teacher,
                                   label=f"sweep {recipe.method} {recipe.sparsity}", stats=stats.get(key))
        points.append(measured(point, data["dev"], recipe.targets, baseline))
        snapshot.restore()
    return points
