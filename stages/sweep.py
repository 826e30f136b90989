"""One method's sweep from the fine-tuned baseline: `python stages/sweep.py METHOD`.

Unstructured methods are pruned one-shot at every `sweep.sparsities`; `structured`
at every `sweep.flops_targets`. Without `sweep.recovery` nothing is fine-tuned.
"""

import sys
from pathlib import Path

from prunelab import stage
from prunelab.batching import check_buckets, encode_prepared
from prunelab.errors import ParamsError
from prunelab.files import load_params, write_json
from prunelab.modeling import load_checkpoint
from prunelab.pruning.methods import calibration_sample
from prunelab.sweep import sweep_structured, sweep_unstructured
from prunelab.training import TrainConfig

BASELINE = Path("models/baseline/checkpoint")


def main():
    method = sys.argv[1]
    params = load_params()
    sweep, prune = params["sweep"], params["prune"]
    if method != "structured" and method not in sweep["methods"]:
        raise ParamsError(f"{method!r} is not in sweep.methods ({', '.join(sweep['methods'])}).")
    max_length = params["model"]["max_length"]
    model, tokenizer = load_checkpoint(BASELINE)
    data = encode_prepared(tokenizer, "data/prepared", max_length)
    recovery = None
    if sweep["recovery"]:
        recovery = TrainConfig.from_params(prune, params["seed"],
                                           check_buckets(params["train"]["bucket_lengths"], max_length))
    teacher = load_checkpoint(BASELINE)[0] if recovery and recovery.distill_alpha else None

    if method == "structured":
        settings = prune["structured"]
        sample = calibration_sample(data["train"], settings["importance_sentences"], params["seed"])
        points = sweep_structured(model, sweep["flops_targets"], sample, settings, data, params["evaluate"],
                                  recovery, teacher)
    else:
        calibration = calibration_sample(data["train"], prune["calibration_size"], params["seed"])
        points = sweep_unstructured(model, method, sweep["methods"][method], sweep["sparsities"], prune["targets"],
                                    data, calibration, recovery, teacher)
    write_json(f"metrics/sweep/{method}.json", points)


if __name__ == "__main__":
    stage.run(main)
