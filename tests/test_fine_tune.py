import numpy as np
import pytest
import tensorflow as tf

from conftest import fine_tuning, random_encoded, tiny_model
from prunelab.data.batching import Encoded, padded_batches, training_rows
from prunelab.model.checkpoint import canonical_name
from prunelab.training.fine_tune import (
    _inference_function,
    accuracy_in_memory,
    fine_tune,
    hidden_state_error,
    predict_in_memory,
)
from prunelab.training.teacher import teacher_outputs


def config(distill=None, **overrides):
    settings = dict(epochs=1, batch_size=8, learning_rate=1e-3, warmup_ratio=0.0, weight_decay=0.01,
                    bucket_lengths=[16, 40], seed=3, log_every=4, distill=distill or {})
    return fine_tuning(**{**settings, **overrides})


def test_fine_tuning_is_reproducible_for_a_seed():
    weights = []
    for _ in range(2):
        model = tiny_model("bert", seed=0)
        fine_tune(model, random_encoded(64), random_encoded(16, seed=1), config(), label="test")
        weights.append([v.numpy() for v in model.weights])
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


def test_fine_tuning_learns_a_learnable_task():
    train, validation = random_encoded(256, seed=0), random_encoded(128, seed=1)
    model = tiny_model("bert", seed=0)
    before = accuracy_in_memory(model, validation, 32)
    steps, epochs = fine_tune(model, train, validation, config(epochs=4, learning_rate=3e-3), label="test")
    assert epochs[-1]["selection_accuracy"] > max(before, 0.75)
    assert steps[-1]["loss"] < steps[0]["loss"]


def test_distillation_pulls_the_student_towards_the_teacher():
    train = random_encoded(64, seed=0)
    teacher = tiny_model("bert", seed=5)

    def gap(alpha):
        student = tiny_model("bert", seed=0)
        fine_tune(student, train, train, config(epochs=3, distill={"alpha": alpha, "temperature": 1.0}),
                  teacher=teacher_outputs(teacher, train, hidden_states=False), label="test")
        return np.abs(predict_in_memory(student, train, 32) - predict_in_memory(teacher, train, 32)).mean()

    assert gap(1.0) < gap(0.0)


