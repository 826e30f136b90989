"""Calibration: input statistics of the pruned layers on a few sentences."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import random_encoded, tiny_model
from prunelab.data.batching import padded_batches
from prunelab.errors import ParamsError
from prunelab.model.checkpoint import encoder_layer_index
from prunelab.pruning.unstructured.calibration import LayerByLayer, collect_input_stats, owning_layers
from prunelab.pruning.unstructured.pruner import prunable_variables

TARGETS = ["attention", "ffn"]


def test_calibration_sums_real_tokens_of_the_first_query_input(model):
    data = random_encoded(12, seed=3)
    variables = prunable_variables(model, TARGETS)
    first_query = next(n for n in variables if "layer_._0" in n and ("query" in n or "q_lin" in n))
    stats = collect_input_stats(model, variables, data, batch_size=5, gram=True)[first_query]

    embeddings = model.get_layer(index=0).embeddings  # the query's input is the embeddings' output
    by_hand, with_padding = np.zeros(16), np.zeros(16)
    for ids, mask in padded_batches(data, 5):
        x = embeddings(input_ids=tf.constant(ids), training=False).numpy().astype(np.float64)
        by_hand += (x[mask.astype(bool)] ** 2).sum(axis=0)
        with_padding += (x**2).sum(axis=(0, 1))
    assert stats.tokens == data.lengths.sum()
    np.testing.assert_allclose(stats.sum_squares, by_hand, rtol=1e-5)
    assert not np.allclose(stats.sum_squares, with_padding, rtol=1e-3)  # the padding would have shown
    np.testing.assert_allclose(np.diag(stats.gram), stats.sum_squares, rtol=1e-10)


def test_calibration_restores_the_layers_even_on_error(model):
    variables = prunable_variables(model, TARGETS)
    layers = owning_layers(model, variables)
    assert len(layers) == len(variables)
    bad = random_encoded(4)
    bad.token_ids[0][1] = 10_000  # out of the vocabulary: the forward pass fails
    with pytest.raises(tf.errors.InvalidArgumentError):
        collect_input_stats(model, variables, bad)
    collect_input_stats(model, variables, random_encoded(4))
    assert not any("call" in layer.__dict__ for layer in layers.values())


def test_calibration_refuses_weights_without_a_layer(model):
    with pytest.raises(ParamsError, match="no Dense layer owns"):
        collect_input_stats(model, prunable_variables(model, ["embeddings"]), random_encoded(4))


def kernels_by_layer(model) -> dict[int, dict]:
    by_layer = {}
    for name, variable in prunable_variables(model, TARGETS).items():
        by_layer.setdefault(encoder_layer_index(name), {})[name] = variable
    return by_layer


def test_layer_by_layer_equals_the_whole_model_as_layers_change(architecture):
    """Each layer's statistics as the whole model gives them, though the layers beneath changed since the
    pass that kept their inputs."""
    model, data = tiny_model(architecture, layers=3), random_encoded(12, seed=5)
    by_layer = kernels_by_layer(model)
    calibration = LayerByLayer(model, data, batch_size=5)
    assert len(calibration.encoder_layers) == len(by_layer) == 3
    for layer in sorted(by_layer):
        chosen = by_layer[layer]
        kept = calibration.input_stats(chosen, gram=True)
        whole = collect_input_stats(model, chosen, data, batch_size=5, gram=True)
        for name in chosen:
            assert kept[name].tokens == whole[name].tokens
            assert np.array_equal(kept[name].gram, whole[name].gram), name
        for variable in chosen.values():  # as SparseGPT does before it calibrates the next layer
            variable.assign(variable * 0.5)
    with pytest.raises(ValueError, match="below"):
        calibration.input_stats(by_layer[0])
    assert not any("call" in layer.__dict__ for layer in calibration.encoder_layers.values())


def test_layer_by_layer_runs_only_the_layer_just_below(architecture):
    model, data = tiny_model(architecture, layers=3), random_encoded(12, seed=6)
    by_layer = kernels_by_layer(model)
    calibration = LayerByLayer(model, data, batch_size=5)
    calibration.input_stats(by_layer[0])
    calibration.input_stats(by_layer[1])
    expected = collect_input_stats(model, by_layer[2], data, batch_size=5)
    for variable in by_layer[0].values():  # layer 0 would now poison everything above it, were it run
        variable.assign(tf.fill(variable.shape, np.nan))
    got = calibration.input_stats(by_layer[2])
    for name in by_layer[2]:
        assert np.array_equal(got[name].sum_squares, expected[name].sum_squares), name
