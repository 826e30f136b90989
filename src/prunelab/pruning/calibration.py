"""Calibration: statistics of what flows into each pruned Dense layer, over real tokens.

Wanda needs every input feature's norm ||X_j||_2, SparseGPT the Gram matrix
X^T X, where X stacks a layer's inputs for every non-padding token of a few
calibration sentences. Inputs are caught by wrapping the owning
layers' ``call`` during eager forward passes; the wrappers are always removed.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from prunelab.batching import Encoded, padded_batches
from prunelab.errors import ParamsError


@dataclass
class InputStats:
    """One kernel's inputs over the calibration tokens (float64 sums)."""

    tokens: int
    sum_squares: np.ndarray  # [inputs]
    gram: np.ndarray | None = None  # [inputs, inputs] = X^T X, when asked for

    @property
    def norms(self) -> np.ndarray:
        """||X_j||_2 per input feature j."""
        return np.sqrt(self.sum_squares)


def owning_layers(model, variables: dict[str, tf.Variable]) -> dict[str, tf.keras.layers.Layer]:
    """The layer whose ``kernel`` is each variable."""
    by_id = {id(v): name for name, v in variables.items()}
    layers = {by_id[id(layer.kernel)]: layer for layer in model.submodules
              if getattr(layer, "kernel", None) is not None and id(layer.kernel) in by_id}
    missing = [name for name in variables if name not in layers]
    if missing:
        raise ParamsError(f"no Dense layer owns {missing[:3]}; calibrated pruning needs layer kernels "
                          "(prune.targets attention, ffn, pooler or classifier).")
    return layers


@contextmanager
def capturing_inputs(layers: dict[str, tf.keras.layers.Layer], record: Callable[[str, tf.Tensor], None]):
    """Call ``record(name, inputs)`` whenever a layer runs; restore every layer's ``call`` afterwards."""
    wrapped = []  # (layer, the instance attribute ``call`` it had before, usually none)
    try:
        for name, layer in layers.items():
            def call(inputs, *args, _name=name, _call=layer.call, **kwargs):
                record(_name, inputs)
                return _call(inputs, *args, **kwargs)

            wrapped.append((layer, layer.__dict__.get("call")))
            layer.call = call  # an instance attribute shadows the class's method
        yield
    finally:
        for layer, previous in wrapped:
            if previous is None:
                del layer.call
            else:
                layer.call = previous


def collect_input_stats(model, variables: dict[str, tf.Variable], data: Encoded, batch_size: int = 32,
                        gram: bool = False) -> dict[str, InputStats]:
    """Per kernel: token count, per-feature sum of squares and (``gram=True``) X^T X of its inputs."""
    stats = {name: InputStats(0, np.zeros(v.shape[0]), np.zeros((v.shape[0], v.shape[0])) if gram else None)
             for name, v in variables.items()}
    real_tokens = None  # the current batch's attention mask, as booleans
    waiting = set()  # kernels whose inputs the current batch has not reached yet

    def record(name: str, inputs: tf.Tensor) -> None:
        x = inputs.numpy().astype(np.float64)
        # [batch, seq, in] inputs drop padding; [batch, in] ones (pooler, head) are one row per sentence.
        x = x[real_tokens] if x.ndim == real_tokens.ndim + 1 else x.reshape(-1, x.shape[-1])
        entry = stats[name]
        entry.tokens += len(x)
        entry.sum_squares += np.einsum("ti,ti->i", x, x)
        if entry.gram is not None:
            entry.gram += x.T @ x
        waiting.discard(name)
        if not waiting:
            raise _AllInputsSeen  # SparseGPT asks for one layer at a time: the layers above it can be skipped

    with capturing_inputs(owning_layers(model, variables), record):
        for ids, mask in padded_batches(data.take(data.length_order()), batch_size):
            real_tokens, waiting = mask.astype(bool), set(variables)
            try:
                model(input_ids=tf.constant(ids), attention_mask=tf.constant(mask), training=False)
            except _AllInputsSeen:
                pass
    return stats


class _AllInputsSeen(Exception):
    """Stops a calibration forward pass once every kernel asked about has had its inputs."""
