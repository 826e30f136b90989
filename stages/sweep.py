"""One method's sweep from the fine-tuned baseline: `python stages/sweep.py METHOD`.

Unstructured methods are pruned one-shot at every `sweep.sparsities`; `structured`
at every `sweep.flops_targets`. Without `sweep.recovery` those points are not
fine-tuned; `structured` adds one point that is: `prune.structured.flops_target`
with the main run's recovery (`prune.epochs`, learning rate, distillation) as
changed by `prune.structured.recovery`, the structured model the report holds
against the dense baseline.
"""

import sys
from pathlib import Path

from prunelab import stage
from prunelab.batching import check_buckets, encode_prepared
from prunelab.errors import ParamsError
from prunelab.files import load_params, with_overrides, write_json
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
    if method == "structured":
        prune = with_overrides(prune, prune["structured"].get("recovery"), "prune.structured.recovery")
    fine_tuning = TrainConfig.from_params(prune, params["seed"],
                                          check_buckets(params["train"]["bucket_lengths"], max_length))
    recovery = fine_tuning if sweep["recovery"] else None
    # The structured counterpart of the main run: prune.structured.flops_target, fine-tuned.
    main_recovery = fine_tuning if method == "structured" and fine_tuning.epochs > 0 else None
    needs_teacher = (recovery or main_recovery) and fine_tuning.uses_teacher
    model, tokenizer = load_checkpoint(BASELINE)
    data = encode_prepared(tokenizer, "data/prepared", max_length)
    teacher = load_checkpoint(BASELINE)[0] if needs_teacher else None

    if method == "structured":
        settings = prune["structured"]
        sample = calibration_sample(data["train"], settings["importance_sentences"], params["seed"])
        points = sweep_structured(model, sweep["flops_targets"], sample, settings, data, params["evaluate"],
                                  recovery, teacher, main_recovery)
    else:
        calibration = calibration_sample(data["train"], prune["calibration_size"], params["seed"])
        points = sweep_unstructured(model, method, sweep["methods"][method], sweep["sparsities"], prune["targets"],
                                    data, calibration, recovery, teacher)
    write_json(f"metrics/sweep/{method}.json", points)


if __name__ == "__main__":
    stage.run(main)
