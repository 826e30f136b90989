"""Schedules: one-shot or a gradual ramp, driven step by step."""

import pytest

from conftest import fine_tuning, random_encoded
from prunelab.data.batching import steps_per_epoch
from prunelab.pruning.unstructured.pruner import Pruner, prunable_variables
from prunelab.pruning.unstructured.schedules import make_schedule, sparsity_at
from prunelab.training.fine_tune import fine_tune


def test_gradual_schedule_ramps_monotonically_to_the_target():
    schedule = make_schedule("gradual", 0.8, total_steps=95, end_fraction=0.5, frequency=10)
    targets = [(step, sparsity_at(schedule, step)) for step in range(96)]
    pruning_steps = [(s, t) for s, t in targets if t is not None]
    values = [t for _, t in pruning_steps]
    assert values == sorted(values)
    assert values[0] == 0.0 and values[-1] == pytest.approx(0.8)
    assert pruning_steps[-1][0] <= 95


def test_gradual_pruning_during_fine_tuning_reaches_the_target(model):
    data = random_encoded(64)
    config = fine_tuning(epochs=2, batch_size=16, learning_rate=1e-3, warmup_ratio=0.0, weight_decay=0.0,
                         bucket_lengths=[16, 40], seed=0, log_every=1)
    total = steps_per_epoch(data, config.bucket_lengths, 16) * 2
    pruner = Pruner(prunable_variables(model, ["attention", "ffn"]), "magnitude", "per_layer",
                    make_schedule("gradual", 0.5, total, end_fraction=0.5, frequency=2))
    steps, _ = fine_tune(model, data, data, config, pruner=pruner, label="test")
    logged = [row["sparsity"] for row in steps]
    assert logged == sorted(logged) and logged[0] < 0.5
    assert pruner.sparsity() == pytest.approx(0.5, abs=1e-3)


def test_a_gradual_ramp_can_begin_late_and_still_reaches_the_target():
    schedule = make_schedule("gradual", 0.8, total_steps=100, begin_fraction=0.3, end_fraction=0.6, frequency=10)
    pruning_steps = [(step, sparsity_at(schedule, step)) for step in range(101)]
    pruning_steps = [(s, t) for s, t in pruning_steps if t is not None]
    assert pruning_steps[0] == (30, 0.0)
    assert pruning_steps[-1][1] == pytest.approx(0.8) and min(s for s, t in pruning_steps if t >= 0.8 - 1e-6) == 60
