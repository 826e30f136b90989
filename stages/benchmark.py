"""Time one model's artifacts beside the baseline, with a length sweep: `python stages/benchmark.py MODEL`.

A stage a model, so that a change to the pruned model re-times only the pruned model's
artifacts; the baseline's stage also checks the baseline against a copy of itself (A/A).
"""

import sys
from pathlib import Path

from prunelab import stage
from prunelab.files import write_csv, write_json
from prunelab.measurement.benchmark.inputs import build_inputs
from prunelab.measurement.benchmark.results import csv_rows
from prunelab.measurement.benchmark.run import LENGTH_BATCH1_CALLS, find_artifacts, run_benchmark

DEV = Path("data/prepared/dev.parquet")


def dev_token_ids(max_length: int):
    """Dev sentences as token ids. Imported here, not above: every worker process re-imports
    this script, and a LiteRT worker has no use for TensorFlow and transformers."""
    import pandas as pd

    from prunelab.data.batching import encode
    from prunelab.model.checkpoint import load_tokenizer

    frame = pd.read_parquet(DEV)
    encoded = encode(load_tokenizer(Path("models/base")), frame["sentence"], frame["label"], max_length)
    return encoded.token_ids, encoded.pad_id


def main(params):
    model = sys.argv[1] if len(sys.argv) > 1 else ""
    artifacts = find_artifacts(Path("models"), model)  # an unknown model fails here, before any work
    spec = params.benchmark
    token_ids, pad_id = dev_token_ids(params.model.max_length)
    lengths = spec.lengths if model in spec.length_sweep else []
    inputs = build_inputs(token_ids, pad_id, spec.batch1_sentences, spec.batch_size, lengths,
                          LENGTH_BATCH1_CALLS, params.seed)
    report = run_benchmark(artifacts, inputs, spec, params.seed)
    report["settings"]["inputs_from"] = str(DEV)
    write_json(f"metrics/benchmark/{model}.json", report)
    write_csv(f"metrics/benchmark/{model}_by_length.csv", csv_rows(report["by_length"]))
    settings = [s.name for s in inputs.main]
    checked = {"A/A": report["aa"]} if report["aa"] else {}
    for name, compared in {**checked, **report["against_baseline"]}.items():
        print(f"{name}: " + "; ".join(f"{s} {compared[s]['verdict']}" for s in settings), flush=True)


if __name__ == "__main__":
    stage.run(main)
