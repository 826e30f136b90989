"""Medians, paired ratios and their 95% intervals, and how a ratio is worded.

Pure numpy: the report and the tests use this without TensorFlow.

A round is the unit of resampling. Within a round every artifact timed the same
inputs within moments of each other, so a burst of load from another process
slows all of them; resampling rounds jointly (a paired bootstrap) keeps that
pairing, and the interval reflects how consistently one artifact beat the other
rather than how much the machine's load drifted during the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 4000


@dataclass(frozen=True)
class Interval:
    """A point estimate and its 95% interval."""

    value: float
    low: float
    high: float

    @property
    def halfwidth(self) -> float:
        return (self.high - self.low) / 2

    def excludes(self, x: float) -> bool:
        return not self.low <= x <= self.high


def median_interval(samples) -> Interval:
    """The median and a distribution-free interval from order statistics.

    The number of samples below the true median is Binomial(n, ½), which gives the
    ranks of the two bounds exactly, with no resampling and no assumption about the
    shape of the latency distribution (which has a long right tail). With fewer than
    six samples no pair of ranks reaches 95%, and the interval is the full range.
    """
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    if n == 0:
        raise ValueError("median_interval needs at least one sample")
    tail = (1 - CONFIDENCE) / 2
    below = 0  # how many order statistics each bound may sit inside the range
    cumulative = 1 / 2**n  # P(no sample below the median); integers keep it exact for any n
    while below + 1 < n - below - 1 and cumulative + math.comb(n, below + 1) / 2**n <= tail:
        below += 1
        cumulative += math.comb(n, below) / 2**n
    return Interval(float(np.median(x)), float(x[below]), float(x[n - 1 - below]))


def paired_ratio(baseline, model, seed: int, resamples: int = RESAMPLES) -> Interval:
    """median(baseline) / median(model), a speed-up above 1, with a 95% paired bootstrap interval.

    ``baseline[i]`` and ``model[i]`` are the times of round i; the same rounds are drawn
    for both in every resample. Percentile interval, seeded, so a rerun on the same
    timings gives the same interval.
    """
    baseline, model = np.asarray(baseline, dtype=float), np.asarray(model, dtype=float)
    if baseline.shape != model.shape or baseline.ndim != 1 or len(baseline) == 0:
        raise ValueError(f"paired_ratio needs equal-length series of rounds, not {baseline.shape} and {model.shape}")
    rounds = np.random.default_rng(seed).integers(0, len(baseline), size=(resamples, len(baseline)))
    ratios = np.median(baseline[rounds], axis=1) / np.median(model[rounds], axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return Interval(float(np.median(baseline) / np.median(model)), float(low), float(high))


def direction(ratio: Interval) -> str:
    """"faster" or "slower" only when the interval leaves out 1.0 (no change); otherwise "none"."""
    if not ratio.excludes(1.0):
        return "none"
    return "faster" if ratio.low > 1.0 else "slower"


def verdict(ratio: float, ci: tuple[float, float]) -> str:
    """How the report words a speed-up (baseline time / model time) and its 95% interval.

    "faster: 1.84× (95% CI 1.79–1.90)", "slower: 0.91× (95% CI 0.88–0.94)", or
    "no measurable change (95% CI 0.97–1.04)". Bounds get a third or fourth decimal
    when two would print a bound of an interval that leaves out 1.0 as "1.00".
    """
    interval = Interval(ratio, *ci)
    low, high = interval.low, interval.high
    digits = 2
    while digits < 4 and direction(interval) != "none" and 1.0 in (round(low, digits), round(high, digits)):
        digits += 1
    bounds = f"95% CI {low:.{digits}f}–{high:.{digits}f}"
    kind = direction(interval)
    if kind == "none":
        return f"no measurable change ({bounds})"
    return f"{kind}: {ratio:.{digits}f}× ({bounds})"
