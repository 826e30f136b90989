"""Scoring rules: how much each weight matters. Higher scores are kept.

Every rule is ``rule(weights, stats) -> scores``: ``weights`` maps canonical names
to Keras kernels ([inputs, outputs]); ``stats`` maps the same names to what the rule
reads besides the weights (None for magnitude): ``calibration.InputStats`` for Wanda,
gradient sums for the first-order rules, which the method's module collects
(``methods.<method>.collect_stats``, or the training steps for movement).
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


def snip(weights: dict[str, np.ndarray], stats) -> dict[str, np.ndarray]:
    """Σ_b |w · ∂L_b/∂w| over calibration batches b (SNIP, Lee et al. 2019; the first-order Taylor
    estimate of the loss change from removing w, Molchanov et al. 2019).

    The products are taken batch by batch, at the weights of the moment
    (``calibration.collect_gradient_scores``): summing the gradients first would let batches cancel,
    and a fine-tuned model's mean gradient is close to zero.
    """
    return _read(weights, stats, "snip")


def movement(weights: dict[str, np.ndarray], stats) -> dict[str, np.ndarray]:
    """−w · ∂L/∂w of every fine-tuning step so far, each step's Adam-normalised (movement pruning, Sanh et
    al. 2020): weights that fine-tuning keeps pushing away from zero score high, those it keeps pulling
    towards zero low, whatever their size.

    The training steps accumulate the sums (``methods.movement``).
    """
    return _read(weights, stats, "movement")


def _read(weights, stats, rule: str) -> dict[str, np.ndarray]:
    missing = [name for name in weights if name not in (stats or {})]
    if missing:
        raise ParamsError(f"{rule} needs gradient sums for {missing[:3]}; none were collected.")
    return {name: np.asarray(stats[name]) for name in weights}


SCORING_RULES = {"magnitude": magnitude, "wanda": wanda, "snip": snip, "movement": movement}
# Rules that read statistics of a calibration sample, collected before pruning by their method's module.
NEEDS_CALIBRATION = frozenset({"wanda", "snip"})
