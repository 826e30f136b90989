"""Shrink a params.yaml in place to a pipeline run of a few minutes on 2 cores.

    python container/tiny_params.py [params.yaml]

The sizes are the end-to-end test's (TINY in tests/test_pipeline.py, imported so that the
two stay alike; the copy below is used only if that import fails): 96 training sentences,
one epoch of fine-tuning and one of pruning, short latency runs.
Used by `make container-check` on a scratch workspace; never run it on your checkout.
"""

import sys
from pathlib import Path

import yaml

FALLBACK = {
    "data": {"train_size": 96},
    "model": {"max_length": 64},
    "train": {"epochs": 1, "bucket_lengths": [16, 32, 64]},
    "prune": {
        "epochs": 1,
        "sparsity": 0.5,
        "frequency": 1,
        "calibration_size": 16,
        "structured": {"importance_sentences": 16},
    },
    "sweep": {"sparsities": [0.5], "flops_targets": [0.5]},
    "evaluate": {"latency_sentences": 8, "warmup_passes": 1, "repeats": 1},
}


def merge(base: dict, update: dict) -> dict:
    merged = dict(base)
    for key, value in update.items():
        merged[key] = merge(base[key], value) if isinstance(value, dict) else value
    return merged


def tiny(tests: Path) -> tuple[dict, str]:
    sys.path.insert(0, str(tests))
    try:
        from test_pipeline import TINY
    except (ImportError, AttributeError) as error:
        return FALLBACK, f"container/tiny_params.py (no TINY in {tests}/test_pipeline.py: {error})"
    return TINY, "tests/test_pipeline.py"


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "params.yaml").resolve()
    overrides, source = tiny(path.parent / "tests")
    params = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(merge(params, overrides), sort_keys=False))
    print(f"{path}: tiny parameters from {source}: {overrides}")


if __name__ == "__main__":
    main()
