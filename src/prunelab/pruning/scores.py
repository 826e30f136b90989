"""Scoring rules: how much each weight matters. Higher scores are kept."""

from __future__ import annotations

import numpy as np


def magnitude(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """|w|: the classic rule (Han et al. 2015; TF-MOT's ``prune_low_magnitude``)."""
    return {name: np.abs(w) for name, w in weights.items()}


SCORING_RULES = {"magnitude": magnitude}
