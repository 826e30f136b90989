"""One unstructured method's sweep from the fine-tuned baseline: `python stages/sweep.py METHOD`.

The method is pruned one-shot at every `sweep.sparsities`, ranking within the scope
`sweep.methods` gives it. Points are fine-tuned only with `sweep.recovery`, then like the
main run. The structured sweep is stages/sweep_structured.py.
"""

import sys
from pathlib import Path

from prunelab import stage
from prunelab.data.batching import encode_prepared
from prunelab.errors import ParamsError
from prunelab.files import write_json
from prunelab.model.checkpoint import load_checkpoint
from prunelab.pruning.unstructured.recipe import Recipe
from prunelab.sweep.unstructured import sweep_unstructured
from prunelab.training.fine_tune import TrainConfig
from prunelab.training.teacher import load_teacher

BASELINE = Path("models/baseline/checkpoint")


def main(params):
    method, sweep, prune = sys.argv[1], params.sweep, params.prune
    if method not in sweep.methods:
        raise ParamsError(f"{method!r} is not in sweep.methods ({', '.join(sweep.methods)}).")
    recovery = (TrainConfig(prune.recovery, params.train.bucket_lengths, params.seed) if sweep.recovery
                else None)
    model, tokenizer = load_checkpoint(BASELINE)
    data = encode_prepared(tokenizer, "data/prepared", params.model.max_length,
                           transfer_size=prune.recovery.distill.transfer_size if sweep.recovery else 0)
    teacher = load_teacher(BASELINE.parent, data, recovery)  # computed once, for every point
    recipes = [Recipe(method, sparsity, sweep.methods[method], tuple(prune.targets),
                      calibration_size=prune.calibration_size) for sparsity in sweep.sparsities]
    write_json(f"metrics/sweep/{method}.json", sweep_unstructured(model, recipes, data, recovery, params.seed, teacher))


if __name__ == "__main__":
    stage.run(main)
