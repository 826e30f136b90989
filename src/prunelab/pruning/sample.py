"""The training sentences a pruning method reads: a seeded sample, the same for every method at one seed."""

from __future__ import annotations

import numpy as np

from prunelab.data.batching import Encoded


def calibration_sample(train: Encoded, size: int, seed: int) -> Encoded:
    """A seeded sample of the training subset: the inputs one-shot methods and structured importance see."""
    picked = np.random.default_rng(seed).permutation(len(train))[: min(size, len(train))]
    return train.take(picked)
