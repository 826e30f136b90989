import numpy as np
import pytest
import tensorflow as tf

from conftest import fine_tuning, random_encoded, tiny_model
from prunelab.data.batching import padded_batches
from prunelab.errors import UserError
from prunelab.training.teacher import load_teacher, save_logits, teacher_outputs


def test_outputs_match_the_teacher_sentence_by_sentence():
    """Computed in length-sorted batches, returned in the data's order, padding left out."""
    teacher, data = tiny_model("bert", seed=5), random_encoded(20, seed=4)
    outputs = teacher_outputs(teacher, data, hidden_states=True, batch_size=8)
    for index in (0, 7, 19):
        ids, mask = (tf.constant(x) for x in padded_batches(data.take([index]), 1)[0])
        alone = teacher(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        np.testing.assert_allclose(outputs.logits[index], alone.logits[0], atol=1e-5)
        states = np.stack([h[0].numpy() for h in alone.hidden_states[1:]], axis=1)  # [tokens, layers, hidden]
        np.testing.assert_allclose(outputs.hidden[index], states, atol=1e-5)


def test_a_batch_pads_the_states_to_its_length():
    teacher, data = tiny_model("bert", seed=5), random_encoded(12, seed=1)
    outputs = teacher_outputs(teacher, data, hidden_states=True)
    indices = np.array([3, 0, 11])
    logits, states = outputs.batch(indices, length=45, states=True)
    np.testing.assert_array_equal(logits, outputs.logits[indices])
    assert states.shape == (3, 45, 2, 16)  # two layers, hidden size 16
    for row, index in enumerate(indices):
        n = len(data.token_ids[index])
        np.testing.assert_array_equal(states[row, :n], outputs.hidden[index])
        assert not states[row, n:].any()
    assert len(outputs.batch(indices, 45, states=False)) == 1
    with pytest.raises(ValueError, match="no hidden states"):
        teacher_outputs(teacher, data, hidden_states=False).batch(indices, 45, states=True)


RECOVERY = dict(batch_size=8, learning_rate=1e-3, warmup_ratio=0.0, weight_decay=0.0, bucket_lengths=[40], seed=0)


def test_a_recovery_on_logits_alone_reads_the_logits_the_train_stage_saved(tmp_path):
    teacher, data = tiny_model("bert", seed=5), random_encoded(20, seed=4)
    save_logits(teacher, data, tmp_path)
    recovery = fine_tuning(epochs=1, **RECOVERY, distill={"alpha": 0.5})
    loaded = load_teacher(tmp_path, {"train": data}, recovery)  # tmp_path holds no checkpoint: the teacher is not run
    np.testing.assert_array_equal(loaded.logits, teacher_outputs(teacher, data, hidden_states=False).logits)
    assert loaded.hidden is None
    with pytest.raises(UserError, match="holds 20 sentences' logits, the training data 12"):
        load_teacher(tmp_path, {"train": random_encoded(12)}, recovery)


def test_no_teacher_is_loaded_for_a_recovery_that_distils_nothing(tmp_path):
    base = RECOVERY
    missing = tmp_path / "no-checkpoint-here"  # never read: these recoveries need no teacher
    for recovery in (None, fine_tuning(epochs=0, **base, distill={"alpha": 0.5}), fine_tuning(epochs=1, **base)):
        assert load_teacher(missing, {"train": random_encoded(4)}, recovery) is None


def test_transfer_rows_are_given_the_teachers_logits_after_the_saved_ones(tmp_path):
    teacher, train, transfer = tiny_model("bert", seed=5), random_encoded(20, seed=4), random_encoded(9, seed=6)
    save_logits(teacher, train, tmp_path)
    teacher.save_pretrained(str(tmp_path / "checkpoint"))
    recovery = fine_tuning(epochs=1, **RECOVERY, distill={"alpha": 0.5, "transfer_size": 9})
    loaded = load_teacher(tmp_path, {"train": train, "transfer": transfer}, recovery)
    assert len(loaded) == 29
    np.testing.assert_array_equal(loaded.logits[:20], np.load(tmp_path / "teacher_logits.npy"))
    np.testing.assert_allclose(loaded.logits[20:], teacher_outputs(teacher, transfer, hidden_states=False).logits,
                               atol=1e-5)
