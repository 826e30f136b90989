"""SST-2: find the source, read it strictly, draw the training subset, describe it.

The source is a local GLUE-format folder (``train.tsv`` and ``dev.tsv``, header
``sentence<TAB>label``, no quoting) or, when no folder is named, the Hugging Face
hub dataset ``nyu-mll/glue`` / ``sst2``. Every malformed input stops with a
``DataError`` that names the file and line, or the fix.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prunelab.errors import DataError

SPLIT_FILES = {"train": "train.tsv", "dev": "dev.tsv"}
HEADER = "sentence\tlabel"
HUB_DATASET = "nyu-mll/glue"
HUB_CONFIG = "sst2"


@dataclass(frozen=True)
class Source:
    """Where SST-2 comes from, with enough identity to tell when it changed."""

    kind: str  # "local" or "hub"
    location: str  # folder path, or "nyu-mll/glue/sst2"
    fingerprints: dict[str, str]  # local: sha256 per file; hub: {"revision": commit sha}

    def identity(self) -> dict:
        """What the data is, not where it lies: moving the folder changes nothing downstream."""
        return {"kind": self.kind, "fingerprints": self.fingerprints}

    def to_dict(self) -> dict:
        return {"kind": self.kind, "location": self.location, "fingerprints": self.fingerprints}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def named_folder(local_dir: str | None) -> str | None:
    """The SST-2 folder this machine names: SST2_DIR wins over ``data.local_dir``; None means the hub."""
    return os.environ.get("SST2_DIR") or local_dir or None


def locate_source(local_dir: str | None) -> Source:
    """The named folder's files, or with no folder named the hub's current revision."""
    folder = named_folder(local_dir)
    if folder:
        return _local_source(Path(folder))
    return _hub_source()


def _local_source(folder: Path) -> Source:
    if not folder.is_dir():
        raise DataError(
            f"SST-2 folder {folder} does not exist. Set SST2_DIR (or data.local_dir in "
            "params.yaml) to a folder holding GLUE's train.tsv and dev.tsv, or unset both "
            "to download nyu-mll/glue/sst2 from the Hugging Face hub."
        )
    fingerprints = {}
    for name in SPLIT_FILES.values():
        path = folder / name
        if not path.is_file():
            raise DataError(f"{path}: file missing; the SST-2 folder must hold {' and '.join(SPLIT_FILES.values())}.")
        try:
            fingerprints[name] = sha256_file(path)
        except OSError as err:
            raise DataError(f"{path}: cannot be read ({err.strerror}); check its permissions.") from err
    return Source("local", str(folder.resolve()), fingerprints)


def _hub_source() -> Source:
    try:
        from huggingface_hub import HfApi

        revision = HfApi().dataset_info(HUB_DATASET).sha
    except Exception as err:  # any failure here means the same thing to the user
        raise DataError(
            f"No local SST-2 folder is set and the Hugging Face hub is unreachable ({type(err).__name__}). "
            "Set SST2_DIR (or data.local_dir in params.yaml) to a folder holding GLUE's train.tsv and dev.tsv."
        ) from err
    return Source("hub", f"{HUB_DATASET}/{HUB_CONFIG}", {"revision": revision})


def load_splits(source: Source) -> dict[str, pd.DataFrame]:
    """Both splits as DataFrames with columns ``sentence`` (str) and ``label`` (int8)."""
    if source.kind == "local":
        return {split: read_glue_tsv(Path(source.location) / name) for split, name in SPLIT_FILES.items()}
    return _load_hub_splits(source.fingerprints["revision"])


def _load_hub_splits(revision: str) -> dict[str, pd.DataFrame]:
    import datasets

    loaded = datasets.load_dataset(HUB_DATASET, HUB_CONFIG, revision=revision)
    splits = {}
    for split in SPLIT_FILES:
        where = f"{HUB_DATASET}/{HUB_CONFIG} split {'validation' if split == 'dev' else split}"
        hub_split = "validation" if split == "dev" else split
        rows = zip(loaded[hub_split]["sentence"], loaded[hub_split]["label"])
        splits[split] = _validated_frame(((str(s), str(y)) for s, y in rows), where, first_line=0)
    return splits


def read_glue_tsv(path: Path) -> pd.DataFrame:
    """Read a GLUE TSV exactly: one header line, then ``sentence<TAB>label`` a line."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror}); check that it exists and is readable.") from err
    except UnicodeDecodeError as err:
        line = Path(path).read_bytes()[: err.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not valid UTF-8; SST-2 files are UTF-8 text.") from err
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0].rstrip("\r") != HEADER:
        raise DataError(f"{path}, line 1: expected the header 'sentence<TAB>label' of a GLUE SST-2 file.")

    def fields():
        for number, line in enumerate(lines[1:], start=2):
            parts = line.rstrip("\r").split("\t")
            if len(parts) != 2:
                raise DataError(
                    f"{path}, line {number}: expected 2 tab-separated fields (sentence, label), found {len(parts)}."
                )
            yield parts

    return _validated_frame(fields(), str(path), first_line=2)


