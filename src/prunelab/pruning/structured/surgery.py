"""Weight surgery: the kept units of a Hugging Face BERT, sliced into a ``PrunedBert``.

A head's units are its ``head_size`` columns of the Q/K/V kernels and biases and its rows of
the attention output kernel; a neuron's, its column of the FFN input kernel and bias and its
row of the FFN output kernel. Slicing them out computes exactly what zeroing them in the
full model would, so the smaller model starts from the dense model's function minus the
removed units, and only whole-layer removal differs: a layer with no units still adds its
output biases and LayerNorms, which skipping it drops.
"""

from __future__ import annotations

import numpy as np

from prunelab.model.checkpoint import canonical_name
from prunelab.pruning.structured.model import PrunedBert, check_bert, head_size
from prunelab.pruning.structured.plan import StructuredPlan


def build_pruned(model, plan: StructuredPlan) -> PrunedBert:
    """A ``PrunedBert`` holding the units of the HF ``model`` that ``plan`` keeps."""
    check_bert(model)
    if plan.num_layers != model.config.num_hidden_layers:
        raise ValueError("the plan and the model have different numbers of layers")
    pruned = PrunedBert(model.config, plan).build_variables()
    _assign(pruned, _sliced_state(model, plan))
    return pruned


def _head_columns(heads, d: int) -> np.ndarray:
    """The columns of a Q/K/V kernel (rows of the attention output kernel) that ``heads`` own."""
    return np.array([h * d + j for h in heads for j in range(d)], dtype=np.int64)


def _sliced_state(model, plan: StructuredPlan) -> dict[str, np.ndarray]:
    """The HF model's weights by canonical name, sliced to what ``plan`` keeps."""
    state = {canonical_name(v.name): v.numpy() for v in model.weights}
    d = head_size(model.config)
    for i in range(plan.num_layers):
        prefix = f"bert/encoder/layer_._{i}/"
        columns, neurons = _head_columns(plan.heads[i], d), np.array(plan.neurons[i], dtype=np.int64)
        for part in ("query", "key", "value"):
            state[f"{prefix}attention/self/{part}/kernel"] = state[f"{prefix}attention/self/{part}/kernel"][:, columns]
            state[f"{prefix}attention/self/{part}/bias"] = state[f"{prefix}attention/self/{part}/bias"][columns]
        state[f"{prefix}attention/output/dense/kernel"] = state[f"{prefix}attention/output/dense/kernel"][columns]
        state[f"{prefix}intermediate/dense/kernel"] = state[f"{prefix}intermediate/dense/kernel"][:, neurons]
        state[f"{prefix}intermediate/dense/bias"] = state[f"{prefix}intermediate/dense/bias"][neurons]
        state[f"{prefix}output/dense/kernel"] = state[f"{prefix}output/dense/kernel"][neurons]
    return state


def _assign(model: PrunedBert, state: dict[str, np.ndarray]) -> None:
    for variable in model.weights:
        name = canonical_name(variable.name)
        if name not in state:
            raise KeyError(f"no weights for {name}")
        if tuple(variable.shape) != state[name].shape:
            raise ValueError(f"{name}: shape {state[name].shape}, expected {tuple(variable.shape)}")
        variable.assign(state[name])
