"""A pruning recipe (method, sparsity, mask scope, schedule) bound to a model as a ready Pruner.

``magnitude`` works with any schedule. ``wanda`` and ``sparsegpt`` are one-shot
methods defined on a calibration sample of the training subset, and so is N:M
sparsity (its sparsity is fixed at 1 - N/M): they take the ``oneshot`` schedule,
optionally followed by recovery fine-tuning with the mask held fixed. Which
combinations are allowed is checked once, when params.yaml is read
(``prunelab.params``).
"""

from __future__ import annotations

from dataclasses import dataclass

from prunelab.data.batching import Encoded
from prunelab.params import FROM_PRETRAINED, PruneSpec
from prunelab.pruning.unstructured import methods
from prunelab.pruning.unstructured.pruner import Pruner, prunable_variables
from prunelab.pruning.unstructured.schedules import make_schedule
from prunelab.pruning.unstructured.scores import NEEDS_CALIBRATION


@dataclass(frozen=True)
class Recipe:
    """What to prune and how: the main run's ``prune`` section, or one sweep point."""

    method: str
    sparsity: float
    scope: str
    targets: tuple[str, ...]
    schedule: str = "oneshot"
    n_m: tuple[int, int] | None = None
    calibration_size: int = 256
    begin_fraction: float = 0.0
    end_fraction: float = 0.5
    frequency: int = 10

    @classmethod
    def from_spec(cls, spec: PruneSpec) -> Recipe:
        return cls(method=spec.method, sparsity=spec.sparsity, scope=spec.scope, targets=tuple(spec.targets),
                   schedule=spec.schedule, n_m=spec.pattern, calibration_size=spec.calibration_size,
                   begin_fraction=spec.begin_fraction, end_fraction=spec.end_fraction, frequency=spec.frequency)

    @property
    def starts_from(self) -> str:
        """The model pruning starts from: ``"baseline"`` (fine-tuned), or ``"pretrained"`` for a method that
        prunes while the pre-trained model is fine-tuned (``params.FROM_PRETRAINED``)."""
        return "pretrained" if self.method in FROM_PRETRAINED else "baseline"

    def describe(self) -> dict:
        """The recipe as the run record states it."""
        record = {"method": self.method, "sparsity": self.sparsity, "scope": self.scope,
                  "targets": list(self.targets), "schedule": self.schedule, "starts_from": self.starts_from,
                  "n_m": f"{self.n_m[0]}:{self.n_m[1]}" if self.n_m else None}
        if self.method in NEEDS_CALIBRATION or self.method == "sparsegpt":
            record["calibration_sentences"] = self.calibration_size
        if self.schedule == "gradual":
            record |= {"begin_fraction": self.begin_fraction, "end_fraction": self.end_fraction,
                       "frequency": self.frequency}
        return record


def calibration_stats(model, spec: Recipe, calibration: Encoded):
    """What a calibrated scoring rule (``scores.NEEDS_CALIBRATION``) reads of every kernel ``spec`` targets."""
    return methods.load(spec.method).collect_stats(model, prunable_variables(model, spec.targets), calibration)


def prepare_pruner(model, spec: Recipe, calibration: Encoded, total_steps: int, stats=None) -> Pruner:
    """A Pruner for ``spec``, by its method's module (``methods``).

    ``stats``: ``calibration_stats`` of this model on ``calibration``, when already collected (the sweep's
    points all start from the same baseline, so one collection serves them all).
    """
    variables = prunable_variables(model, spec.targets)
    schedule = make_schedule(spec.schedule, spec.sparsity, total_steps, end_fraction=spec.end_fraction,
                             frequency=spec.frequency, begin_fraction=spec.begin_fraction)
    return methods.load(spec.method).prepare_pruner(model, spec, variables, schedule, calibration, stats)
