"""The comparison sweep: every method at several sparsities (or FLOPs targets), on equal terms.

Each point starts from the same fine-tuned baseline and goes through the same pruning
functions as the main run (``pruning.unstructured.prune``, ``pruning.structured.prune``):
one-shot pruning and, only when asked (``sweep.recovery``), fine-tuning. What depends on the
baseline alone is computed once for all points: its dev predictions, Wanda's calibration
statistics, the teacher's outputs. Every point is measured in memory on SST-2 dev with
``measure.measure_in_memory``, in the schema of every measured model. Speed is not measured
per point: unstructured points keep the dense graph, and the structured model the report
times is the exported ``models/structured``.

- ``unstructured``: one method at every sparsity; ``structured``: every FLOPs target;
- ``measure``: a point measured in memory, against the baseline's predictions.
"""
