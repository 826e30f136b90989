"""Shrink a params.yaml in place to a pipeline run of a few minutes on 2 cores.

    python container/tiny_params.py [params.yaml]

The sizes are those of the end-to-end test (tests/test_pipeline.py): 96 training
sentences, one epoch of fine-tuning and one of pruning, short latency runs.
Used by `make container-check` on a scratch workspace; never run it on your checkout.
"""

import sys
from pathlib import Path

import yaml

TINY = {
    "data": {"train_size": 96},
    "model": {"max_length": 64},
    "train": {"epochs": 1, "bucket_lengths": [16, 32, 64]},
    "prune": {"epochs": 1, "sparsity": 0.5, "frequency": 1},
    "evaluate": {"latency_sentences": 8, "warmup_runs": 2, "repeats": 1},
}


def merge(base: dict, update: dict) -> dict:
    merged = dict(base)
    for key, value in update.items():
        merged[key] = merge(base[key], value) if isinstance(value, dict) else value
    return merged


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "params.yaml")
    params = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(merge(params, TINY), sort_keys=False))
    print(f"{path}: tiny parameters {TINY}")


if __name__ == "__main__":
    main()
