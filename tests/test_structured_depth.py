"""Layer removal: the greedy order by measured loss, and plans of whole layers within a FLOPs target."""

import numpy as np
import pytest

from conftest import random_encoded
from prunelab.data.batching import padded_batches
from prunelab.errors import ParamsError
from prunelab.model.flops import dense_encoder_flops, plan_flops
from prunelab.pruning.structured import build_pruned
from prunelab.pruning.structured.depth import _loss_without, layer_removal_order, select_layers
from prunelab.pruning.structured.plan import StructuredPlan
from structured_support import four_head_bert, logits

LAYERS = 4


@pytest.fixture(scope="module")
def model():
    return four_head_bert(seed=1, layers=LAYERS)


@pytest.fixture(scope="module")
def data():
    return random_encoded(24, seed=2)


def test_each_removal_is_the_cheapest_left_and_every_layer_is_ordered(model, data):
    order = layer_removal_order(model, data, batch_size=8)
    assert sorted(order.removal_order) == list(range(LAYERS))
    assert len(order.losses) == LAYERS and order.sentences == 24
    batches, labels = padded_batches(data.take(data.length_order()), 8), data.labels[data.length_order()]
    for j in range(LAYERS - 1):
        gone = list(order.removal_order[:j])
        left = [i for i in range(LAYERS) if i not in gone]
        trial = {i: _loss_without(model, gone + [i], batches, labels) for i in left}
        assert order.removal_order[j] == min(trial, key=trial.get)
        assert order.losses[j + 1] == pytest.approx(trial[order.removal_order[j]], abs=1e-5)


def test_a_depth_plan_skips_the_first_layers_of_the_order_and_computes_what_skipping_them_does(model, data):
    order = layer_removal_order(model, data, batch_size=8)
    plan, report = select_layers(order, model.config, 0.5, seq_len=25)
    assert plan.dropped_layers == tuple(sorted(order.removal_order[:2]))
    assert report["flops_fraction"] == pytest.approx(0.5)
    assert plan_flops(plan, model.config, 25) == pytest.approx(0.5 * dense_encoder_flops(model.config, 25))
    kept = plan.kept_layers
    assert all(len(plan.heads[i]) == model.config.num_attention_heads for i in kept)
    # The smaller model computes the loss the order measured: the skipped layers pass their input on.
    smaller = build_pruned(model, plan)
    z = logits(smaller, data)
    loss = -np.mean(z[np.arange(len(data)), data.labels] - np.log(np.exp(z).sum(axis=1)))
    assert loss == pytest.approx(order.losses[2], abs=1e-4)
    # A target between whole layers keeps the layers that fit: 0.6 of 4 layers is 2.
    assert select_layers(order, model.config, 0.6, seq_len=25)[0].dropped_layers == plan.dropped_layers
    assert isinstance(plan, StructuredPlan)


def test_a_target_below_one_layer_is_refused(model, data):
    order = layer_removal_order(model, data, batch_size=8)
    with pytest.raises(ParamsError, match="keeps no whole layer of 4: with structured.criterion depth"):
        select_layers(order, model.config, 0.2, seq_len=25)
