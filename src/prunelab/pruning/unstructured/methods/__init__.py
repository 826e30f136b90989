"""The unstructured methods, one module each: ``prepare_pruner`` turns a recipe into the Pruner holding its mask.

A method is loaded by its name when a recipe is bound to a model, so that a stage runs, and imports, only
the method it prunes with: dvc.yaml's ``sweep@<method>`` depends on ``methods/<method>.py`` and no other,
and editing SparseGPT reruns no other method's sweep (tests/test_dvc_stale.py checks each module's
imports against its stage's deps).
"""

from __future__ import annotations

import importlib


def load(method: str):
    """The module of ``method`` (``params.UNSTRUCTURED_METHODS``)."""
    return importlib.import_module(f"{__name__}.{method}")
