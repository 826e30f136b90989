"""Pruning = a scoring rule (which weights matter) + a mask policy (how many go, where) + a schedule (when).

- ``scores``: scoring rules, ``weights -> scores`` of the same shapes;
- ``masks``: the policy that turns scores into keep-masks at a sparsity, globally or per layer;
- ``schedules``: TF-MOT's sparsity schedules, one-shot or gradual;
- ``pruner``: binds the three to a model's variables and keeps pruned weights at zero.
"""

from prunelab.pruning.masks import SCOPES, select_masks
from prunelab.pruning.pruner import Pruner, prunable_variables
from prunelab.pruning.schedules import SCHEDULES, make_schedule
from prunelab.pruning.scores import SCORING_RULES

__all__ = ["SCOPES", "SCHEDULES", "SCORING_RULES", "Pruner", "make_schedule", "prunable_variables", "select_masks"]
