"""From the ``prune`` params to a ready Pruner, for every unstructured method.

``magnitude`` works with any schedule. ``wanda`` and ``sparsegpt`` are one-shot
methods defined on a calibration sample of the training subset, and so is N:M
sparsity (its sparsity is fixed at 1 - N/M): they take the ``oneshot`` schedule,
optionally followed by recovery fine-tuning with the mask held fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prunelab.batching import Encoded
from prunelab.errors import ParamsError
from prunelab.pruning.calibration import collect_input_stats
from prunelab.pruning.masks import SCOPES, check_n_m_sparsity, parse_n_m
from prunelab.pruning.pruner import Pruner, prunable_variables
from prunelab.pruning.schedules import SCHEDULES, make_schedule
from prunelab.pruning.scores import NEEDS_CALIBRATION
from prunelab.pruning.sparsegpt import SPARSEGPT_SCOPES, sparsegpt_prune

METHODS = ("magnitude", "wanda", "sparsegpt")
ONE_SHOT_METHODS = ("wanda", "sparsegpt")


@dataclass(frozen=True)
class PruneSpec:
    method: str
    sparsity: float
    scope: str
    targets: tuple[str, ...]
    schedule: str = "oneshot"
    n_m: tuple[int, int] | None = None
    calibration_size: int = 256
    end_fraction: float = 0.5
    frequency: int = 10

    @classmethod
    def from_params(cls, section: dict, **overrides) -> PruneSpec:
        settings = {
            "method": section["method"], "sparsity": float(section["sparsity"]), "scope": section["scope"],
            "targets": tuple(section["targets"]), "schedule": section["schedule"],
            "n_m": parse_n_m(section["n_m"]) if section.get("n_m") else None,
            "calibration_size": int(section["calibration_size"]), "end_fraction": float(section["end_fraction"]),
            "frequency": int(section["frequency"]),
        }
        spec = cls(**{**settings, **overrides})
        spec.validate()
        return spec

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ParamsError(f"prune.method {self.method!r} is not one of {', '.join(METHODS)}.")
        if not 0.0 < self.sparsity < 1.0:
            raise ParamsError(f"prune.sparsity is {self.sparsity}; it must be strictly between 0 and 1, e.g. 0.5.")
        if self.scope not in SCOPES:
            raise ParamsError(f"prune.scope {self.scope!r} is not one of {', '.join(SCOPES)}.")
        if self.schedule not in SCHEDULES:
            raise ParamsError(f"prune.schedule {self.schedule!r} is not one of {', '.join(SCHEDULES)}.")
        if self.schedule != "oneshot" and (self.method in ONE_SHOT_METHODS or self.n_m):
            what = f"prune.method {self.method}" if self.method in ONE_SHOT_METHODS else "N:M sparsity"
            raise ParamsError(f"{what} prunes once: set prune.schedule to oneshot (recovery still uses prune.epochs).")
        if self.method == "sparsegpt" and self.scope not in SPARSEGPT_SCOPES:
            raise ParamsError(f"SparseGPT prunes each kernel on its own: set prune.scope to one of "
                              f"{', '.join(SPARSEGPT_SCOPES)}, not {self.scope}.")
        if self.n_m:
            check_n_m_sparsity(self.n_m, self.sparsity)
        if self.method in ONE_SHOT_METHODS and self.calibration_size < 1:
            raise ParamsError("prune.calibration_size must be at least 1 sentence.")


def calibration_sample(train: Encoded, size: int, seed: int) -> Encoded:
    """A seeded sample of the training subset: the inputs one-shot methods see."""
    picked = np.random.default_rng(seed).permutation(len(train))[: min(size, len(train))]
    return train.take(picked)


def prepare_pruner(model, spec: PruneSpec, calibration: Encoded, total_steps: int) -> Pruner:
    """A Pruner for ``spec``; SparseGPT has already pruned and repaired the weights when it returns."""
    variables = prunable_variables(model, spec.targets)
    schedule = make_schedule(spec.schedule, spec.sparsity, total_steps, end_fraction=spec.end_fraction,
                             frequency=spec.frequency)
    if spec.method == "sparsegpt":
        sparsegpt_prune(model, variables, calibration, spec.sparsity, n_m=spec.n_m, scope=spec.scope)
        # The kernels now hold SparseGPT's zeros, its smallest weights: magnitude at the same sparsity and
        # granularity selects exactly them, and the Pruner holds them through any recovery.
        return Pruner(variables, "magnitude", spec.scope, schedule, n_m=spec.n_m)
    stats = collect_input_stats(model, variables, calibration) if spec.method in NEEDS_CALIBRATION else None
    return Pruner(variables, spec.method, spec.scope, schedule, stats=stats, n_m=spec.n_m)
