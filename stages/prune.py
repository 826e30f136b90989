"""Prune the fine-tuned baseline (one-shot or gradually while fine-tuning) and export it."""

from pathlib import Path

from prunelab import stage
from prunelab.batching import check_buckets, encode_prepared, steps_per_epoch
from prunelab.errors import ParamsError
from prunelab.export import export_saved_model
from prunelab.files import load_params, write_csv, write_json
from prunelab.modeling import load_checkpoint
from prunelab.pruning import Pruner, make_schedule, prunable_variables
from prunelab.training import TrainConfig, accuracy_in_memory, fine_tune


def main():
    params = load_params()
    prune = params["prune"]
    max_length = params["model"]["max_length"]
    sparsity = float(prune["sparsity"])
    if not 0.0 < sparsity < 1.0:
        raise ParamsError(f"prune.sparsity is {sparsity}; it must be strictly between 0 and 1, e.g. 0.5.")
    buckets = check_buckets(params["train"]["bucket_lengths"], max_length)
    config = TrainConfig.from_params(prune, params["seed"], buckets)

    model, tokenizer = load_checkpoint(Path("models/baseline/checkpoint"))
    data = encode_prepared(tokenizer, "data/prepared", max_length)
    total_steps = steps_per_epoch(data["train"], config.bucket_lengths, config.batch_size) * config.epochs
    schedule = make_schedule(prune["schedule"], sparsity, total_steps, end_fraction=float(prune["end_fraction"]),
                             frequency=int(prune["frequency"]))
    pruner = Pruner(prunable_variables(model, prune["targets"]), prune["method"], prune["scope"], schedule)

    step_rows, epoch_rows = [], []
    if config.epochs > 0:
        teacher = load_checkpoint(Path("models/baseline/checkpoint"))[0] if config.distill_alpha else None
        step_rows, epoch_rows = fine_tune(model, data["train"], data["validation"], config, pruner, teacher=teacher,
                                          label="prune")
    else:
        pruner.update(0)
    if abs(pruner.sparsity() - sparsity) > 1e-3:
        raise RuntimeError(f"pruning reached {pruner.sparsity():.4f}, not the target {sparsity}")

    export_saved_model(model, Path("models/pruned"))
    write_csv("metrics/prune_steps.csv", step_rows or [{"step": 0, "sparsity": pruner.sparsity()}])
    write_json("metrics/prune.json", {
        "target_sparsity": sparsity,
        "achieved_sparsity": round(pruner.sparsity(), 6),
        "val_accuracy": round(accuracy_in_memory(model, data["validation"], config.batch_size), 5),
        "epochs": epoch_rows,
    })


if __name__ == "__main__":
    stage.run(main)