def _validated_frame(rows, where: str, first_line: int) -> pd.DataFrame:
    sentences, labels = [], []
    for offset, (sentence, label) in enumerate(rows):
        position = f"{where}, line {first_line + offset}" if first_line else f"{where}, row {offset}"
        if label not in ("0", "1"):
            raise DataError(f"{position}: label {label!r} is not 0 or 1.")
        if not sentence.strip():
            raise DataError(f"{position}: the sentence is empty.")
        sentences.append(sentence.strip())
        labels.append(int(label))
    if not sentences:
        raise DataError(f"{where}: holds no examples.")
    return pd.DataFrame({"sentence": sentences, "label": np.array(labels, dtype=np.int8)})


# A selection sentence shares no phrase of this many words or more with the training subset: every
# such phrase inside it (a node of its parse tree) leaves the pool the subset is drawn from. Single
# words stay, because they recur between unrelated sentences, as they do between training and dev;
# taking them out too would thin the pool's shortest phrases (docs/decisions/selection-set.md).
SHARED_PHRASE_WORDS = 2


def words(sentence: str) -> tuple[str, ...]:
    """SST-2 sentences are tokenized already: a phrase of a parse tree is a run of these words."""
    return tuple(sentence.split())


def spans(sequence: tuple, min_words: int = 1) -> set[tuple]:
    """Every contiguous run of at least ``min_words`` words of ``sequence``, itself included."""
    n = len(sequence)
    return {sequence[i:j] for i in range(n) for j in range(i + min_words, n + 1)}


def whole_sentences(sentences) -> set[tuple]:
    """The word sequences that are no proper span of another of ``sentences``: GLUE's training file
    holds every phrase of every parse tree, and these are the trees' roots, the whole sentences."""
    phrases = {words(s) for s in sentences}
    inside = {run for phrase in phrases for run in spans(phrase) if len(run) < len(phrase) and run in phrases}
    return phrases - inside


def shares_phrase(sentences, training_sentences, min_words: int) -> np.ndarray:
    """Per sentence, whether it contains a whole training row of at least ``min_words`` words."""
    trained = {w for w in map(words, training_sentences) if len(w) >= min_words}
    return np.array([not trained.isdisjoint(spans(words(s), min_words)) for s in sentences], dtype=bool)


