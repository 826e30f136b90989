"""From a recipe to a ready Pruner, for every unstructured method."""

import pytest

from conftest import random_encoded, tiny_model
from prunelab.pruning.sample import calibration_sample
from prunelab.pruning.unstructured.masks import check_n_m
from prunelab.pruning.unstructured.recipe import Recipe, prepare_pruner

BASE_RECIPE = {"method": "magnitude", "sparsity": 0.5, "scope": "global", "targets": ("attention", "ffn"),
               "schedule": "oneshot", "n_m": None, "calibration_size": 16, "end_fraction": 0.5, "frequency": 10}


@pytest.mark.parametrize(
    "overrides",
    [{"method": "magnitude", "scope": "per_layer"}, {"method": "wanda", "scope": "per_output"},
     {"method": "sparsegpt", "scope": "per_output"}, {"method": "wanda", "scope": "per_output", "n_m": (2, 4)}],
)
def test_every_method_prunes_to_the_target_through_prepare_pruner(overrides):
    model = tiny_model("bert")
    recipe = Recipe(**{**BASE_RECIPE, **overrides})
    pruner = prepare_pruner(model, recipe, calibration_sample(random_encoded(64), 16, seed=0), total_steps=0)
    pruner.update(0)
    assert pruner.sparsity() == pytest.approx(0.5, abs=1e-3)
    if recipe.n_m:
        for name, variable in pruner.variables.items():
            check_n_m(variable.numpy(), *recipe.n_m, name=name)


def test_movement_alone_starts_from_the_pretrained_model_and_the_record_says_so():
    # Movement ranks by how fine-tuning moves each weight, which at the fine-tuned baseline is noise.
    starts = {method: Recipe(**{**BASE_RECIPE, "method": method}).starts_from
              for method in ("magnitude", "wanda", "sparsegpt", "snip", "movement")}
    assert starts == {"magnitude": "baseline", "wanda": "baseline", "sparsegpt": "baseline", "snip": "baseline",
                      "movement": "pretrained"}
    movement = Recipe(**{**BASE_RECIPE, "method": "movement", "schedule": "gradual"})
    assert movement.describe()["starts_from"] == "pretrained"
