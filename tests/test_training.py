import numpy as np
import pytest

from conftest import random_encoded, tiny_model
from prunelab.training import TrainConfig, accuracy_in_memory, fine_tune


def config(**overrides):
    settings = dict(epochs=1, batch_size=8, learning_rate=1e-3, warmup_ratio=0.0, weight_decay=0.01,
                    bucket_lengths=[16, 40], seed=3, log_every=4)
    return TrainConfig(**{**settings, **overrides})


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
    assert epochs[-1]["val_accuracy"] > max(before, 0.75)
    assert steps[-1]["loss"] < steps[0]["loss"]


def test_distillation_pulls_the_student_towards_the_teacher():
    train = random_encoded(64, seed=0)
    teacher = tiny_model("bert", seed=5)

    def gap(alpha):
        student = tiny_model("bert", seed=0)
        fine_tune(student, train, train, config(epochs=3, distill_alpha=alpha, distill_temperature=1.0),
                  teacher=teacher, label="test")
        from prunelab.training import predict_in_memory

        return np.abs(predict_in_memory(student, train, 32) - predict_in_memory(teacher, train, 32)).mean()

    assert gap(1.0) < gap(0.0)


def test_distillation_without_a_teacher_is_refused():
    with pytest.raises(ValueError, match="teacher"):
        fine_tune(tiny_model("bert"), random_encoded(8), random_encoded(8), config(distill_alpha=0.5))
