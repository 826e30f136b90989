"""Measure every exported SavedModel on SST-2 dev, each loaded from disk in a process of its own."""

from pathlib import Path

from prunelab import stage
from prunelab.batching import encode_prepared
from prunelab.evaluation import compare, machine, measure_saved_model
from prunelab.files import write_json
from prunelab.modeling import load_tokenizer

MODELS = {"baseline": Path("models/baseline/saved_model"), "pruned": Path("models/pruned"),
          "structured": Path("models/structured")}


def main(params):
    tokenizer = load_tokenizer(Path("models/base"))
    dev = encode_prepared(tokenizer, "data/prepared", params.model.max_length, splits=("dev",))["dev"]
    results, per_kernel = {}, {}
    for name, folder in MODELS.items():
        n_m = params.prune.pattern if name == "pruned" else None
        results[name] = measure_saved_model(folder, dev, params.prune.targets, params.evaluate.batch_size, "dev", n_m)
        per_kernel[name] = results[name]["sparsity"].pop("per_kernel")
        print(f"{name}: dev accuracy {results[name]['accuracy']:.4f}, "
              f"targeted sparsity {results[name]['sparsity']['targeted_sparsity']:.4f}", flush=True)
    results["comparison"] = {name: compare(results["baseline"], results[name], dev.labels)
                             for name in ("pruned", "structured")}
    results["machine"] = machine()
    predictions = {name: results[name].pop("predictions") for name in MODELS}
    write_json("metrics/sparsity_per_kernel.json", per_kernel)
    write_json("metrics/evaluation.json", results)
    write_json("metrics/predictions.json", {"split": "dev", "labels": dev.labels.tolist(), **predictions})


if __name__ == "__main__":
    stage.run(main)
