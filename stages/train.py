"""Fine-tune the whole base model on the SST-2 subset; save it and export it as a SavedModel."""

import shutil
from pathlib import Path

from prunelab import stage
from prunelab.data.batching import encode_prepared
from prunelab.files import write_csv, write_json
from prunelab.model.checkpoint import load_checkpoint, save_checkpoint
from prunelab.model.export import export_saved_model
from prunelab.training.fine_tune import TrainConfig, fine_tune
from prunelab.training.teacher import save_logits
from prunelab.training.throughput import fine_tuning_throughput

OUT = Path("models/baseline")


def main(params):
    config = TrainConfig(params.train, params.train.bucket_lengths, params.seed)
    model, tokenizer = load_checkpoint(Path("models/base"))
    data = encode_prepared(tokenizer, "data/prepared", params.model.max_length, splits=("train", "selection"))
    step_rows, epoch_rows = fine_tune(model, data["train"], data["selection"], config, label="train")
    throughput = fine_tuning_throughput(epoch_rows, model.config)  # measured here: same process, same load

    staging = OUT.with_name(OUT.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    save_checkpoint(model, tokenizer, staging / "checkpoint")
    export_saved_model(model, staging / "saved_model")
    save_logits(model, data["train"], staging)  # the teacher's targets for every recovery that distils
    shutil.rmtree(OUT, ignore_errors=True)
    staging.rename(OUT)
    write_csv("metrics/train_steps.csv", step_rows)
    write_csv("metrics/train_epochs.csv", epoch_rows)
    write_json("metrics/train.json", {"selection_accuracy": epoch_rows[-1]["selection_accuracy"],
                                      "train_seconds": epoch_rows[-1]["seconds"], "steps": step_rows[-1]["step"],
                                      "throughput": throughput, "recipe": config.record()})


if __name__ == "__main__":
    stage.run(main)
