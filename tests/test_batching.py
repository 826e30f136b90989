import numpy as np

from conftest import random_encoded
from prunelab.data.batching import bucketed_dataset, logits_in_data_order, padded_batches, steps_per_epoch

BUCKETS = [8, 16, 32, 40]


def test_every_sentence_once_per_epoch_padded_to_its_bucket():
    data = random_encoded(100)
    batches = list(bucketed_dataset(data, BUCKETS, batch_size=8, shuffle_seed=1))
    assert len(batches) == steps_per_epoch(data, BUCKETS, 8)
    seen = []
    for features, _ in batches:
        ids, mask = features["input_ids"].numpy(), features["attention_mask"].numpy()
        assert ids.shape[1] in BUCKETS
        real_lengths = mask.sum(1)
        # A batch sits in the smallest bucket that holds its longest sentence.
        assert ids.shape[1] == min(b for b in BUCKETS if b >= real_lengths.max())
        assert np.all(ids[mask == 0] == data.pad_id)
        seen += [tuple(row[:n]) for row, n in zip(ids, real_lengths)]
        for row, n, index in zip(ids, real_lengths, features["index"].numpy()):  # each row's place in ``data``
            assert np.array_equal(row[:n], data.token_ids[index])
    assert sorted(seen) == sorted(tuple(s) for s in data.token_ids)


def test_shuffling_is_seeded():
    data = random_encoded(50)

    def first_batch(seed):
        return next(iter(bucketed_dataset(data, BUCKETS, 8, shuffle_seed=seed)))[0]["input_ids"].numpy()

    assert np.array_equal(first_batch(3), first_batch(3))


def test_padded_batches_keep_order_and_pad_to_longest():
    data = random_encoded(10)
    (ids, mask), *_ = padded_batches(data, 4)
    assert ids.shape == (4, max(len(s) for s in data.token_ids[:4]))
    assert np.array_equal(ids[0, : len(data.token_ids[0])], data.token_ids[0])


def test_logits_come_back_in_data_order_whatever_the_batching():
    data = random_encoded(37, seed=4)
    seen_widths = []

    def logits_of(ids, mask):  # each row's own length and first id, so any mix-up shows
        seen_widths.append(ids.shape[1])
        return np.stack([mask.sum(1), ids[:, 1]], axis=1).astype(np.float32)

    logits = logits_in_data_order(logits_of, data, batch_size=8)
    assert logits[:, 0].tolist() == data.lengths.tolist()
    assert logits[:, 1].tolist() == [ids[1] for ids in data.token_ids]
    assert seen_widths == sorted(seen_widths)  # shortest first: little padding
