"""Tokenize once, then batch by length.

SST-2 sentences are short; padding every batch to ``max_length`` spends
most of the compute on padding. Sentences are grouped into a few fixed lengths
(``bucket_lengths``) and padded to their bucket's length, so a batch is never
much longer than its sentences and only a handful of shapes ever occur.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from prunelab.errors import ParamsError


@dataclass(frozen=True)
class Encoded:
    """Token ids per sentence (special tokens included, truncated) and labels."""

    token_ids: list[np.ndarray]
    labels: np.ndarray
    pad_id: int

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(ids) for ids in self.token_ids])

    def take(self, indices) -> Encoded:
        """The sentences at ``indices``, in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        return Encoded([self.token_ids[i] for i in indices], self.labels[indices], self.pad_id)

    def length_order(self) -> np.ndarray:
        """Indices shortest sentence first: fixed-size batches taken in this order carry little padding."""
        return np.argsort(self.lengths, kind="stable")


# The label of a row learnt from a teacher's predictions alone: distillation's transfer rows.
NO_LABEL = -1


def training_rows(data: dict[str, Encoded]) -> Encoded:
    """What a fine-tuning trains on: the training subset, then the ``transfer`` rows (when ``data`` has
    them) with their labels replaced by ``NO_LABEL``: they are learnt from the teacher alone."""
    train, transfer = data["train"], data.get("transfer")
    if transfer is None or not len(transfer):
        return train
    return Encoded(train.token_ids + transfer.token_ids,
                   np.concatenate([train.labels, np.full(len(transfer), NO_LABEL, dtype=np.int32)]), train.pad_id)


def encode(tokenizer, sentences, labels, max_length: int) -> Encoded:
    ids = tokenizer(list(sentences), truncation=True, max_length=max_length)["input_ids"]
    token_ids = [np.asarray(x, dtype=np.int32) for x in ids]
    return Encoded(token_ids, np.asarray(labels, dtype=np.int32), tokenizer.pad_token_id)


def token_lengths(tokenizer, sentences) -> np.ndarray:
    """Untruncated lengths, to report how much ``max_length`` cuts off."""
    return np.array([len(ids) for ids in tokenizer(list(sentences))["input_ids"]])


def steps_per_epoch(data: Encoded, bucket_lengths: list[int], batch_size: int) -> int:
    """Batches per epoch: every bucket ends with one partial batch."""
    bucket_of = np.searchsorted(bucket_lengths, data.lengths)
    counts = np.bincount(bucket_of, minlength=len(bucket_lengths))
    return int(sum(math.ceil(c / batch_size) for c in counts))


def bucketed_dataset(data: Encoded, bucket_lengths: list[int], batch_size: int, shuffle_seed: int | None):
    """Batches of ``{"input_ids", "attention_mask", "index"}, labels`` padded to their bucket's length;
    ``index`` is each sentence's position in ``data`` (what per-sentence targets are looked up by).

    With a seed the sentence order is reshuffled every epoch (deterministically);
    without, batches come in a fixed order, as evaluation needs.
    """
    ragged = tf.ragged.constant(data.token_ids, dtype=tf.int32)
    dataset = tf.data.Dataset.from_tensor_slices((ragged, data.labels, np.arange(len(data), dtype=np.int64)))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(data), seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.map(lambda ids, label, index: (ids, tf.ones_like(ids), label, index))
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=lambda ids, mask, label, index: tf.shape(ids)[0],
        bucket_boundaries=[n + 1 for n in bucket_lengths[:-1]],
        bucket_batch_sizes=[batch_size] * len(bucket_lengths),
        padded_shapes=([None], [None], [], []),
        padding_values=(data.pad_id, 0, 0, np.int64(0)),
        pad_to_bucket_boundary=False,
    )
    dataset = dataset.map(lambda ids, mask, label, index: _pad_to_bucket(ids, mask, label, index, bucket_lengths,
                                                                         data.pad_id))
    return dataset.prefetch(tf.data.AUTOTUNE)


def _pad_to_bucket(ids, mask, label, index, bucket_lengths, pad_id):
    length = tf.shape(ids)[1]
    bucket = tf.gather(bucket_lengths, tf.searchsorted(bucket_lengths, [length]))[0]
    padding = [[0, 0], [0, bucket - length]]
    features = {
        "input_ids": tf.pad(ids, padding, constant_values=pad_id),
        "attention_mask": tf.pad(mask, padding),
        "index": index,
    }
    return features, label


def padded_batches(data: Encoded, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed ``(input_ids, attention_mask)`` batches in data order, padded to each batch's longest."""
    batches = []
    for start in range(0, len(data), batch_size):
        chunk = data.token_ids[start : start + batch_size]
        width = max(len(ids) for ids in chunk)
        ids = np.full((len(chunk), width), data.pad_id, dtype=np.int32)
        mask = np.zeros((len(chunk), width), dtype=np.int32)
        for row, sentence in enumerate(chunk):
            ids[row, : len(sentence)] = sentence
            mask[row, : len(sentence)] = 1
        batches.append((ids, mask))
    return batches


def logits_in_data_order(logits_of, data: Encoded, batch_size: int) -> np.ndarray:
    """``logits_of(input_ids, attention_mask)`` over every sentence, batched shortest first (little
    padding), returned in ``data``'s order. Serves Keras models, SavedModels and LiteRT files alike."""
    order = data.length_order()
    batches = padded_batches(data.take(order), batch_size)
    logits = np.concatenate([np.asarray(logits_of(ids, mask)) for ids, mask in batches])
    in_order = np.empty_like(logits)
    in_order[order] = logits
    return in_order


PREPARED_SPLITS = ("train", "selection", "dev")


def encode_prepared(tokenizer, folder, max_length: int, splits=PREPARED_SPLITS,
                    transfer_size: int = 0) -> dict[str, Encoded]:
    """The prepared parquet splits (training subset, selection set, SST-2 dev), tokenized; with
    ``transfer_size``, also ``transfer``: the first rows of the pool (``sst2.draw_splits``)."""
    from pathlib import Path

    import pandas as pd

    encoded = {}
    for split in splits:
        frame = pd.read_parquet(Path(folder) / f"{split}.parquet")
        encoded[split] = encode(tokenizer, frame["sentence"], frame["label"], max_length)
    if transfer_size:
        pool = pd.read_parquet(Path(folder) / "pool.parquet")
        if transfer_size > len(pool):
            raise ParamsError(f"distill.transfer_size {transfer_size} exceeds the {len(pool)} rows of the pool "
                              f"({Path(folder) / 'pool.parquet'}); lower it")
        frame = pool.iloc[:transfer_size]
        encoded["transfer"] = encode(tokenizer, frame["sentence"], frame["label"], max_length)
    return encoded
