"""Calibration: statistics of what flows into each pruned Dense layer, over real tokens.

Wanda needs every input feature's norm ||X_j||_2, SparseGPT the Gram matrix
X^T X, where X stacks a layer's inputs for every non-padding token of a few
calibration sentences. Inputs are caught by wrapping the owning
layers' ``call`` during eager forward passes; the wrappers are always removed.
``LayerByLayer`` serves SparseGPT, which calibrates one encoder layer after another.
SNIP reads gradients instead: ``collect_gradient_scores`` sums |w · ∂L/∂w| over
labelled batches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from prunelab.data.batching import Encoded, padded_batches
from prunelab.errors import ParamsError
from prunelab.model.checkpoint import encoder_layer_index


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
def calls_replaced(replacements: list[tuple[tf.keras.layers.Layer, Callable[[Callable], Callable]]]):
    """Shadow each layer's ``call`` with ``make(its call)``; restore every layer's ``call`` afterwards."""
    wrapped = []  # (layer, the instance attribute ``call`` it had before, usually none)
    try:
        for layer, make in replacements:
            wrapped.append((layer, layer.__dict__.get("call")))
            layer.call = make(layer.call)  # an instance attribute shadows the class's method
        yield
    finally:
        for layer, previous in reversed(wrapped):
            if previous is None:
                del layer.call
            else:
                layer.call = previous


def capturing_inputs(layers: dict[str, tf.keras.layers.Layer], record: Callable[[str, tf.Tensor], None]):
    """Call ``record(name, inputs)`` whenever a layer runs; restore every layer's ``call`` afterwards."""
    return calls_replaced([(layer, _first(functools.partial(record, name))) for name, layer in layers.items()])


def _first(action: Callable[[tf.Tensor], None]):
    """For ``calls_replaced``: ``action(inputs)``, then the layer's own call."""
    def make(call):
        def wrapped(inputs, *args, **kwargs):
            action(inputs)
            return call(inputs, *args, **kwargs)
        return wrapped
    return make


def collect_input_stats(model, variables: dict[str, tf.Variable], data: Encoded, batch_size: int = 32,
                        gram: bool = False) -> dict[str, InputStats]:
    """Per kernel: token count, per-feature sum of squares and (``gram=True``) X^T X of its inputs."""
    return _collect(model, variables, calibration_batches(data, batch_size), gram)


def collect_gradient_scores(model, variables: dict[str, tf.Variable], data: Encoded,
                            batch_size: int = 8) -> dict[str, np.ndarray]:
    """Per kernel, Σ_b |w · ∂L_b/∂w| over batches b of ``data`` (labelled), L_b a batch's mean cross-entropy.

    Small batches, as the structured importance's: each product is one more estimate of the loss
    change, and the batches are ordered by length, so little of the compute goes to padding.
    """
    order = data.length_order()
    names = list(variables)
    kernels = [variables[name] for name in names]
    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[spec, spec, tf.TensorSpec([None], tf.int32)], autograph=False)
    def products(input_ids, attention_mask, labels):
        with tf.GradientTape() as tape:
            logits = model(input_ids=input_ids, attention_mask=attention_mask, training=False).logits
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        return [tf.abs(w * g) for w, g in zip(kernels, tape.gradient(loss, kernels))]

    sums = {name: np.zeros(variables[name].shape, dtype=np.float64) for name in names}
    labels = data.labels[order]
    for start, (ids, mask) in zip(range(0, len(data), batch_size), calibration_batches(data, batch_size)):
        batch = products(tf.constant(ids), tf.constant(mask), tf.constant(labels[start : start + len(ids)]))
        for name, product in zip(names, batch):
            sums[name] += product.numpy()
    return sums


def calibration_batches(data: Encoded, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return padded_batches(data.take(data.length_order()), batch_size)


class LayerByLayer:
    """Input statistics of one encoder layer at a time, each layer's inputs coming through the layers below as
    they are now (SparseGPT prunes a layer before it calibrates the next).

    Running the model from the embeddings for every layer would recompute every layer beneath it, each
    time. Instead each calibrated encoder layer's inputs are kept, batch by batch; the next pass starts
    from them: the layers beneath return what was kept, and only the layer in between runs, as it is now.
    The statistics are the same as ``collect_input_stats``'s from the whole model.
    """

    def __init__(self, model, data: Encoded, batch_size: int):
        self.model = model
        self.batches = calibration_batches(data, batch_size)
        self.encoder_layers = encoder_layers(model)
        self.kept_layer: int | None = None  # the encoder layer whose inputs ``kept`` holds, per batch
        self.kept: list[tf.Tensor] = []

    def input_stats(self, variables: dict[str, tf.Variable], gram: bool = False) -> dict[str, InputStats]:
        """``collect_input_stats`` of ``variables``, which must not lie below an encoder layer calibrated before."""
        indices = {encoder_layer_index(name) for name in variables}
        layer = indices.pop() if len(indices) == 1 else None  # None: outside the encoder, or several layers
        if self.kept_layer is not None and layer is not None and layer < self.kept_layer:
            raise ValueError(f"encoder layer {layer} lies below layer {self.kept_layer}, calibrated before")
        position = {"batch": 0}  # which batch the pass is at, for the layers that return what was kept
        replacements = []
        if self.kept_layer is not None:
            # Hugging Face's encoders take a layer's hidden states from its outputs' first (BERT) or last
            # (DistilBERT) element: without attentions asked for, the only one.
            kept = self.kept
            replacements += [(beneath, lambda call: lambda *a, **k: (kept[position["batch"]],))
                             for index, beneath in self.encoder_layers.items() if index < self.kept_layer]
        inputs: list[tf.Tensor] = []
        if layer is not None:
            replacements.append((self.encoder_layers[layer], _first(inputs.append)))
        with calls_replaced(replacements):
            stats = _collect(self.model, variables, self.batches, gram, position)
        if layer is not None:
            self.kept_layer, self.kept = layer, inputs
        return stats


def encoder_layers(model) -> dict[int, tf.keras.layers.Layer]:
    """The encoder's layers by index: the modules whose own name is the ``layer_._<i>`` scope of their variables."""
    layers = {}
    for module in model.submodules:
        index = encoder_layer_index(module.name + "/")
        if index is not None:
            layers[index] = module
    return layers


def _collect(model, variables: dict[str, tf.Variable], batches, gram: bool,
             position: dict | None = None) -> dict[str, InputStats]:
    """The statistics over ``batches``; ``position["batch"]`` is set to each batch's number before it runs."""
    stats = {name: InputStats(0, np.zeros(v.shape[0]), np.zeros((v.shape[0], v.shape[0])) if gram else None)
             for name, v in variables.items()}
    real_tokens = None  # the current batch's attention mask, as booleans
    waiting = set()  # kernels whose inputs the current batch has not reached yet
    position = {} if position is None else position

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
        for number, (ids, mask) in enumerate(batches):
            position["batch"], real_tokens, waiting = number, mask.astype(bool), set(variables)
            try:
                model(input_ids=tf.constant(ids), attention_mask=tf.constant(mask), training=False)
            except _AllInputsSeen:
                pass
    return stats


class _AllInputsSeen(Exception):
    """Stops a calibration forward pass once every kernel asked about has had its inputs."""
