"""Unstructured pruning = a scoring rule (which weights matter) + a mask policy (how many go, where) + a schedule.

- ``scores``: scoring rules, ``(weights, stats) -> scores`` of the same shapes (magnitude, Wanda);
- ``masks``: the policy that turns scores into keep-masks at a sparsity, globally, per layer,
  per output or N:M;
- ``schedules``: TF-MOT's sparsity schedules, one-shot or gradual;
- ``pruner``: binds the three to a model's variables and keeps pruned weights at zero;
- ``calibration``: input statistics of the pruned layers on a few sentences (for Wanda, SparseGPT);
- ``methods``: each method as a Pruner, one module a method (``methods.sparsegpt``: one-shot pruning
  that also updates the surviving weights, layer by layer);
- ``recipe``: what to prune and how, bound to a model; ``prune``: one pruned model and its record.

Nothing is imported here: a stage that reads masks (evaluation checks N:M patterns) does not
import the methods.
"""
