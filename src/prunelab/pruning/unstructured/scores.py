"""Scoring rules: how much each weight matters. Higher scores are kept.

Every rule is ``rule(weights, stats) -> scores``: ``weights`` maps canonical names
to Keras kernels ([inputs, outputs]), ``stats`` maps the same names to
``calibration.InputStats`` for the rules in ``NEEDS_CALIBRATION`` and is None for
the others, which ignore it.
"""

from __future__ import annotations

import numpy as np

from prunelab.errors import ParamsError


def magnitude(weights: dict[str, np.ndarray], stats=None) -> dict[str, np.ndarray]:
    """|w|: the classic rule (Han et al. 2015; TF-MOT's ``prune_low_magnitude``)."""
    return {name: np.abs(w) for name, w in weights.items()}


def wanda(weights: dict[str, np.ndarray], stats) -> dict[str, np.ndarray]:
    """|w_ij| * ||X_i||_2 (Sun et al. 2023): a weight matters as much as the inputs it multiplies.

    ``X_i`` is input feature i over the calibration tokens; it scales row i of a
    Keras kernel. The paper compares scores within an output (``per_output`` scope).
    """
    missing = [name for name in weights if name not in (stats or {})]
    if missing:
        raise ParamsError(f"wanda needs calibration statistics for {missing[:3]}; none were collected.")
    return {name: np.abs(w) * stats[name].norms.astype(w.dtype)[:, None] for name, w in weights.items()}


SCORING_RULES = {"magnitude": magnitude, "wanda": wanda}
NEEDS_CALIBRATION = frozenset({"wanda"})  # rules that read input statistics (``calibration.collect_input_stats``)
