import numpy as np
import pytest
import tensorflow as tf

from conftest import random_encoded, tiny_model
from prunelab.data.batching import padded_batches
from prunelab.errors import ParamsError
from prunelab.pruning.structured import unit_importance
from structured_support import FFN, HEADS, LAYERS, four_head_bert


@pytest.fixture(scope="module")
def data():
    return random_encoded(24, seed=3, max_len=20)  # padded batches of uneven lengths exercise the attention mask


def test_importance_is_one_finite_score_per_unit(data):
    importance = unit_importance(four_head_bert(), data, batch_size=8)
    assert importance.heads.shape == (LAYERS, HEADS)
    assert importance.neurons.shape == (LAYERS, FFN)
    assert np.isfinite(importance.heads).all() and np.isfinite(importance.neurons).all()
    assert (importance.heads >= 0).all() and importance.heads.sum() > 0 and importance.neurons.sum() > 0
    assert importance.sentences == len(data)


def test_importance_is_the_mask_gradient():
    """∂L/∂m for one head, by finite differences on a scaled head, gives one batch's Taylor and Fisher scores."""
    model = four_head_bert()
    batch = random_encoded(8, seed=3, max_len=20)
    taylor = unit_importance(model, batch, batch_size=8, score="taylor").heads[1, 2]
    fisher = unit_importance(model, batch, batch_size=8, score="fisher").heads[1, 2]
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    (ids, mask), = padded_batches(batch, 8)
    kernel = next(v for v in model.weights if "layer_._1/attention/output/dense/kernel" in v.name)
    original = kernel.numpy()

    def loss_at(scale):
        scaled = original.copy()
        scaled[8:12] *= scale  # head 2's rows (head size 4)
        kernel.assign(scaled)
        return float(loss(batch.labels, model(input_ids=ids, attention_mask=mask, training=False).logits))

    eps = 1e-2
    derivative = (loss_at(1 + eps) - loss_at(1 - eps)) / (2 * eps)
    kernel.assign(original)
    np.testing.assert_allclose(taylor, abs(derivative), rtol=2e-2, atol=1e-6)
    np.testing.assert_allclose(fisher, derivative**2, rtol=4e-2, atol=1e-8)


def test_only_bert_is_supported(data):
    with pytest.raises(ParamsError):
        unit_importance(tiny_model("distilbert"), data)
