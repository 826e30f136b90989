"""The inputs every artifact times: real dev sentences, chosen once and sent to every worker.

Pure numpy over token ids, so the inputs are the same arrays for a SavedModel and a
LiteRT file. Two kinds of set:

- as a user sends them: batch 1, a fixed handful of sentences one call each at its
  own length (their times summed per round); batch ``batch_size``, one fixed batch
  padded to its longest sentence;
- at fixed lengths: every sentence's ids truncated or repeated to exactly ``length``
  tokens with a mask of ones, so latency can be read against length alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Call = tuple[np.ndarray, np.ndarray]  # (input_ids, attention_mask), int32 [batch, length]


@dataclass(frozen=True)
class InputSet:
    """Calls timed back to back in one round; ``length`` is None when each sentence keeps its own."""

    name: str
    batch: int
    length: int | None
    calls: list[Call]

    def describe(self) -> dict:
        described = {"batch": self.batch, "length": self.length, "calls_per_round": len(self.calls)}
        if self.length is None:
            described["tokens_per_call"] = [int(ids.shape[1]) for ids, _ in self.calls]
        return described


def set_name(batch: int, length: int | None = None) -> str:
    """``batch1``, ``batch32``; at a fixed length ``batch1_len64``."""
    return f"batch{batch}" if length is None else f"batch{batch}_len{length}"


def choose(count: int, available: int, rng: np.random.Generator) -> np.ndarray:
    if count > available:
        raise ValueError(f"the benchmark needs {count} sentences but the input has {available}")
    return rng.choice(available, size=count, replace=False)


def sentence_set(token_ids: list[np.ndarray], pad_id: int, batch: int) -> InputSet:
    """Batch 1: one call a sentence, unpadded. Otherwise one batch padded to its longest sentence."""
    if batch == 1:
        calls = [(ids[None, :].astype(np.int32), np.ones((1, len(ids)), np.int32)) for ids in token_ids]
        return InputSet(set_name(1), 1, None, calls)
    width = max(len(ids) for ids in token_ids)
    ids = np.full((len(token_ids), width), pad_id, dtype=np.int32)
    mask = np.zeros((len(token_ids), width), dtype=np.int32)
    for row, sentence in enumerate(token_ids):
        ids[row, : len(sentence)] = sentence
        mask[row, : len(sentence)] = 1
    return InputSet(set_name(batch), batch, None, [(ids, mask)])


def fixed_length_ids(sentence: np.ndarray, length: int) -> np.ndarray:
    """The sentence's ids cut to ``length``, or repeated end to end until they fill it."""
    return np.resize(np.asarray(sentence, dtype=np.int32), length)


def length_sets(token_ids: list[np.ndarray], lengths: list[int], batch: int, batch1_calls: int) -> list[InputSet]:
    """At each length: ``batch1_calls`` single sentences, and one batch of ``len(token_ids)``.

    The single sentences are the batch's first rows, so both settings read the same text.
    """
    sets = []
    for length in lengths:
        rows = np.stack([fixed_length_ids(ids, length) for ids in token_ids])
        ones = np.ones_like(rows)
        singles = [(rows[i : i + 1], ones[i : i + 1]) for i in range(min(batch1_calls, len(rows)))]
        sets.append(InputSet(set_name(1, length), 1, length, singles))
        sets.append(InputSet(set_name(batch, length), batch, length, [(rows, ones)]))
    return sets


@dataclass(frozen=True)
class Inputs:
    """The two groups of sets: as sentences come (``main``) and at fixed lengths (``by_length``)."""

    main: list[InputSet]
    by_length: list[InputSet]

    def all(self) -> list[InputSet]:
        return [*self.main, *self.by_length]


def build_inputs(token_ids: list[np.ndarray], pad_id: int, batch1_sentences: int, batch_size: int,
                 lengths: list[int], length_batch1_calls: int, seed: int) -> Inputs:
    """Seeded choice of the dev sentences: the batch-1 handful, and the batch (also the length sweep's text)."""
    if batch_size < 2:
        raise ValueError(f"batch_size {batch_size}: the batched setting needs at least 2 sentences")
    rng = np.random.default_rng(seed)
    singles = [token_ids[i] for i in choose(batch1_sentences, len(token_ids), rng)]
    batch = [token_ids[i] for i in choose(batch_size, len(token_ids), rng)]
    main = [sentence_set(singles, pad_id, 1), sentence_set(batch, pad_id, batch_size)]
    return Inputs(main, length_sets(batch, lengths, batch_size, length_batch1_calls))
