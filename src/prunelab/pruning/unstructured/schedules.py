"""When to prune and to what sparsity: TF-MOT's schedules, driven step by step.

- ``oneshot``: the full target at step 0 (``ConstantSparsity``), then the mask is
  held fixed through any recovery fine-tuning;
- ``gradual``: ``PolynomialDecay`` (Zhu & Gupta 2017) ramps sparsity from
  ``initial_sparsity`` to the target between ``begin_fraction`` and ``end_fraction`` of the steps,
  re-ranking every ``frequency`` steps; the remaining steps fine-tune at the
  final mask.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_model_optimization as tfmot

from prunelab.errors import ParamsError

SCHEDULES = ("oneshot", "gradual")


def make_schedule(kind: str, sparsity: float, total_steps: int, end_fraction: float = 0.7,
                  frequency: int = 10, initial_sparsity: float = 0.0, power: int = 3, begin_fraction: float = 0.0):
    if kind == "oneshot":
        return tfmot.sparsity.keras.ConstantSparsity(sparsity, begin_step=0, end_step=0, frequency=1)
    if kind == "gradual":
        if total_steps < 1:
            raise ParamsError("prune.schedule 'gradual' needs fine-tuning steps: set prune.recovery.epochs >= 1.")
        frequency = min(frequency, total_steps)
        # Begin and end on multiples of ``frequency``: TF-MOT only prunes on those steps, and the
        # last of them must reach the target.
        last = (total_steps // frequency) * frequency
        begin_step = min(round(begin_fraction * total_steps / frequency) * frequency, last - frequency)
        ramps = max(1, round((end_fraction - begin_fraction) * total_steps / frequency))
        end_step = min(begin_step + ramps * frequency, last)
        return tfmot.sparsity.keras.PolynomialDecay(
            initial_sparsity, sparsity, begin_step=begin_step, end_step=end_step, power=power,
            frequency=frequency)
    raise ParamsError(f"prune.schedule {kind!r} is not one of {', '.join(SCHEDULES)}.")


def sparsity_at(schedule, step: int) -> float | None:
    """The sparsity to prune to at ``step``, or None when this step does not prune."""
    should_prune, sparsity = schedule(tf.constant(step, tf.int64))
    return float(sparsity) if bool(should_prune) else None
