"""One method's sweep from the fine-tuned baseline: `python stages/sweep.py METHOD`.

Unstructured methods are pruned one-shot at every `sweep.sparsities` (ranking within
the scope `sweep.methods` gives them); `structured` at every `sweep.flops_targets`.
Points are fine-tuned only with `sweep.recovery`, then like the main run.
"""

import sys
from pathlib import Path

from prunelab import stage
from prunelab.batching import encode_prepared
from prunelab.errors import ParamsError
from prunelab.files import write_json
from prunelab.modeling import load_checkpoint
from prunelab.pruning.methods import Recipe
from prunelab.sweep import sweep_structured, sweep_unstructured
from prunelab.teacher import load_teacher
from prunelab.training import TrainConfig

BASELINE = Path("models/baseline/checkpoint")


def main(params):
    method, sweep, prune = sys.argv[1], params.sweep, params.prune
    if method != "structured" and method not in sweep.methods:
        raise ParamsError(f"{method!r} is not in sweep.methods ({', '.join(sweep.methods)}).")
    fine_tuning = prune.structured_fine_tuning if method == "structured" else prune.fine_tuning
    recovery = TrainConfig.from_spec(fine_tuning, params.seed, params.train.bucket_lengths) if sweep.recovery else None
    model, tokenizer = load_checkpoint(BASELINE)
    data = encode_prepared(tokenizer, "data/prepared", params.model.max_length)
    teacher = load_teacher(BASELINE.parent, data["train"], recovery)  # computed once, for every point
    if method == "structured":
        points = sweep_structured(model, prune.structured, sweep.flops_targets, data, recovery, params.seed, teacher)
    else:
        recipes = [Recipe(method, sparsity, sweep.methods[method], tuple(prune.targets),
                          calibration_size=prune.calibration_size) for sparsity in sweep.sparsities]
        points = sweep_unstructured(model, recipes, data, recovery, params.seed, teacher)
    write_json(f"metrics/sweep/{method}.json", points)


if __name__ == "__main__":
    stage.run(main)
