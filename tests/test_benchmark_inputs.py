import numpy as np
import pytest

from prunelab.measurement.benchmark.inputs import build_inputs, fixed_length_ids, length_sets, sentence_set


def sentences(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return [np.concatenate([[101], rng.integers(1000, 2000, rng.integers(3, 30)), [102]]).astype(np.int32)
            for _ in range(n)]


def test_batch1_keeps_each_sentence_at_its_own_length_unpadded():
    ids = sentences(5)
    single = sentence_set(ids, pad_id=0, batch=1)
    assert single.name == "batch1" and single.length is None
    assert [call[0].shape for call in single.calls] == [(1, len(s)) for s in ids]
    assert all(mask.sum() == mask.size for _, mask in single.calls)
    assert single.describe() == {"batch": 1, "length": None, "calls_per_round": 5,
                                 "tokens_per_call": [len(s) for s in ids]}
    np.testing.assert_array_equal(single.calls[2][0][0], ids[2])


def test_a_batch_is_padded_to_its_longest_sentence_with_a_mask():
    ids = [np.array([101, 5, 102], np.int32), np.array([101, 5, 6, 7, 102], np.int32)]
    batch = sentence_set(ids, pad_id=0, batch=2)
    (tokens, mask), = batch.calls
    assert tokens.shape == (2, 5) and tokens.dtype == np.int32
    np.testing.assert_array_equal(tokens[0], [101, 5, 102, 0, 0])
    np.testing.assert_array_equal(mask[0], [1, 1, 1, 0, 0])
    assert mask[1].sum() == 5


def test_fixed_length_truncates_or_repeats_real_ids():
    sentence = np.array([101, 7, 8, 102])
    np.testing.assert_array_equal(fixed_length_ids(sentence, 2), [101, 7])
    np.testing.assert_array_equal(fixed_length_ids(sentence, 10), [101, 7, 8, 102, 101, 7, 8, 102, 101, 7])


def test_length_sets_give_both_settings_at_every_length_with_full_masks():
    sets = length_sets(sentences(8), [16, 64], batch=8, batch1_calls=3)
    assert [(s.name, s.batch, s.length, len(s.calls)) for s in sets] == [
        ("batch1_len16", 1, 16, 3), ("batch8_len16", 8, 16, 1), ("batch1_len64", 1, 64, 3), ("batch8_len64", 8, 64, 1)]
    assert sets[3].describe() == {"batch": 8, "length": 64, "calls_per_round": 1}
    (tokens, mask), = sets[3].calls
    assert tokens.shape == (8, 64) and mask.min() == 1
    np.testing.assert_array_equal(sets[2].calls[1][0][0], tokens[1])  # the single sentences are the batch's rows


def test_inputs_are_a_seeded_choice_of_distinct_sentences():
    ids = sentences(100)
    a = build_inputs(ids, 0, 16, 32, [16, 32], 4, seed=3)
    b = build_inputs(ids, 0, 16, 32, [16, 32], 4, seed=3)
    c = build_inputs(ids, 0, 16, 32, [16, 32], 4, seed=4)
    assert [s.name for s in a.main] == ["batch1", "batch32"]
    assert len(a.main[0].calls) == 16 and a.main[1].calls[0][0].shape[0] == 32
    chosen = {tuple(call[0][0]) for call in a.main[0].calls}
    assert len(chosen) == 16
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a.main[0].calls, b.main[0].calls))
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a.main[0].calls, c.main[0].calls))
    assert len(a.by_length) == 4 and len(a.all()) == 6


def test_too_few_sentences_is_an_error():
    with pytest.raises(ValueError, match="needs 32 sentences"):
        build_inputs(sentences(20), 0, 4, 32, [16], 4, seed=0)
