"""How much each attention head and FFN neuron matters: mask-gradient scores on calibration sentences.

A unit's score is the gradient of the classification loss with respect to a multiplicative
mask on its output (Michel et al. 2019): a first-order estimate of the loss change if the
unit were removed. No hooks are needed. A head's output enters the model only through its
rows of the attention output kernel, so ``∂L/∂m_head = Σ W_O[rows] ⊙ ∂L/∂W_O[rows]`` exactly;
likewise a neuron's mask gradient is ``Σ W_out[row] ⊙ ∂L/∂W_out[row]`` over its row of the
FFN output kernel. (The Q/K/V terms are *not* part of the mask gradient, so they are left out.)

Batches are summed as ``g²`` (``"fisher"``, the default, Kwon et al. 2022) or ``|g|``
(``"taylor"``). Fisher is the default because ``|g|`` summed over many small, noisy units
inflates the FFN neurons' total against the heads', so Taylor plans give up heads that
matter. Scores are per batch: ``batch_size=1`` gives the per-example estimate; larger
batches are cheaper and rank the units much the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from prunelab.data.batching import Encoded, padded_batches
from prunelab.errors import ParamsError
from prunelab.model.checkpoint import canonical_name
from prunelab.pruning.structured.model import check_bert, head_size

SCORES = ("taylor", "fisher")


@dataclass(frozen=True)
class Importance:
    heads: np.ndarray  # [layers, heads]
    neurons: np.ndarray  # [layers, intermediate_size]
    sentences: int
    score: str


def _unit_kernels(model) -> tuple[list[tf.Variable], list[tf.Variable]]:
    """Per layer, the attention output kernel and the FFN output kernel (the units' only exits)."""
    by_name = {canonical_name(v.name): v for v in model.weights}
    layers = range(model.config.num_hidden_layers)
    attention = [by_name[f"bert/encoder/layer_._{i}/attention/output/dense/kernel"] for i in layers]
    ffn = [by_name[f"bert/encoder/layer_._{i}/output/dense/kernel"] for i in layers]
    return attention, ffn


def unit_importance(model, data: Encoded, batch_size: int = 8, score: str = "fisher",
                    max_sentences: int | None = 256) -> Importance:
    """Mask-gradient importance of every head and FFN neuron of a ``TFBertForSequenceClassification``.

    ``data``: labelled calibration sentences (training data; the first ``max_sentences``
    are used, in order). Each batch contributes ``(∂L/∂m)²`` (fisher) or ``|∂L/∂m|``
    (taylor), with ``L`` the batch's mean cross-entropy; dropout is off.
    """
    check_bert(model)
    if score not in SCORES:
        raise ParamsError(f"structured importance score {score!r} is not one of {', '.join(SCORES)}.")
    if max_sentences is not None and len(data) > max_sentences:
        data = Encoded(data.token_ids[:max_sentences], data.labels[:max_sentences], data.pad_id)
    config = model.config
    n_layers, n_heads, d = config.num_hidden_layers, config.num_attention_heads, head_size(config)
    attention_kernels, ffn_kernels = _unit_kernels(model)
    variables = attention_kernels + ffn_kernels
    cross_entropy = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[spec, spec, tf.TensorSpec([None], tf.int32)], autograph=False)  # as train_step
    def mask_gradients(input_ids, attention_mask, labels):
        with tf.GradientTape() as tape:
            logits = model(input_ids=input_ids, attention_mask=attention_mask, training=False).logits
            loss = cross_entropy(labels, logits)
        grads = tape.gradient(loss, variables)
        per_row = [tf.reduce_sum(v * g, axis=1) for v, g in zip(variables, grads)]
        heads = tf.stack([tf.reduce_sum(tf.reshape(r, [n_heads, d]), axis=1) for r in per_row[:n_layers]])
        return heads, tf.stack(per_row[n_layers:])

    heads = np.zeros((n_layers, n_heads), dtype=np.float64)
    neurons = np.zeros((n_layers, config.intermediate_size), dtype=np.float64)
    reduce = np.abs if score == "taylor" else np.square
    start = 0
    for ids, mask in padded_batches(data, batch_size):
        labels = data.labels[start : start + len(ids)]
        start += len(ids)
        g_heads, g_neurons = mask_gradients(tf.constant(ids), tf.constant(mask), tf.constant(labels))
        heads += reduce(g_heads.numpy().astype(np.float64))
        neurons += reduce(g_neurons.numpy().astype(np.float64))
    return Importance(heads, neurons, len(data), score)
