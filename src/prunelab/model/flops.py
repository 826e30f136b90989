"""Encoder FLOPs: the cost model structured pruning plans with and evaluation reports.

Both count the same two terms, so a plan's predicted cost is what the exported model
is later measured at:

- every projection kernel ``[in, out]`` costs ``2·in·out`` a token (2 FLOPs per multiply-add):
  a layer's Q/K/V/O projections ``8·hidden·(heads·head_size)``, its FFN ``4·hidden·width``;
- attention scores and context cost ``4·length·(heads·head_size)`` a token.

Embeddings, LayerNorms, softmax, biases, pooler and classifier are left out: they do not
shrink with the units structured pruning removes. Zeros inside a kernel still count, so
only removed units (smaller kernels) lower the figure.
"""

from __future__ import annotations

import re

import numpy as np

from prunelab.model.checkpoint import weight_group

_QUERY_KERNEL = re.compile(r"(query|q_lin)/kernel")


def projection_flops(in_dim: int, out_dim: int) -> float:
    """FLOPs a token of one dense kernel ``[in_dim, out_dim]``."""
    return 2.0 * in_dim * out_dim


def attention_flops(width: int, length: float) -> float:
    """FLOPs a token of the scores (QKᵀ) and the context (PV) over ``length`` tokens, ``width`` the query width."""
    return 4.0 * length * width


def layer_flops(hidden_size: int, attention_width: int, ffn_width: int, length: float) -> float:
    """FLOPs a token of one encoder layer: four projections and attention over its heads, two FFN kernels."""
    return (4 * projection_flops(hidden_size, attention_width) + attention_flops(attention_width, length)
            + 2 * projection_flops(hidden_size, ffn_width))


def unit_flops(config, length: float) -> tuple[float, float]:
    """FLOPs a token of one attention head and of one FFN neuron."""
    head_size = config.hidden_size // config.num_attention_heads
    return layer_flops(config.hidden_size, head_size, 0, length), layer_flops(config.hidden_size, 0, 1, length)


def plan_flops(plan, config, length: float) -> float:
    """Encoder FLOPs a token of the model a ``structured.StructuredPlan`` keeps (``config``: the dense model's).

    The plan is not imported here, so that evaluation's FLOPs do not depend on structured pruning's code.
    """
    head_size = config.hidden_size // config.num_attention_heads
    total = 0.0
    for heads, width in zip(plan.heads_per_layer(), plan.ffn_widths(), strict=True):
        total += layer_flops(config.hidden_size, heads * head_size, width, length)
    return total


def dense_encoder_flops(config, length: float) -> float:
    """Encoder FLOPs a token of the unpruned model."""
    head_size = config.hidden_size // config.num_attention_heads
    return sum((layer_flops(config.hidden_size, config.num_attention_heads * head_size, config.intermediate_size,
                            length) for _ in range(config.num_hidden_layers)), 0.0)


def encoder_flops(weights: dict[str, np.ndarray], length: float) -> float:
    """FLOPs of one sentence of ``length`` tokens through the encoder, read off the kernel shapes.

    Every attention and FFN kernel (``checkpoint.weight_group``) is a projection; each query
    kernel adds the attention over its width. BERT and DistilBERT names are recognised.
    """
    per_token = 0.0
    for name, w in weights.items():
        if weight_group(name) in ("attention", "ffn"):
            per_token += projection_flops(w.shape[0], w.shape[1])
            if _QUERY_KERNEL.search(name):
                per_token += attention_flops(w.shape[1], length)
    return per_token * length
