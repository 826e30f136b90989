"""SparseGPT (Frantar & Alistarh 2023): one-shot pruning that repairs each layer as it prunes.

For a layer with inputs X, SparseGPT removes weights column by column (one input
feature at a time) and spreads each removal's error over the not yet visited
columns, the optimal-brain-surgeon update under the layer's Hessian H = X^T X.
The Cholesky factor of H^-1 makes those updates a sweep; columns go in blocks,
whose masks are chosen when the block starts (the paper's adaptive mask
selection), and later blocks receive a block's errors in one product.

``sparsegpt_layer`` is the solver for one kernel; ``sparsegpt_prune`` runs it
through a model, encoder layer after encoder layer, each layer calibrated on
inputs that went through the already-pruned layers before it; ``prepare_pruner``
prunes a recipe's kernels so and holds their zeros.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from prunelab.data.batching import Encoded
from prunelab.errors import ParamsError
from prunelab.model.checkpoint import encoder_layer_index
from prunelab.pruning.unstructured.calibration import LayerByLayer
from prunelab.pruning.unstructured.masks import check_n_m_sparsity
from prunelab.pruning.unstructured.pruner import Pruner

SPARSEGPT_SCOPES = ("per_output", "per_layer")


def sparsegpt_layer(weight: np.ndarray, gram: np.ndarray, sparsity: float, n_m: tuple[int, int] | None = None,
                    block_size: int = 128, damp: float = 0.01, scope: str = "per_output") -> np.ndarray:
    """Prune a Keras kernel ``weight`` [in, out] whose inputs have Gram matrix ``gram`` = X^T X [in, in].

    Unstructured: exactly ``round(sparsity * in)`` zeros per output (``per_output``) or
    ``round(sparsity * size)`` in the kernel (``per_layer``). With ``n_m=(n, m)``: n
    of every m consecutive inputs of each output survive. Returns the new kernel.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ParamsError(f"sparsity {sparsity} must be in [0, 1).")
    if scope not in SPARSEGPT_SCOPES:
        raise ParamsError(f"SparseGPT prunes each kernel on its own: scope must be one of {SPARSEGPT_SCOPES}.")
    if n_m is not None:
        n, m = check_n_m_sparsity(n_m, sparsity)
        if block_size % m or weight.shape[0] % m:
            raise ParamsError(f"{n}:{m} sparsity needs the inputs ({weight.shape[0]}) and the block size "
                              f"({block_size}) to be multiples of {m}.")
    # The paper's column i (input feature i) is the Keras kernel's row i: working on the kernel as it is
    # lays every column the sweep touches out contiguously (the paper's [out, in] strides each of them).
    w = np.array(weight, dtype=np.float64)
    cols, rows = w.shape
    hessian = np.array(gram, dtype=np.float64)
    dead = np.diag(hessian) == 0  # inputs that never fire: any weight on them is free
    hessian[dead, dead] = 1.0
    hessian[np.diag_indices(cols)] += damp * np.mean(np.diag(hessian))
    # Upper U with H^-1 = U^T U. TensorFlow's factorizations, not numpy's: on a busy machine OpenBLAS's
    # threaded Cholesky of an FFN-sized matrix can take many times longer than its single-threaded one.
    hinv = tf.transpose(tf.linalg.cholesky(tf.linalg.inv(tf.constant(hessian)))).numpy()

    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        block, u_block = w[i1:i2], hinv[i1:i2, i1:i2]  # ``block`` [i2 - i1, out] is a view: updates land in w
        d = np.diag(u_block)
        errors = np.zeros_like(block)
        if n_m is None:
            pruned = _block_mask(block**2 / d[:, None] ** 2, sparsity, i1, i2, rows, scope)
        else:
            pruned = np.zeros(block.shape, dtype=bool)
        for i in range(i2 - i1):
            if n_m is not None and i % m == 0:  # choose this group's mask from its current weights
                saliency = block[i : i + m] ** 2 / d[i : i + m, None] ** 2
                np.put_along_axis(pruned[i : i + m], np.argpartition(saliency, m - n - 1, axis=0)[: m - n],
                                  True, axis=0)
            kept = np.where(pruned[i], 0.0, block[i])
            errors[i] = (block[i] - kept) / d[i]
            block[i:] -= np.outer(u_block[i, i:], errors[i])  # compensate with the columns still to come
            block[i] = kept  # exactly zero where pruned
        w[i2:] -= hinv[i1:i2, i2:].T @ errors  # the lazy update of the later blocks
    return w.astype(weight.dtype)


def _block_mask(saliency: np.ndarray, sparsity: float, i1: int, i2: int, rows: int, scope: str) -> np.ndarray:
    """Prune the lowest saliencies of a block [i2 - i1, out]; counts round cumulatively so the totals are exact."""
    pruned = np.zeros(saliency.shape, dtype=bool)
    if scope == "per_output":
        k = round(sparsity * i2) - round(sparsity * i1)
        if k:
            np.put_along_axis(pruned, np.argpartition(saliency, k - 1, axis=0)[:k], True, axis=0)
    else:
        k = round(sparsity * rows * i2) - round(sparsity * rows * i1)
        if k:
            pruned.ravel()[np.argpartition(saliency.ravel(), k - 1)[:k]] = True
    return pruned


def sparsegpt_prune(model, variables: dict[str, tf.Variable], data: Encoded, sparsity: float,
                    n_m: tuple[int, int] | None = None, batch_size: int = 32, block_size: int = 128,
                    damp: float = 0.01, scope: str = "per_output") -> None:
    """Prune ``variables`` (see ``prunable_variables``) in place, encoder layer by encoder layer.

    Each layer's Gram matrices come from ``data`` run through the model as pruned
    so far; kernels outside the encoder (pooler, head) follow, one at a time.
    """
    calibration = LayerByLayer(model, data, batch_size)
    for group in _layer_groups(variables):
        chosen = {name: variables[name] for name in group}
        stats = calibration.input_stats(chosen, gram=True)
        for name, variable in chosen.items():
            variable.assign(sparsegpt_layer(variable.numpy(), stats[name].gram, sparsity, n_m, block_size, damp,
                                            scope))


def prepare_pruner(model, recipe, variables, schedule, calibration, stats=None) -> Pruner:
    """SparseGPT has already pruned and repaired the weights when this returns."""
    sparsegpt_prune(model, variables, calibration, recipe.sparsity, n_m=recipe.n_m, scope=recipe.scope)
    # The kernels now hold SparseGPT's zeros, its smallest weights: magnitude at the same sparsity and
    # granularity selects exactly them, and the Pruner holds them through any recovery.
    return Pruner(variables, "magnitude", recipe.scope, schedule, n_m=recipe.n_m)


def _layer_groups(variables: dict[str, tf.Variable]) -> list[list[str]]:
    """Names grouped by encoder layer, in depth order; names outside the encoder come last, alone."""
    indices = {name: encoder_layer_index(name) for name in variables}
    layers = sorted({i for i in indices.values() if i is not None})
    return ([[n for n in variables if indices[n] == i] for i in layers]
            + [[n] for n in variables if indices[n] is None])
