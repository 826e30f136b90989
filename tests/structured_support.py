"""What the structured tests share: a small BERT with uneven plans, and the masked-model oracle."""

import numpy as np
import tensorflow as tf
from transformers import BertConfig, TFBertForSequenceClassification

from conftest import VOCAB
from prunelab.model.checkpoint import canonical_name, weight_group
from prunelab.pruning.structured import StructuredPlan
from prunelab.training.fine_tune import predict_in_memory

LAYERS, HEADS, FFN = 3, 4, 32


def four_head_bert(seed: int = 0, layers: int = LAYERS):
    """3 layers of 4 heads (size 4) and FFN 32, with pooler and classifier scaled up so logits are O(1)."""
    tf.keras.utils.set_random_seed(seed)
    config = BertConfig(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=layers, num_attention_heads=HEADS,
                        intermediate_size=FFN, max_position_embeddings=64, num_labels=2)
    model = TFBertForSequenceClassification(config)
    model(model.dummy_inputs, training=False)
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        if weight_group(variable.name) in ("pooler", "classifier"):
            variable.assign(rng.normal(0, 1, variable.shape).astype(np.float32))
    return model


def logits(model, data, batch_size=8):
    return predict_in_memory(model, data, batch_size)


def random_plan(config, rng: np.random.Generator, neuron_keep: float) -> StructuredPlan:
    """Uneven random plan: 1 to all heads a layer, about ``neuron_keep`` of its neurons."""
    heads, neurons = [], []
    for _ in range(config.num_hidden_layers):
        n_h = int(rng.integers(1, config.num_attention_heads + 1))
        n_n = int(rng.binomial(config.intermediate_size, neuron_keep))
        heads.append(rng.choice(config.num_attention_heads, n_h, replace=False))
        neurons.append(rng.choice(config.intermediate_size, n_n, replace=False))
    return StructuredPlan(heads, neurons)


def mask_model(model, plan: StructuredPlan) -> None:
    """Zero, in place, the weights of the units ``plan`` removes (Q/K/V columns, output rows).

    Removing a unit is exactly zeroing these, so this gives the same logits as
    ``build_pruned(model, plan)`` (before any training) unless layers are dropped.
    """
    d = model.config.hidden_size // model.config.num_attention_heads
    by_name = {canonical_name(v.name): v for v in model.weights}
    for i in range(plan.num_layers):
        prefix = f"bert/encoder/layer_._{i}/"
        head_keep = np.zeros(model.config.hidden_size, dtype=np.float32)
        for h in plan.heads[i]:
            head_keep[h * d : (h + 1) * d] = 1.0
        neuron_keep = np.zeros(model.config.intermediate_size, dtype=np.float32)
        neuron_keep[list(plan.neurons[i])] = 1.0
        scales = {f"attention/self/{part}/{kind}": head_keep for part in ("query", "key", "value")
                  for kind in ("kernel", "bias")}
        scales |= {"attention/output/dense/kernel": head_keep[:, None], "intermediate/dense/kernel": neuron_keep,
                   "intermediate/dense/bias": neuron_keep, "output/dense/kernel": neuron_keep[:, None]}
        for name, scale in scales.items():
            variable = by_name[prefix + name]
            variable.assign(variable * scale)  # [out] scales broadcast over a kernel's columns


def count_parameters(model) -> int:
    return int(sum(int(np.prod(v.shape)) for v in model.weights))


def encoder_parameters(model) -> int:
    """Parameters inside the encoder layers (embeddings, pooler and classifier excluded)."""
    return int(sum(int(np.prod(v.shape)) for v in model.weights if "/encoder/" in v.name))
