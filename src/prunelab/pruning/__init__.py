"""Pruning = a scoring rule (which weights matter) + a mask policy (how many go, where) + a schedule (when).

- ``scores``: scoring rules, ``(weights, stats) -> scores`` of the same shapes (magnitude, Wanda);
- ``masks``: the policy that turns scores into keep-masks at a sparsity, globally, per layer,
  per output or N:M;
- ``schedules``: TF-MOT's sparsity schedules, one-shot or gradual;
- ``pruner``: binds the three to a model's variables and keeps pruned weights at zero;
- ``calibration``: input statistics of the pruned layers on a few sentences (for Wanda, SparseGPT);
- ``sparsegpt``: one-shot pruning that also updates the surviving weights, layer by layer.
"""

from prunelab.pruning.calibration import InputStats, collect_input_stats
from prunelab.pruning.masks import SCOPES, NMPatternError, check_n_m, select_masks, select_nm_masks
from prunelab.pruning.pruner import Pruner, prunable_variables
from prunelab.pruning.schedules import SCHEDULES, make_schedule
from prunelab.pruning.scores import NEEDS_CALIBRATION, SCORING_RULES
from prunelab.pruning.sparsegpt import sparsegpt_layer, sparsegpt_prune

__all__ = ["NEEDS_CALIBRATION", "SCOPES", "SCHEDULES", "SCORING_RULES", "InputStats", "NMPatternError", "Pruner",
           "check_n_m", "collect_input_stats", "make_schedule", "prunable_variables", "select_masks",
           "select_nm_masks", "sparsegpt_layer", "sparsegpt_prune"]
