import numpy as np
import tensorflow as tf
from transformers import create_optimizer

from prunelab.training.lazy_adam import LazyAdamWeightDecay


def optimizers(warmup_steps=2):
    dense, _ = create_optimizer(init_lr=1e-2, num_train_steps=10, num_warmup_steps=warmup_steps, weight_decay_rate=0.1)
    lazy, _ = create_optimizer(init_lr=1e-2, num_train_steps=10, num_warmup_steps=warmup_steps, weight_decay_rate=0.1)
    return dense, LazyAdamWeightDecay.like(lazy)


def variables(seed=0):
    rng = np.random.default_rng(seed)
    return {name: tf.Variable(rng.normal(size=shape).astype(np.float32), name=name)
            for name, shape in (("table/weight", (6, 3)), ("dense/kernel", (3, 2)), ("LayerNorm/gamma", (2,)))}


def step(optimizer, named, indices, seed):
    """One update from a loss that looks up ``indices`` in the table and uses every other weight."""
    x = tf.constant(np.random.default_rng(seed).normal(size=(len(indices), 2)).astype(np.float32))
    with tf.GradientTape() as tape:
        rows = tf.gather(named["table/weight"], indices)
        loss = tf.reduce_sum(tf.matmul(rows, named["dense/kernel"]) * named["LayerNorm/gamma"] * x)
    weights = list(named.values())
    optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))


def test_dense_gradients_are_applied_exactly_as_adamw_applies_them():
    (dense, lazy), a, b = optimizers(), variables(), variables()
    for seed in range(4):
        step(dense, a, [0, 1, 2, 3, 4, 5], seed)
        step(lazy, b, [0, 1, 2, 3, 4, 5], seed)
        for name in ("dense/kernel", "LayerNorm/gamma"):
            np.testing.assert_array_equal(a[name].numpy(), b[name].numpy())


def test_only_the_looked_up_rows_move_and_they_move_as_adamw_moves_them_the_first_time():
    (dense, lazy), a, b = optimizers(warmup_steps=0), variables(), variables()  # no warm-up: the first step moves
    untouched = b["table/weight"].numpy()[[3, 4, 5]]
    step(dense, a, [0, 1, 2, 1], seed=0)
    step(lazy, b, [0, 1, 2, 1], seed=0)
    assert not np.array_equal(b["table/weight"].numpy()[:3], variables()["table/weight"].numpy()[:3])
    np.testing.assert_allclose(b["table/weight"].numpy()[:3], a["table/weight"].numpy()[:3], rtol=1e-6)
    np.testing.assert_array_equal(b["table/weight"].numpy()[3:], untouched)
    assert not np.array_equal(a["table/weight"].numpy()[3:], untouched)  # dense AdamW decays every row


def test_layer_norms_are_not_decayed_like_the_wrapped_optimizer():
    _, lazy = optimizers()
    assert lazy._do_use_weight_decay("table/weight") and not lazy._do_use_weight_decay("LayerNorm/gamma")
