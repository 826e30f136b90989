"""The structured model: heads and FFN neurons removed to structured.flops_target, recovered, exported."""

from pathlib import Path

from prunelab import stage
from prunelab.data.batching import encode_prepared
from prunelab.files import write_json
from prunelab.model.checkpoint import load_checkpoint
from prunelab.model.export import export_saved_model
from prunelab.pruning.structured.prune import prune_structured, structured_importance
from prunelab.training.fine_tune import TrainConfig
from prunelab.training.teacher import load_teacher

BASELINE = Path("models/baseline/checkpoint")


def main(params):
    spec = params.structured
    recovery = TrainConfig(spec.recovery, params.train.bucket_lengths, params.seed)
    model, tokenizer = load_checkpoint(BASELINE)
    data = encode_prepared(tokenizer, "data/prepared", params.model.max_length, splits=("train", "selection"),
                          transfer_size=spec.recovery.distill.transfer_size)
    teacher = load_teacher(BASELINE.parent, data, recovery)
    importance = structured_importance(model, spec, data["train"], params.seed)
    point = prune_structured(model, spec, spec.flops_target, data, recovery, importance, teacher)
    export_saved_model(point.model, Path("models/structured"))
    write_json("metrics/structured.json", point.record | {"epochs": point.epochs})


if __name__ == "__main__":
    stage.run(main)
