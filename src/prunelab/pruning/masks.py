"""Mask policy: from scores to keep-masks at an exact sparsity.

``global`` ranks every prunable weight together, so layers whose weights matter
less give up more; ``per_layer`` prunes each kernel to the same sparsity.
Exactly ``round(sparsity * n)`` weights go in each ranking pool, however many
scores are equal (already-pruned zeros, for instance).
"""

from __future__ import annotations

import numpy as np

from prunelab.errors import ParamsError

SCOPES = ("global", "per_layer")


def select_masks(scores: dict[str, np.ndarray], sparsity: float, scope: str) -> dict[str, np.ndarray]:
    if not 0.0 <= sparsity < 1.0:
        raise ParamsError(f"sparsity {sparsity} must be in [0, 1).")
    if scope == "global":
        names = list(scores)
        flat_keep = _keep_highest(np.concatenate([scores[n].ravel() for n in names]), sparsity)
        pieces = np.split(flat_keep, np.cumsum([scores[n].size for n in names])[:-1])
        return {n: piece.reshape(scores[n].shape) for n, piece in zip(names, pieces)}
    if scope == "per_layer":
        return {n: _keep_highest(s.ravel(), sparsity).reshape(s.shape) for n, s in scores.items()}
    raise ParamsError(f"prune.scope {scope!r} is not one of {', '.join(SCOPES)}.")


def _keep_highest(flat_scores: np.ndarray, sparsity: float) -> np.ndarray:
    n_pruned = int(round(sparsity * flat_scores.size))
    keep = np.ones(flat_scores.size, dtype=bool)
    if n_pruned:
        keep[np.argpartition(flat_scores, n_pruned - 1, kind="introselect")[:n_pruned]] = False
    return keep
