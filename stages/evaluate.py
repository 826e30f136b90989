"""Measure the baseline and the pruned SavedModels, each loaded from disk in a process of its own."""

from pathlib import Path

from prunelab import stage
from prunelab.batching import encode_prepared
from prunelab.evaluation import compare, machine, measure_saved_model
from prunelab.files import load_params, write_json
from prunelab.modeling import load_tokenizer
from prunelab.pruning.masks import parse_n_m

MODELS = {"baseline": Path("models/baseline/saved_model"), "pruned": Path("models/pruned")}


def main():
    params = load_params()
    settings = params["evaluate"]
    tokenizer = load_tokenizer(Path("models/base"))
    validation = encode_prepared(tokenizer, "data/prepared", params["model"]["max_length"])["validation"]

    n_m = parse_n_m(params["prune"]["n_m"]) if params["prune"].get("n_m") else None
    results, per_kernel = {}, {}
    for name, folder in MODELS.items():
        print(f"measuring {name} ({folder}) ...", flush=True)
        results[name] = measure_saved_model(folder, validation, params["prune"]["targets"], settings,
                                            n_m=n_m if name == "pruned" else None)
        per_kernel[name] = results[name]["sparsity"].pop("per_kernel")
        print(f"{name}: accuracy {results[name]['accuracy']:.4f}, "
              f"targeted sparsity {results[name]['sparsity']['targeted_sparsity']:.4f}, "
              f"batch-1 median {results[name]['latency_batch1']['median_ms']:.2f} ms", flush=True)
    results["comparison"] = compare(results["baseline"], results["pruned"], settings["batch_size"])
    results["machine"] = machine()
    write_json("metrics/sparsity_per_kernel.json", per_kernel)
    write_json("metrics/evaluation.json", results)


if __name__ == "__main__":
    stage.run(main)
