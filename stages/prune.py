"""Prune the fine-tuned baseline (one-shot or gradually while fine-tuning) and export it."""

from pathlib import Path

from prunelab import stage
from prunelab.batching import check_buckets, encode_prepared, steps_per_epoch
from prunelab.export import export_saved_model
from prunelab.files import load_params, write_csv, write_json
from prunelab.modeling import load_checkpoint
from prunelab.pruning.methods import PruneSpec, calibration_sample, prepare_pruner
from prunelab.training import TrainConfig, accuracy_in_memory, fine_tune


def main():
    params = load_params()
    spec = PruneSpec.from_params(params["prune"])
    max_length = params["model"]["max_length"]
    buckets = check_buckets(params["train"]["bucket_lengths"], max_length)
    config = TrainConfig.from_params(params["prune"], params["seed"], buckets)

    model, tokenizer = load_checkpoint(Path("models/baseline/checkpoint"))
    data = encode_prepared(tokenizer, "data/prepared", max_length)
    total_steps = steps_per_epoch(data["train"], config.bucket_lengths, config.batch_size) * config.epochs
    calibration = calibration_sample(data["train"], spec.calibration_size, params["seed"])
    pruner = prepare_pruner(model, spec, calibration, total_steps)

    step_rows, epoch_rows = [], []
    if config.epochs > 0:
        teacher = load_checkpoint(Path("models/baseline/checkpoint"))[0] if config.distill_alpha else None
        step_rows, epoch_rows = fine_tune(model, data["train"], data["validation"], config, pruner, teacher=teacher,
                                          label="prune")
    else:
        pruner.update(0)
    if abs(pruner.sparsity() - spec.sparsity) > 1e-3:
        raise RuntimeError(f"pruning reached {pruner.sparsity():.4f}, not the target {spec.sparsity}")

    export_saved_model(model, Path("models/pruned"))
    write_csv("metrics/prune_steps.csv", step_rows or [{"step": 0, "sparsity": pruner.sparsity()}])
    write_json("metrics/prune.json", {
        "method": spec.method,
        "target_sparsity": spec.sparsity,
        "achieved_sparsity": round(pruner.sparsity(), 6),
        "val_accuracy": round(accuracy_in_memory(model, data["validation"], config.batch_size), 5),
        "epochs": epoch_rows,
    })


if __name__ == "__main__":
    stage.run(main)
