"""SST-2 → the training subset, the selection set and the dev (test) split, as parquet, with stats."""

import shutil
from pathlib import Path

from prunelab import stage
from prunelab.data.batching import token_lengths
from prunelab.data.sst2 import describe, draw_splits, load_splits, locate_source, split_facts
from prunelab.errors import DataError
from prunelab.files import read_json, write_json
from prunelab.model.checkpoint import load_tokenizer, resolve_checkpoint

OUT = Path("data/prepared")


def main(params):
    source = locate_source(params.data.local_dir)
    if source.identity() != read_json("data/source.json"):
        raise DataError(f"SST-2 at {source.location} changed after the source stage ran; run `dvc repro` again.")
    splits = load_splits(source)
    prepared = draw_splits(splits["train"], splits["dev"], params.data.train_size, params.data.selection_size,
                           params.seed, params.data.whole_sentence_share)
    prepared["dev"] = splits["dev"]
    facts = split_facts(prepared, splits)

    tokenizer = load_tokenizer(resolve_checkpoint(params.model.checkpoint))
    stats = {"source": source.identity()}  # what the data is, not where it lay
    staging = OUT.with_name(OUT.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for split, frame in prepared.items():
        frame.to_parquet(staging / f"{split}.parquet", index=False)
        stats[split] = describe(frame, token_lengths(tokenizer, frame["sentence"]), params.model.max_length)
        stats[split].update(facts[split])
        print(f"{split}: {stats[split]}")
    shutil.rmtree(OUT, ignore_errors=True)
    staging.rename(OUT)
    write_json("metrics/data.json", stats)


if __name__ == "__main__":
    stage.run(main)
