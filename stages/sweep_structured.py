"""The structured sweep from the fine-tuned baseline: a smaller model at every `sweep.flops_targets`.

Points are fine-tuned only with `sweep.recovery`, then like the structured model.
"""

from pathlib import Path

from prunelab import stage
from prunelab.data.batching import encode_prepared
from prunelab.files import write_json
from prunelab.model.checkpoint import load_checkpoint
from prunelab.sweep.structured import sweep_structured
from prunelab.training.fine_tune import TrainConfig
from prunelab.training.teacher import load_teacher

BASELINE = Path("models/baseline/checkpoint")


def main(params):
    sweep, spec = params.sweep, params.structured
    recovery = (TrainConfig(spec.recovery, params.train.bucket_lengths, params.seed)
                if sweep.recovery else None)
    model, tokenizer = load_checkpoint(BASELINE)
    data = encode_prepared(tokenizer, "data/prepared", params.model.max_length,
                           transfer_size=spec.recovery.distill.transfer_size if sweep.recovery else 0)
    teacher = load_teacher(BASELINE.parent, data, recovery)  # computed once, for every point
    points = sweep_structured(model, spec, sweep.flops_targets, data, recovery, params.seed, teacher)
    write_json("metrics/sweep/structured.json", points)


if __name__ == "__main__":
    stage.run(main)
