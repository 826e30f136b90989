"""Structured pruning: remove whole attention heads and FFN neurons (optionally whole layers).

Unlike ``prunelab.pruning``, which zeroes single weights inside kernels of unchanged
shape, this removes units outright, so the kernels are physically smaller and the
model is faster on any hardware. One step a module:

- ``importance``: how much each head and neuron matters (mask-gradient scores);
- ``selection``: the ``plan`` keeping the most importance within a FLOPs budget
  (costs from ``prunelab.flops``, the same count evaluation reports);
- ``surgery``: the kept weights sliced out of the Hugging Face model into a ``model.PrunedBert``,
  a Keras BERT whose layers each keep their own heads and FFN width;

``prunelab.points.prune_structured`` runs the three for the pipeline, like every other pruned point.
"""

from prunelab.structured.importance import SCORES, Importance, unit_importance
from prunelab.structured.model import PrunedBert
from prunelab.structured.plan import StructuredPlan
from prunelab.structured.selection import select_plan
from prunelab.structured.surgery import build_pruned

__all__ = ["SCORES", "Importance", "PrunedBert", "StructuredPlan", "build_pruned", "select_plan", "unit_importance"]