def draw_splits(train: pd.DataFrame, dev: pd.DataFrame, train_size: int, selection_size: int,
                seed: int, whole_sentence_share: float | None = None) -> dict[str, pd.DataFrame]:
    """The seeded selection set of whole, unseen sentences, the training subset drawn around it, and the pool.

    Every choice (an epoch, a recipe, a deployment gate) is made on the selection set, so it must
    stand for dev: whole sentences like dev's, none of them in dev, and none of their phrases of
    ``SHARED_PHRASE_WORDS`` or more words trained on. The subset is then drawn from the training
    file's rows (phrases of every length), less those phrases: uniformly, or with
    ``whole_sentence_share`` of it whole sentences and the rest shorter phrases. ``pool`` is every
    row left, distinct and none in the subset, in a seeded order: the inputs a recovery may distil
    the baseline's predictions on beyond the subset (``DistillSpec.transfer_size``).
    """
    if not 0 < train_size <= len(train):
        raise DataError(
            f"data.train_size is {train_size}; it must be between 1 and {len(train)} (the training split's size)."
        )
    whole = whole_sentences(train["sentence"])
    sequences = train["sentence"].map(words)
    candidates = train[sequences.map(whole.__contains__).to_numpy() & ~train["sentence"].isin(set(dev["sentence"]))]
    candidates = candidates.drop_duplicates("sentence")
    if selection_size > len(candidates):
        raise DataError(f"data.selection_size is {selection_size}, but the training split holds only "
                        f"{len(candidates)} whole sentences outside dev; lower data.selection_size.")
    selection = candidates.sample(n=selection_size, random_state=seed)
    held_out = set(selection["sentence"].map(words))
    held_out |= {run for sequence in held_out for run in spans(sequence, SHARED_PHRASE_WORDS)}
    pool = train[~sequences.map(held_out.__contains__).to_numpy()]
    if train_size > len(pool):
        raise DataError(f"data.train_size is {train_size}, but only {len(pool)} training rows share no phrase "
                        f"with the {selection_size}-sentence selection set; lower data.train_size or "
                        "data.selection_size.")
    subset = _draw_subset(pool, whole, train_size, whole_sentence_share, seed)
    rest = pool[~pool["sentence"].isin(set(subset["sentence"]))].drop_duplicates("sentence")
    return {"train": subset.reset_index(drop=True), "selection": selection.reset_index(drop=True),
            "pool": rest.sample(frac=1.0, random_state=seed).reset_index(drop=True)}


def _draw_subset(pool: pd.DataFrame, whole: set[tuple], size: int, whole_share: float | None,
                 seed: int) -> pd.DataFrame:
    if whole_share is None:
        return pool.sample(n=size, random_state=seed)
    is_whole = pool["sentence"].map(words).map(whole.__contains__).to_numpy()
    wanted = round(whole_share * size)
    if wanted > is_whole.sum() or size - wanted > (~is_whole).sum():
        raise DataError(f"data.whole_sentence_share {whole_share} of data.train_size {size} asks for {wanted} whole "
                        f"sentences and {size - wanted} shorter phrases; the pool holds {is_whole.sum()} and "
                        f"{(~is_whole).sum()}: lower data.train_size or change the share.")
    parts = [pool[is_whole].sample(n=wanted, random_state=seed), pool[~is_whole].sample(n=size - wanted,
                                                                                         random_state=seed)]
    return pd.concat(parts).sample(frac=1.0, random_state=seed)


def split_facts(splits: dict[str, pd.DataFrame], files: dict[str, pd.DataFrame]) -> dict[str, dict]:
    """Per split, the share of whole sentences and of sentences holding a training-subset phrase of two
    and of three or more words (the selection rule's length and the next; not asked of the subset).
    A sentence is whole within the file it was drawn from: ``files["train"]`` for the subset and the
    selection set, ``files["dev"]`` for dev."""
    whole = {name: whole_sentences(frame["sentence"]) for name, frame in files.items()}
    trained = splits["train"]["sentence"]
    facts = {}
    for split, frame in splits.items():
        roots = whole["dev" if split == "dev" else "train"]
        facts[split] = {"whole_sentence_fraction": round(float(frame["sentence"].map(words).map(roots.__contains__)
                                                                 .mean()), 4)}
        for n in (2, 3):
            # The subset and the pool are rows of the training trees: their phrases recur by construction.
            shared = (None if split in ("train", "pool")
                      else round(float(shares_phrase(frame["sentence"], trained, n).mean()), 4))
            facts[split][f"shares_training_phrase_{n}_words"] = shared
    return facts


def describe(frame: pd.DataFrame, token_lengths: np.ndarray, max_length: int) -> dict:
    """Rows, label balance and token-length percentiles (special tokens included)."""
    positives = int(frame["label"].sum())
    return {
        "rows": len(frame),
        "positive": positives,
        "negative": len(frame) - positives,
        "positive_fraction": round(positives / len(frame), 4),
        "tokens_mean": round(float(token_lengths.mean()), 2),
        "tokens_p50": float(np.percentile(token_lengths, 50)),
        "tokens_p90": float(np.percentile(token_lengths, 90)),
        "tokens_p99": float(np.percentile(token_lengths, 99)),
        "tokens_max": int(token_lengths.max()),
        "truncated_fraction": round(float((token_lengths > max_length).mean()), 4),
    }
