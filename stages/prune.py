"""Prune the fine-tuned baseline (movement: the pre-trained model while it is fine-tuned) with the configured
unstructured method, recover distilled from the baseline, export, record what ran."""

from pathlib import Path

from prunelab import stage
from prunelab.data.batching import encode_prepared
from prunelab.files import write_csv, write_json
from prunelab.model.checkpoint import load_checkpoint
from prunelab.model.export import export_saved_model
from prunelab.pruning.unstructured.prune import prune_unstructured
from prunelab.pruning.unstructured.recipe import Recipe
from prunelab.training.fine_tune import TrainConfig
from prunelab.training.teacher import load_teacher

BASELINE = Path("models/baseline/checkpoint")
START = {"baseline": BASELINE, "pretrained": Path("models/base")}


def main(params):
    recovery = TrainConfig(params.prune.recovery, params.train.bucket_lengths, params.seed)
    recipe = Recipe.from_spec(params.prune)
    model, tokenizer = load_checkpoint(START[recipe.starts_from])
    data = encode_prepared(tokenizer, "data/prepared", params.model.max_length, splits=("train", "selection"),
                          transfer_size=params.prune.recovery.distill.transfer_size)
    teacher = load_teacher(BASELINE.parent, data, recovery)
    point = prune_unstructured(model, recipe, data, recovery, params.seed, teacher)
    export_saved_model(point.model, Path("models/pruned"))
    write_csv("metrics/prune_steps.csv", point.steps)
    write_json("metrics/prune.json", point.record | {"epochs": point.epochs})


if __name__ == "__main__":
    stage.run(main)
