import numpy as np
import pytest

from conftest import random_encoded
from prunelab.model.flops import dense_encoder_flops, encoder_flops, layer_flops, plan_flops, unit_flops
from prunelab.pruning.structured import StructuredPlan, build_pruned, select_plan, unit_importance
from structured_support import FFN, HEADS, LAYERS, four_head_bert


@pytest.fixture(scope="module")
def config():
    return four_head_bert().config


def test_encoder_flops_formula(config):
    # (8·16·16 + 4·10·16 + 4·16·32) + (8·16·8 + 4·10·8 + 4·16·8)
    assert layer_flops(16, 4 * 4, 32, 10) == 4736
    assert layer_flops(16, 2 * 4, 8, 10) == 1856
    assert plan_flops(StructuredPlan([range(4), range(2)], [range(32), range(8)]), config, 10) == 4736 + 1856
    head, neuron = unit_flops(config, 25)
    assert dense_encoder_flops(config, 25) == LAYERS * (HEADS * head + FFN * neuron)


def test_encoder_flops_follow_kernel_shapes_not_zeros():
    def layer(inner, width, fill=1.0):
        prefix = "m/bert/encoder/layer_._0/"
        kernels = {f"{prefix}attention/self/{p}/kernel:0": np.full((8, inner), fill) for p in ("query", "key", "value")}
        return kernels | {
            f"{prefix}attention/output/dense/kernel:0": np.full((inner, 8), fill),
            f"{prefix}intermediate/dense/kernel:0": np.full((8, width), fill),
            f"{prefix}output/dense/kernel:0": np.full((width, 8), fill),
            "m/classifier/kernel:0": np.ones((8, 2)),
        }

    length = 10
    dense = encoder_flops(layer(8, 32), length)
    assert dense == length * (2 * 4 * 8 * 8 + 4 * length * 8 + 2 * 2 * 8 * 32)
    assert encoder_flops(layer(8, 32, fill=0.0), length) == dense  # zeros inside a kernel still cost
    assert encoder_flops(layer(4, 16), length) == pytest.approx(dense / 2)


@pytest.mark.parametrize("target", [0.3, 0.5, 1.0])
@pytest.mark.parametrize("layer_removal", [False, True])
def test_the_kernels_of_a_pruned_model_cost_what_its_plan_does(target, layer_removal):
    """Planning counts a plan's units, evaluation the exported kernels: one figure for one model."""
    model = four_head_bert()
    importance = unit_importance(model, random_encoded(16, seed=3, max_len=20), batch_size=8)
    plan, _ = select_plan(importance, model.config, target, allow_layer_removal=layer_removal)
    pruned = build_pruned(model, plan)
    weights = {v.name: v.numpy() for v in pruned.weights}
    for length in (7, 25):
        assert encoder_flops(weights, length) == plan_flops(plan, model.config, length) * length
    assert encoder_flops(weights, 24.7) == pytest.approx(plan_flops(plan, model.config, 24.7) * 24.7, rel=1e-12)
    dense = {v.name: v.numpy() for v in model.weights}
    assert encoder_flops(dense, 25) == dense_encoder_flops(model.config, 25) * 25


def test_layers_without_heads_or_neurons_cost_what_their_plan_does():
    model = four_head_bert()
    plan = StructuredPlan(heads=[(), (0, 2), (1, 2, 3)], neurons=[range(0, 32, 3), (), range(5)])
    weights = {v.name: v.numpy() for v in build_pruned(model, plan).weights}
    assert encoder_flops(weights, 13) == plan_flops(plan, model.config, 13) * 13