def test_hidden_state_distillation_pulls_every_layer_towards_the_teacher():
    train = random_encoded(64, seed=0)
    teacher = tiny_model("bert", seed=5)
    ids, mask = (tf.constant(x) for x in padded_batches(train, 64)[0])

    def layer_errors(hidden_weight):
        student = tiny_model("bert", seed=0)
        fine_tune(student, train, train, config(epochs=3, distill={"alpha": 0.5, "hidden_weight": hidden_weight}),
                  teacher=teacher_outputs(teacher, train, hidden_states=True), label="test")
        ours = student(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        theirs = teacher(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        return np.array([float(hidden_state_error([(a, b)], mask)) for a, b in zip(ours[1:], theirs[1:])])

    assert np.all(layer_errors(10.0) < layer_errors(0.0))


@pytest.mark.parametrize("distill", [{"alpha": 0.5}, {"hidden_weight": 1.0}])
def test_distillation_without_a_teacher_is_refused(distill):
    with pytest.raises(ValueError, match="teacher"):
        fine_tune(tiny_model("bert"), random_encoded(8), random_encoded(8), config(distill=distill))


def test_distillation_needs_the_teachers_outputs_for_these_sentences_and_layers():
    teacher, train = tiny_model("bert", seed=5), random_encoded(8)
    with pytest.raises(ValueError, match="hidden states"):
        fine_tune(tiny_model("bert"), train, train, config(distill={"hidden_weight": 1.0}),
                  teacher=teacher_outputs(teacher, train, hidden_states=False))
    with pytest.raises(ValueError, match="cover 8 sentences"):
        fine_tune(tiny_model("bert"), random_encoded(16), train, config(distill={"alpha": 0.5}),
                  teacher=teacher_outputs(teacher, train, hidden_states=False))


def test_predictions_come_back_in_the_data_order():
    """Batches are formed shortest first; the logits must still line up with the sentences."""
    model, data = tiny_model("bert", seed=0), random_encoded(20, seed=4)
    assert len(set(data.lengths)) > 3
    one_by_one = [predict_in_memory(model, Encoded([ids], data.labels[i : i + 1], data.pad_id), 1)[0]
                  for i, ids in enumerate(data.token_ids)]
    np.testing.assert_allclose(predict_in_memory(model, data, 8), np.array(one_by_one), atol=1e-5)


def test_one_trace_a_model_follows_its_weights_as_they_change():
    """Epochs and sweep points reuse one traced forward pass; it must read the weights as they are now."""
    model, data = tiny_model("bert", seed=0), random_encoded(16, seed=2)
    before = predict_in_memory(model, data, 8)
    classifier = next(v for v in model.weights if "classifier" in v.name and "kernel" in v.name)
    classifier.assign(classifier * 3.0)
    after = predict_in_memory(model, data, 8)
    assert not np.allclose(before, after)
    ids, mask = (tf.constant(x) for x in padded_batches(data, 16)[0])
    np.testing.assert_allclose(after, model(input_ids=ids, attention_mask=mask).logits, atol=1e-5)
    assert _inference_function(model) is _inference_function(model)


def test_frozen_word_embeddings_stay_as_they_were_while_the_rest_trains():
    def changed(embedding_update):
        model = tiny_model("bert", seed=0)
        before = [v.numpy() for v in model.weights]
        fine_tune(model, random_encoded(64), random_encoded(16, seed=1), config(embedding_update=embedding_update),
                  label="test")
        return {canonical_name(v.name): not np.array_equal(b, v.numpy()) for b, v in zip(before, model.weights)}

    trained, frozen = changed("dense"), changed("frozen")
    word_embeddings = {name for name in trained if "/embeddings/word_embeddings/" in name}
    assert len(word_embeddings) == 1 and trained[next(iter(word_embeddings))]
    assert {n for n, c in frozen.items() if c} == {n for n, c in trained.items() if c} - word_embeddings


def test_lazy_embedding_updates_train_every_weight_and_reproducibly():
    runs = []
    for _ in range(2):
        model = tiny_model("bert", seed=0)
        before = [v.numpy() for v in model.weights]
        fine_tune(model, random_encoded(64), random_encoded(16, seed=1), config(embedding_update="lazy"), label="test")
        runs.append([v.numpy() for v in model.weights])
    assert all(np.array_equal(a, b) for a, b in zip(*runs))
    dense = tiny_model("bert", seed=0)
    fine_tune(dense, random_encoded(64), random_encoded(16, seed=1), config(), label="test")
    moved = [not np.array_equal(b, a) for b, a in zip(before, runs[0])]
    assert moved == [not np.array_equal(b, v.numpy()) for b, v in zip(before, dense.weights)]


def test_the_run_record_names_every_setting_that_shaped_the_run():
    record = config(embedding_update="lazy", distill={"alpha": 0.5}).record()
    assert record == {"epochs": 1, "batch_size": 8, "learning_rate": 1e-3, "warmup_ratio": 0.0, "weight_decay": 0.01,
                      "embedding_update": "lazy", "bucket_lengths": [16, 40], "distill_alpha": 0.5,
                      "distill_temperature": 2.0, "distill_hidden_weight": 0.0, "distill_transfer_size": 0}


def test_transfer_rows_learn_from_the_teacher_alone():
    """Rows without a label train the same model whatever labels they carried, and pull the student
    towards the teacher on them; without a teacher they are refused."""
    train, transfer, teacher = random_encoded(16, seed=0), random_encoded(96, seed=2), tiny_model("bert", seed=5)
    fine_tune(teacher, random_encoded(256, seed=7), train, config(epochs=4, learning_rate=3e-3), label="teacher")
    recipe = config(epochs=3, learning_rate=3e-3, distill={"alpha": 0.5, "temperature": 1.0})

    def student_on(transfer_labels):
        rows = training_rows({"train": train, "transfer": Encoded(transfer.token_ids, transfer_labels, 0)})
        student = tiny_model("bert", seed=0)
        fine_tune(student, rows, train, recipe, teacher=teacher_outputs(teacher, rows, hidden_states=False),
                  label="test")
        return student

    zeros, ones = (student_on(np.full(len(transfer), label, dtype=np.int32)) for label in (0, 1))
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(zeros.weights, ones.weights))
    alone = tiny_model("bert", seed=0)
    fine_tune(alone, train, train, recipe, teacher=teacher_outputs(teacher, train, hidden_states=False), label="test")
    target = predict_in_memory(teacher, transfer, 32)
    assert (np.abs(predict_in_memory(zeros, transfer, 32) - target).mean()
            < np.abs(predict_in_memory(alone, transfer, 32) - target).mean())
    with pytest.raises(ValueError, match="rows without labels"):
        fine_tune(tiny_model("bert", seed=0), training_rows({"train": train, "transfer": transfer}), train, config(),
                  label="test")
