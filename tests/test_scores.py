"""Scoring rules: magnitude, Wanda, SNIP and movement."""

import numpy as np

from prunelab.pruning.unstructured.calibration import InputStats
from prunelab.pruning.unstructured.masks import select_masks
from prunelab.pruning.unstructured.pruner import Pruner, prunable_variables
from prunelab.pruning.unstructured.schedules import make_schedule
from prunelab.pruning.unstructured.scores import magnitude, movement, snip, wanda

TARGETS = ["attention", "ffn"]
RNG = np.random.default_rng(0)


def test_magnitude_removes_the_smallest_weights(model):
    variables = prunable_variables(model, TARGETS)
    before = {n: v.numpy().copy() for n, v in variables.items()}
    Pruner(variables, "magnitude", "global", make_schedule("oneshot", 0.5, 0)).update(0)
    kept = np.concatenate([np.abs(before[n][v.numpy() != 0]) for n, v in variables.items()])
    removed = np.concatenate([np.abs(before[n][v.numpy() == 0]) for n, v in variables.items()])
    assert removed.max() <= kept.min()


def test_wanda_equals_per_output_magnitude_when_input_norms_are_equal():
    weights = {"w": RNG.normal(size=(16, 6)).astype(np.float32)}
    stats = {"w": InputStats(tokens=10, sum_squares=np.full(16, 4.0))}
    for policy in [{"scope": "per_output"}, {"scope": "per_layer", "n_m": (2, 4)}]:
        by_wanda = select_masks(wanda(weights, stats), 0.5, **policy)
        by_magnitude = select_masks(magnitude(weights, None), 0.5, **policy)
        assert np.array_equal(by_wanda["w"], by_magnitude["w"])


def test_wanda_keeps_weights_on_loud_inputs():
    weights = {"w": np.ones((4, 2), dtype=np.float32)}
    stats = {"w": InputStats(tokens=3, sum_squares=np.array([1.0, 9.0, 0.25, 4.0]))}
    keep = select_masks(wanda(weights, stats), 0.5, "per_output")["w"]
    assert keep[:, 0].tolist() == [False, True, False, True]


def test_snip_keeps_the_weights_whose_removal_the_gradient_says_costs_most(model):
    """A known gradient gives a known ranking: on a loss linear in the weights, ∂L/∂w is the same for
    every batch, so the first-order score is |w · g| summed over the batches."""
    import tensorflow as tf

    from conftest import random_encoded
    from prunelab.pruning.unstructured.calibration import collect_gradient_scores

    data = random_encoded(24, seed=3)
    variables = prunable_variables(model, TARGETS)
    scores = collect_gradient_scores(model, variables, data, batch_size=8)
    name, kernel = next(iter(variables.items()))
    # The same sums by hand, batch by batch, in the length order the function batches in.
    from prunelab.data.batching import padded_batches

    order = data.length_order()
    expected = np.zeros(kernel.shape)
    for start, (ids, mask) in zip(range(0, 24, 8), padded_batches(data.take(order), 8)):
        with tf.GradientTape() as tape:
            logits = model(input_ids=tf.constant(ids), attention_mask=tf.constant(mask), training=False).logits
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
                data.labels[order][start : start + 8], logits, from_logits=True))
        expected += np.abs(kernel.numpy() * tape.gradient(loss, kernel).numpy())
    np.testing.assert_allclose(scores[name], expected, rtol=1e-4, atol=1e-9)
    assert set(scores) == set(variables)


def test_snip_and_movement_rank_by_the_sums_they_are_given():
    weights = {"w": np.ones((4, 2), dtype=np.float32)}  # equal magnitudes: only the sums can decide
    sums = {"w": np.array([[3.0, -1.0], [0.5, 2.0], [-2.0, 0.1], [1.0, 4.0]])}
    for rule in (snip, movement):
        keep = select_masks(rule(weights, sums), 0.5, "global")["w"]
        assert keep.tolist() == [[True, False], [False, True], [False, False], [True, True]]
    # Movement keeps a weight pushed away from zero (positive sum) over a larger one pulled towards it.
    assert select_masks(movement({"w": np.array([[0.1], [5.0]])}, {"w": np.array([[0.2], [-0.3]])}), 0.5,
                        "global")["w"].ravel().tolist() == [True, False]
