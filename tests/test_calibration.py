"""Calibration: input statistics of the pruned layers on a few sentences."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import random_encoded
from prunelab.batching import padded_batches
from prunelab.errors import ParamsError
from prunelab.pruning import collect_input_stats, prunable_variables
from prunelab.pruning.calibration import owning_layers

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
