"""Mask policy: from scores to keep-masks at an exact sparsity.

``global`` ranks every prunable weight together, so layers whose weights matter
less give up more; ``per_layer`` prunes each kernel to the same sparsity;
``per_output`` prunes every output (a column of a Keras kernel, [inputs, outputs])
to the same sparsity, each ranking its own inputs, as Wanda does.
Exactly ``round(sparsity * n)`` weights go in each ranking pool, however many
scores are equal (already-pruned zeros, for instance).

N:M semi-structured sparsity (``n_m=(2, 4)``) replaces the scope: in every group
of M consecutive inputs of an output, the N highest scores are kept, the pattern
sparse tensor cores accelerate. ``check_n_m`` verifies it on exported weights.
"""

from __future__ import annotations

import numpy as np

from prunelab.errors import ParamsError

SCOPES = ("global", "per_layer", "per_output")


class NMPatternError(RuntimeError):
    """A tensor that should hold N:M sparsity does not."""


def select_masks(scores: dict[str, np.ndarray], sparsity: float, scope: str,
                 n_m: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    if not 0.0 <= sparsity < 1.0:
        raise ParamsError(f"sparsity {sparsity} must be in [0, 1).")
    if scope not in SCOPES:
        raise ParamsError(f"prune.scope {scope!r} is not one of {', '.join(SCOPES)}.")
    if n_m is not None:
        n, m = check_n_m_sparsity(n_m, sparsity)
        if sparsity == 0.0:
            return {name: np.ones(s.shape, dtype=bool) for name, s in scores.items()}
        return select_nm_masks(scores, n, m)
    if scope == "global":
        names = list(scores)
        flat_keep = _keep_highest(np.concatenate([scores[n].ravel() for n in names]), sparsity)
        pieces = np.split(flat_keep, np.cumsum([scores[n].size for n in names])[:-1])
        return {n: piece.reshape(scores[n].shape) for n, piece in zip(names, pieces)}
    if scope == "per_layer":
        return {n: _keep_highest(s.ravel(), sparsity).reshape(s.shape) for n, s in scores.items()}
    return {n: _keep_highest_per_output(_as_kernel(n, s), sparsity) for n, s in scores.items()}


def select_nm_masks(scores: dict[str, np.ndarray], n: int, m: int) -> dict[str, np.ndarray]:
    """Keep the ``n`` highest scores of every ``m`` consecutive inputs (axis 0) of every output."""
    _check_pattern(n, m)
    masks = {}
    for name, s in scores.items():
        groups = _nm_groups(name, _as_kernel(name, s), m)  # [in / m, m, out]
        keep = np.ones(groups.shape, dtype=bool)
        np.put_along_axis(keep, np.argpartition(groups, m - n - 1, axis=1)[:, : m - n], False, axis=1)
        masks[name] = keep.reshape(s.shape)
    return masks


def check_n_m(array: np.ndarray, n: int, m: int, name: str = "tensor") -> None:
    """Raise NMPatternError unless every ``m`` consecutive inputs of every output hold at most ``n`` nonzeros."""
    nonzeros = np.count_nonzero(_nm_groups(name, _as_kernel(name, np.asarray(array)), m), axis=1)  # [in/m, out]
    bad = np.argwhere(nonzeros > n)
    if bad.size:
        group, column = bad[0]
        raise NMPatternError(
            f"{name} breaks {n}:{m} sparsity: inputs {group * m}..{group * m + m - 1} of output {column} hold "
            f"{nonzeros[group, column]} nonzeros (at most {n} allowed); {len(bad)} of {nonzeros.size} groups break it."
        )


def check_n_m_sparsity(n_m: tuple[int, int], sparsity: float) -> tuple[int, int]:
    """N:M fixes the sparsity at 1 - N/M; anything else (but 0, nothing pruned yet) is refused."""
    n, m = _check_pattern(*n_m)
    if sparsity != 0.0 and abs(sparsity - (1 - n / m)) > 1e-9:
        raise ParamsError(f"{n}:{m} sparsity prunes exactly {1 - n / m:g} of the weights, not {sparsity}; "
                          f"set prune.sparsity to {1 - n / m:g}.")
    return n, m


def _check_pattern(n: int, m: int) -> tuple[int, int]:
    if not 0 < n < m:
        raise ParamsError(f"N:M pattern {n}:{m} needs 0 < N < M.")
    return int(n), int(m)


def _keep_highest(flat_scores: np.ndarray, sparsity: float) -> np.ndarray:
    """Prunes every score below the ``n_pruned``-th smallest and, of the scores equal to it, the first
    ones by position: the same count whatever the ties, and the same mask on every machine."""
    n_pruned = int(round(sparsity * flat_scores.size))
    keep = np.ones(flat_scores.size, dtype=bool)
    if not n_pruned:
        return keep
    threshold = _nth_smallest(flat_scores, n_pruned)
    below = flat_scores < threshold
    keep[below] = False
    keep[np.flatnonzero(flat_scores == threshold)[: n_pruned - np.count_nonzero(below)]] = False
    return keep


def _nth_smallest(flat_scores: np.ndarray, n: int):
    """The ``n``-th smallest score. During a gradual ramp the weights pruned so far all score the floor
    (zero); numpy's selection slows several-fold on that many equal keys, so they are counted, not ranked."""
    floor = flat_scores.min()
    at_floor = flat_scores == floor
    n_floor = int(np.count_nonzero(at_floor))
    if n <= n_floor:
        return floor
    return np.partition(flat_scores[~at_floor], n - n_floor - 1)[n - n_floor - 1]


def _keep_highest_per_output(scores: np.ndarray, sparsity: float) -> np.ndarray:
    n_pruned = int(round(sparsity * scores.shape[0]))
    keep = np.ones(scores.shape, dtype=bool)
    if n_pruned:
        lowest = np.argpartition(scores, n_pruned - 1, axis=0)[:n_pruned]
        np.put_along_axis(keep, lowest, False, axis=0)
    return keep


def _as_kernel(name: str, array: np.ndarray) -> np.ndarray:
    if array.ndim != 2:
        raise ParamsError(f"{name} has shape {array.shape}; per-output and N:M masks need [inputs, outputs] kernels.")
    return array


def _nm_groups(name: str, kernel: np.ndarray, m: int) -> np.ndarray:
    """[in, out] -> [in / m, m, out]: groups of ``m`` consecutive inputs."""
    if kernel.shape[0] % m:
        raise ParamsError(f"{name} has {kernel.shape[0]} inputs, not a multiple of M={m}; "
                          f"N:M sparsity needs whole groups of {m} (leave this kernel out of prune.targets).")
    return kernel.reshape(kernel.shape[0] // m, m, kernel.shape[1])
