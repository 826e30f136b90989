"""SST-2 → the training subset and the full validation split, as parquet, with stats."""

import shutil
from pathlib import Path

from prunelab import stage
from prunelab.batching import token_lengths
from prunelab.data import describe, draw_subset, load_splits, locate_source
from prunelab.errors import DataError
from prunelab.files import load_params, read_json, write_json
from prunelab.modeling import load_tokenizer, resolve_checkpoint

OUT = Path("data/prepared")


def main():
    params = load_params()
    source = locate_source(params["data"]["local_dir"])
    if source.identity() != read_json("data/source.json"):
        raise DataError(f"SST-2 at {source.location} changed after the source stage ran; run `dvc repro` again.")
    splits = load_splits(source)
    subset = {"train": draw_subset(splits["train"], params["data"]["train_size"], params["seed"]),
              "validation": splits["validation"]}

    tokenizer = load_tokenizer(resolve_checkpoint(params["model"]["checkpoint"]))
    stats = {"source": source.to_dict()}
    staging = OUT.with_name(OUT.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for split, frame in subset.items():
        frame.to_parquet(staging / f"{split}.parquet", index=False)
        lengths = token_lengths(tokenizer, frame["sentence"])
        stats[split] = describe(frame, lengths, params["model"]["max_length"])
        print(f"{split}: {stats[split]}")
    shutil.rmtree(OUT, ignore_errors=True)
    staging.rename(OUT)
    write_json("metrics/data.json", stats)


if __name__ == "__main__":
    stage.run(main)
