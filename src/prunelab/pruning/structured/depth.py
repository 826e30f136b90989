"""Layer removal: which whole encoder layers to skip (the seed's LayerDrop question, Fan et al. 2019).

Width pruning (``selection``) removes heads and neurons from every layer; depth pruning removes
whole layers and keeps the others intact, so the model runs fewer sequential steps, which is
what batch-1 latency pays for. Which layers: greedily, the one whose skipping raises the
cross-entropy on the calibration sentences least, measured with the layers already skipped
left out (the measured-loss variant of Sajjad et al. 2020's layer-dropping strategies).
The order serves every FLOPs target: a target keeps as many whole layers as fit it, and the
first layers of the order go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from prunelab.data.batching import Encoded, padded_batches
from prunelab.errors import ParamsError
from prunelab.pruning.structured.model import check_bert
from prunelab.pruning.structured.plan import StructuredPlan
from prunelab.pruning.structured.selection import plan_report
from prunelab.pruning.unstructured.calibration import calls_replaced, encoder_layers


@dataclass(frozen=True)
class LayerOrder:
    """The encoder layers in the order greedy removal takes them, and the calibration loss after each."""

    removal_order: tuple[int, ...]
    losses: tuple[float, ...]  # losses[0]: every layer kept; losses[j]: the first j layers of the order skipped
    sentences: int


def layer_removal_order(model, data: Encoded, batch_size: int = 32) -> LayerOrder:
    """Greedy removal over ``data`` (labelled calibration sentences); the last layer left is never removed."""
    check_bert(model)
    batches = padded_batches(data.take(data.length_order()), batch_size)
    labels = data.labels[data.length_order()]
    kept = list(range(model.config.num_hidden_layers))
    order, losses = [], [_loss_without(model, [], batches, labels)]
    while len(kept) > 1:
        trial = {i: _loss_without(model, [*order, i], batches, labels) for i in kept}
        best = min(trial, key=trial.get)
        order.append(best)
        losses.append(trial[best])
        kept.remove(best)
    return LayerOrder(tuple(order + kept), tuple(round(x, 6) for x in losses), len(data))


def _loss_without(model, skipped: list[int], batches, labels: np.ndarray) -> float:
    """Mean cross-entropy with the encoder layers ``skipped`` passing their input through unchanged."""
    layers = encoder_layers(model)
    identity = [(layers[i], lambda call: lambda hidden_states, *args, **kwargs: (hidden_states,)) for i in skipped]
    total, start = 0.0, 0
    with calls_replaced(identity):
        for ids, mask in batches:
            logits = model(input_ids=tf.constant(ids), attention_mask=tf.constant(mask), training=False).logits
            batch_labels = labels[start : start + len(ids)]
            total += float(tf.reduce_sum(tf.keras.losses.sparse_categorical_crossentropy(
                batch_labels, logits, from_logits=True)))
            start += len(ids)
    return total / start


def select_layers(order: LayerOrder, config, flops_target: float, seq_len: float) -> tuple[StructuredPlan, dict]:
    """The plan keeping the most whole layers that fit ``flops_target`` (every layer costs the same),
    skipping the first of ``order``; returns it with its report, as ``selection.select_plan`` does."""
    n_layers = config.num_hidden_layers
    keep = math.floor(flops_target * n_layers + 1e-9)
    if keep < 1:
        raise ParamsError(f"structured.flops_target {flops_target} keeps no whole layer of {n_layers}: with "
                          f"structured.criterion depth it must be at least {1 / n_layers:.3f}")
    dropped = set(order.removal_order[: n_layers - keep])
    all_heads, all_neurons = tuple(range(config.num_attention_heads)), tuple(range(config.intermediate_size))
    plan = StructuredPlan([() if i in dropped else all_heads for i in range(n_layers)],
                          [() if i in dropped else all_neurons for i in range(n_layers)], sorted(dropped))
    return plan, plan_report(plan, config, seq_len, flops_target) | {
        "removal_order": list(order.removal_order), "calibration_loss_after_each_removal": list(order.losses)}
