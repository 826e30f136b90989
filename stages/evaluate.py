"""Measure one exported SavedModel on SST-2 dev, loaded from disk: `python stages/evaluate.py MODEL`.

A stage a model, so that a new pruned model is measured alone. The pruned and structured
models are compared with the baseline on the same sentences, from what the baseline's
stage (`evaluate_baseline`) wrote.
"""

import sys
from pathlib import Path

from prunelab import stage
from prunelab.data.batching import encode_prepared
from prunelab.errors import UserError
from prunelab.files import read_json, write_json
from prunelab.measurement.evaluation import compare, machine, measure_saved_model
from prunelab.model.checkpoint import load_tokenizer

MODELS = {"baseline": Path("models/baseline/saved_model"), "pruned": Path("models/pruned"),
          "structured": Path("models/structured")}


def main(params):
    model = sys.argv[1] if len(sys.argv) > 1 else ""
    if model not in MODELS:
        raise UserError(f"evaluate needs a model name, one of {', '.join(MODELS)}: python stages/evaluate.py MODEL")
    tokenizer = load_tokenizer(Path("models/base"))
    dev = encode_prepared(tokenizer, "data/prepared", params.model.max_length, splits=("dev",))["dev"]
    n_m = params.prune.pattern if model == "pruned" else None
    result = measure_saved_model(MODELS[model], dev, params.prune.targets, params.evaluate.batch_size, "dev", n_m)
    per_kernel = result["sparsity"].pop("per_kernel")
    predictions = result.pop("predictions")
    if model != "baseline":
        baseline = read_json("metrics/evaluation/baseline.json")
        baseline["predictions"] = read_json("metrics/predictions/baseline.json")["predictions"]
        result["comparison"] = compare(baseline, result | {"predictions": predictions}, dev.labels)
    result["machine"] = machine()
    print(f"{model}: dev accuracy {result['accuracy']:.4f}, "
          f"targeted sparsity {result['sparsity']['targeted_sparsity']:.4f}", flush=True)
    write_json(f"metrics/sparsity_per_kernel/{model}.json", per_kernel)
    write_json(f"metrics/predictions/{model}.json", {"split": "dev", "labels": dev.labels.tolist(),
                                                     "predictions": predictions})
    write_json(f"metrics/evaluation/{model}.json", result)


if __name__ == "__main__":
    stage.run(main)
