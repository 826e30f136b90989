import numpy as np
import pytest

from conftest import random_encoded
from prunelab.errors import ParamsError
from prunelab.model.checkpoint import encoder_layer_index
from prunelab.model.flops import dense_encoder_flops, plan_flops, unit_flops
from prunelab.pruning.structured import Importance, build_pruned, select_plan, unit_importance
from structured_support import FFN, HEADS, LAYERS, four_head_bert, logits


@pytest.fixture(scope="module")
def data():
    return random_encoded(24, seed=3, max_len=20)


@pytest.fixture(scope="module")
def config():
    return four_head_bert().config


@pytest.fixture(scope="module")
def importance(data):
    return unit_importance(four_head_bert(), data, batch_size=8)


@pytest.mark.parametrize("target", [0.3, 0.5, 0.8])
@pytest.mark.parametrize("layer_removal", [False, True])
def test_achieved_flops_match_the_target(importance, config, target, layer_removal):
    plan, report = select_plan(importance, config, target, seq_len=25, allow_layer_removal=layer_removal)
    dense = dense_encoder_flops(config, 25)
    achieved = plan_flops(plan, config, 25) / dense
    assert report["flops_fraction"] == pytest.approx(achieved)
    assert achieved <= target + 1e-12
    head, neuron = unit_flops(config, 25)
    slack = neuron if sum(plan.ffn_widths()) < LAYERS * FFN else head
    assert target - achieved < slack / dense
    if not layer_removal:
        assert min(plan.heads_per_layer()) >= 1 and not plan.dropped_layers


def test_selection_keeps_the_most_important_units(config):
    heads = np.full((LAYERS, HEADS), 0.01)
    heads[0, 3] = heads[2, 1] = 5.0
    neurons = np.full((LAYERS, FFN), 0.001)
    neurons[1, :10] = 1.0
    plan, _ = select_plan(Importance(heads, neurons, 0, "fisher"), config, 0.3, seq_len=25)
    assert 3 in plan.heads[0] and 1 in plan.heads[2]
    assert set(range(10)) <= set(plan.neurons[1])


def test_whole_layer_removal(data):
    model = four_head_bert()
    heads, neurons = np.full((LAYERS, HEADS), 20.0), np.ones((LAYERS, FFN))  # a head costs ~14 neurons
    heads[1], neurons[1] = 1e-6, 1e-6  # layer 1 does nothing useful
    importance = Importance(heads, neurons, 0, "taylor")
    kept, _ = select_plan(importance, model.config, 0.5, allow_layer_removal=False)
    assert kept.dropped_layers == () and kept.heads_per_layer()[1] == 1
    plan, report = select_plan(importance, model.config, 0.5, allow_layer_removal=True)
    assert plan.dropped_layers == (1,) and report["dropped_layers"] == [1]
    pruned = build_pruned(model, plan)
    assert 1 not in {encoder_layer_index(v.name) for v in pruned.weights}
    assert np.isfinite(logits(pruned, data)).all()


def test_impossible_target_is_refused(importance, config):
    with pytest.raises(ParamsError):
        select_plan(importance, config, 0.05)


def test_every_layer_keeps_its_minimum_share(config):
    """Scores that favour one layer would strip the others; the floor keeps a quarter of each."""
    heads, neurons = np.full((LAYERS, HEADS), 1e-3), np.full((LAYERS, FFN), 1e-4)
    heads[0], neurons[0] = 1.0, 1.0
    unfloored, _ = select_plan(Importance(heads, neurons, 0, "fisher"), config, 0.5)
    assert min(unfloored.ffn_widths()) < FFN // 4
    plan, report = select_plan(Importance(heads, neurons, 0, "fisher"), config, 0.5, min_fraction=0.25)
    assert min(plan.heads_per_layer()) >= HEADS // 4 and min(plan.ffn_widths()) >= FFN // 4
    assert plan.heads_per_layer()[0] == HEADS and plan.ffn_widths()[0] == FFN  # the rest still goes to layer 0
    assert report["flops_fraction"] <= 0.5
    with pytest.raises(ParamsError, match="min_fraction"):
        select_plan(Importance(heads, neurons, 0, "fisher"), config, 0.5, min_fraction=0.6)
