import numpy as np
import pytest

from conftest import random_encoded
from prunelab.model.checkpoint import canonical_name, weight_group
from prunelab.pruning.structured import StructuredPlan, build_pruned, select_plan, unit_importance
from structured_support import (
    LAYERS,
    count_parameters,
    encoder_parameters,
    four_head_bert,
    logits,
    mask_model,
    random_plan,
)


@pytest.fixture(scope="module")
def data():
    return random_encoded(24, seed=3, max_len=20)  # padded batches of uneven lengths exercise the attention mask


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pruned_model_matches_masked_full_model(data, seed):
    model = four_head_bert()
    plan = random_plan(model.config, np.random.default_rng(seed), neuron_keep=0.4)
    assert len(set(plan.heads_per_layer())) > 1 or len(set(plan.ffn_widths())) > 1  # uneven layers
    pruned = build_pruned(model, plan)
    mask_model(model, plan)
    np.testing.assert_allclose(logits(pruned, data), logits(model, data), atol=1e-5)


def test_layers_without_heads_or_neurons_match_the_masked_model(data):
    """A layer may lose every head (attention adds only its bias) or every neuron, and still match."""
    model = four_head_bert()
    plan = StructuredPlan(heads=[(), (0, 2), (1, 2, 3)], neurons=[range(0, 32, 3), (), range(5)])
    pruned = build_pruned(model, plan)
    names = {canonical_name(v.name) for v in pruned.weights}
    assert "bert/encoder/layer_._0/attention/self/query/kernel" not in names
    assert "bert/encoder/layer_._1/intermediate/dense/kernel" not in names
    mask_model(model, plan)
    np.testing.assert_allclose(logits(pruned, data), logits(model, data), atol=1e-5)


def test_kernels_shrink_and_names_classify(data):
    model = four_head_bert()
    plan, _ = select_plan(unit_importance(four_head_bert(), data, batch_size=8), model.config, 0.5)
    pruned = build_pruned(model, plan)
    assert count_parameters(pruned) < count_parameters(model)
    assert encoder_parameters(pruned) < 0.6 * encoder_parameters(model)
    shapes = {canonical_name(v.name): tuple(v.shape) for v in pruned.weights}
    for i in range(LAYERS):
        inner, width = 4 * len(plan.heads[i]), len(plan.neurons[i])
        assert shapes[f"bert/encoder/layer_._{i}/attention/self/query/kernel"] == (16, inner)
        assert shapes[f"bert/encoder/layer_._{i}/attention/output/dense/kernel"] == (inner, 16)
        if width:
            assert shapes[f"bert/encoder/layer_._{i}/intermediate/dense/kernel"] == (16, width)
            assert shapes[f"bert/encoder/layer_._{i}/output/dense/kernel"] == (width, 16)
    groups = {weight_group(v.name) for v in pruned.weights}
    assert groups == {"attention", "ffn", "embeddings", "pooler", "classifier", None}
