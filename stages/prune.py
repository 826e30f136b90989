"""Prune the fine-tuned baseline with the configured method, fine-tune to recover, export it.

Unstructured methods (magnitude, wanda, sparsegpt) zero weights and keep the
shapes; ``structured`` removes heads and FFN neurons and exports a smaller model.
"""

from pathlib import Path

from prunelab import stage
from prunelab.batching import check_buckets, encode_prepared, steps_per_epoch
from prunelab.export import export_saved_model
from prunelab.files import load_params, with_overrides, write_csv, write_json
from prunelab.modeling import load_checkpoint
from prunelab.pruning.methods import PruneSpec, calibration_sample, prepare_pruner
from prunelab.structured import prune_structured
from prunelab.training import TrainConfig, accuracy_in_memory, fine_tune

BASELINE = Path("models/baseline/checkpoint")


def main():
    params = load_params()
    prune = params["prune"]
    max_length = params["model"]["max_length"]
    structured = prune["method"] == "structured"
    if structured:
        prune = with_overrides(prune, prune["structured"].get("recovery"), "prune.structured.recovery")
    config = TrainConfig.from_params(prune, params["seed"],
                                     check_buckets(params["train"]["bucket_lengths"], max_length))
    spec = None if structured else PruneSpec.from_params(prune)

    model, tokenizer = load_checkpoint(BASELINE)
    data = encode_prepared(tokenizer, "data/prepared", max_length)
    summary = {"method": prune["method"]}
    if structured:
        settings = prune["structured"]
        sample = calibration_sample(data["train"], settings["importance_sentences"], params["seed"])
        model, _, report = prune_structured(model, sample, float(settings["flops_target"]),
                                            seq_len=settings["reference_length"], score=settings["score"],
                                            max_sentences=None,
                                            allow_layer_removal=settings["allow_layer_removal"],
                                            min_fraction=settings["min_fraction"])
        pruner = None
        summary["structured"] = report | {"dense_heads": model.config.num_attention_heads,
                                          "dense_ffn_width": model.config.intermediate_size}
    else:
        total_steps = steps_per_epoch(data["train"], config.bucket_lengths, config.batch_size) * config.epochs
        calibration = calibration_sample(data["train"], spec.calibration_size, params["seed"])
        pruner = prepare_pruner(model, spec, calibration, total_steps)
        if spec.schedule == "oneshot":
            pruner.update(0)
    if structured or spec.schedule == "oneshot":
        summary["val_accuracy_before_recovery"] = round(accuracy_in_memory(model, data["validation"], 32), 5)

    step_rows, epoch_rows = [], []
    if config.epochs > 0:
        teacher = load_checkpoint(BASELINE)[0] if config.uses_teacher else None
        step_rows, epoch_rows = fine_tune(model, data["train"], data["validation"], config, pruner, teacher=teacher,
                                          label="prune")
    if pruner is not None:
        if abs(pruner.sparsity() - spec.sparsity) > 1e-3:
            raise RuntimeError(f"pruning reached {pruner.sparsity():.4f}, not the target {spec.sparsity}")
        summary |= {"target_sparsity": spec.sparsity, "achieved_sparsity": round(pruner.sparsity(), 6)}

    export_saved_model(model, Path("models/pruned"))
    write_csv("metrics/prune_steps.csv",
              step_rows or [{"step": 0, "sparsity": pruner.sparsity() if pruner is not None else 0.0}])
    summary |= {"val_accuracy": round(accuracy_in_memory(model, data["validation"], config.batch_size), 5),
                "epochs": epoch_rows}
    write_json("metrics/prune.json", summary)


if __name__ == "__main__":
    stage.run(main)
