"""Structured pruning: remove whole attention heads and FFN neurons (optionally whole layers).

Unlike ``prunelab.pruning.unstructured``, which zeroes single weights inside kernels of unchanged
shape, this removes units outright, so the kernels are physically smaller and the
model is faster on any hardware. One step a module:

- ``importance``: how much each head and neuron matters (mask-gradient scores);
- ``selection``: the ``plan`` keeping the most importance within a FLOPs budget
  (costs from ``prunelab.model.flops``, the same count evaluation reports);
- ``surgery``: the kept weights sliced out of the Hugging Face model into a ``model.PrunedBert``,
  a Keras BERT whose layers each keep their own heads and FFN width;

``prune.prune_structured`` runs the three for the pipeline and recovers the smaller model (``pruning.recovery``).
"""

from prunelab.pruning.structured.importance import SCORES, Importance, unit_importance
from prunelab.pruning.structured.model import PrunedBert
from prunelab.pruning.structured.plan import StructuredPlan
from prunelab.pruning.structured.selection import select_plan
from prunelab.pruning.structured.surgery import build_pruned

__all__ = ["SCORES", "Importance", "PrunedBert", "StructuredPlan", "build_pruned", "select_plan", "unit_importance"]
