import numpy as np
import pytest
import tensorflow as tf

from conftest import random_encoded
from prunelab.errors import ParamsError
from prunelab.modeling import weight_group
from prunelab.pruning import Pruner, make_schedule, prunable_variables, select_masks
from prunelab.pruning.schedules import sparsity_at
from prunelab.training import TrainConfig, fine_tune

TARGETS = ["attention", "ffn"]


def zeros(arrays):
    return sum(int(np.size(a) - np.count_nonzero(a)) for a in arrays)


@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.9])
def test_global_scope_hits_the_exact_count(model, sparsity):
    variables = prunable_variables(model, TARGETS)
    pruner = Pruner(variables, "magnitude", "global", make_schedule("oneshot", sparsity, 0))
    pruner.update(0)
    total = sum(int(tf.size(v)) for v in variables.values())
    assert zeros(v.numpy() for v in variables.values()) == round(sparsity * total)
    assert pruner.sparsity() == pytest.approx(sparsity, abs=1 / total)


def test_global_scope_ranks_across_kernels():
    scores = {"small": np.full((4, 4), 0.1), "large": np.full((4, 4), 10.0)}
    keep = select_masks(scores, 0.5, "global")
    assert not keep["small"].any() and keep["large"].all()


@pytest.mark.parametrize("sparsity", [0.25, 0.7])
def test_per_layer_scope_prunes_every_kernel_exactly(model, sparsity):
    variables = prunable_variables(model, TARGETS)
    Pruner(variables, "magnitude", "per_layer", make_schedule("oneshot", sparsity, 0)).update(0)
    for variable in variables.values():
        assert zeros([variable.numpy()]) == round(sparsity * int(tf.size(variable)))


def test_ties_do_not_change_the_count():
    keep = select_masks({"w": np.zeros((10, 10))}, 0.37, "per_layer")
    assert (~keep["w"]).sum() == 37


def test_magnitude_removes_the_smallest_weights(model):
    variables = prunable_variables(model, TARGETS)
    before = {n: v.numpy().copy() for n, v in variables.items()}
    Pruner(variables, "magnitude", "global", make_schedule("oneshot", 0.5, 0)).update(0)
    kept = np.concatenate([np.abs(before[n][v.numpy() != 0]) for n, v in variables.items()])
    removed = np.concatenate([np.abs(before[n][v.numpy() == 0]) for n, v in variables.items()])
    assert removed.max() <= kept.min()


def test_default_targets_leave_embeddings_norms_and_head_dense(model):
    groups = {weight_group(v.name) for v in prunable_variables(model, TARGETS).values()}
    assert groups == {"attention", "ffn"}
    with_head = prunable_variables(model, TARGETS + ["classifier", "embeddings"])
    assert {weight_group(v.name) for v in with_head.values()} == {"attention", "ffn", "classifier", "embeddings"}


def test_unknown_target_and_method_are_refused(model):
    with pytest.raises(ParamsError, match="prune.targets"):
        prunable_variables(model, ["attention", "heads"])
    with pytest.raises(ParamsError, match="prune.method"):
        Pruner(prunable_variables(model, TARGETS), "random", "global", make_schedule("oneshot", 0.5, 0))
    with pytest.raises(ParamsError, match="prune.scope"):
        select_masks({"w": np.ones(4)}, 0.5, "per_head")


def test_gradual_schedule_ramps_monotonically_to_the_target():
    schedule = make_schedule("gradual", 0.8, total_steps=95, end_fraction=0.5, frequency=10)
    targets = [(step, sparsity_at(schedule, step)) for step in range(96)]
    pruning_steps = [(s, t) for s, t in targets if t is not None]
    values = [t for _, t in pruning_steps]
    assert values == sorted(values)
    assert values[0] == 0.0 and values[-1] == pytest.approx(0.8)
    assert pruning_steps[-1][0] <= 95


def test_masks_survive_optimizer_steps(model):
    data = random_encoded(64)
    variables = prunable_variables(model, TARGETS)
    pruner = Pruner(variables, "magnitude", "global", make_schedule("oneshot", 0.6, 0))
    before = {n: v.numpy().copy() for n, v in variables.items()}
    config = TrainConfig(epochs=2, batch_size=16, learning_rate=1e-2, warmup_ratio=0.0, weight_decay=0.0,
                         bucket_lengths=[16, 40], seed=0, log_every=2)
    fine_tune(model, data, data, config, pruner=pruner, label="test")
    masks = {n: m.numpy() for n, m in pruner.masks.items()}
    for name, variable in variables.items():
        weights = variable.numpy()
        assert np.all(weights[masks[name] == 0] == 0), name
        # The surviving weights did train (AdamW moved them), so the zeros are the masks' doing.
        assert not np.allclose(weights[masks[name] == 1], before[name][masks[name] == 1])
    assert pruner.sparsity() == pytest.approx(0.6, abs=1e-3)


def test_gradual_pruning_during_fine_tuning_reaches_the_target(model):
    data = random_encoded(64)
    config = TrainConfig(epochs=2, batch_size=16, learning_rate=1e-3, warmup_ratio=0.0, weight_decay=0.0,
                         bucket_lengths=[16, 40], seed=0, log_every=1)
    from prunelab.batching import steps_per_epoch

    total = steps_per_epoch(data, config.bucket_lengths, 16) * 2
    pruner = Pruner(prunable_variables(model, TARGETS), "magnitude", "per_layer",
                    make_schedule("gradual", 0.5, total, end_fraction=0.5, frequency=2))
    steps, _ = fine_tune(model, data, data, config, pruner=pruner, label="test")
    logged = [row["sparsity"] for row in steps]
    assert logged == sorted(logged) and logged[0] < 0.5
    assert pruner.sparsity() == pytest.approx(0.5, abs=1e-3)


BASE_SPEC = {"method": "magnitude", "sparsity": 0.5, "scope": "global", "targets": ["attention", "ffn"],
             "schedule": "oneshot", "n_m": None, "calibration_size": 16, "end_fraction": 0.5, "frequency": 10}


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"method": "obs"}, "prune.method 'obs' is not one of"),
        ({"sparsity": 1.0}, "strictly between 0 and 1"),
        ({"method": "wanda", "schedule": "gradual"}, "prune.method wanda prunes once: set prune.schedule to oneshot"),
        ({"n_m": "2:4", "schedule": "gradual"}, "N:M sparsity prunes once"),
        ({"n_m": "2:4", "sparsity": 0.6}, "set prune.sparsity to 0.5"),
        ({"method": "sparsegpt", "scope": "global"}, "set prune.scope to one of per_output, per_layer"),
        ({"n_m": "4:2"}, "needs 0 < N < M"),
    ],
)
def test_bad_prune_params_are_refused_before_any_work(overrides, message):
    from prunelab.pruning.methods import PruneSpec

    with pytest.raises(ParamsError, match=message):
        PruneSpec.from_params({**BASE_SPEC, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [{"method": "magnitude", "scope": "per_layer"}, {"method": "wanda", "scope": "per_output"},
     {"method": "sparsegpt", "scope": "per_output"}, {"method": "wanda", "scope": "per_output", "n_m": "2:4"}],
)
def test_every_method_prunes_to_the_target_through_prepare_pruner(overrides):
    from conftest import tiny_model
    from prunelab.pruning.masks import check_n_m
    from prunelab.pruning.methods import PruneSpec, calibration_sample, prepare_pruner

    model = tiny_model("bert")
    spec = PruneSpec.from_params({**BASE_SPEC, **overrides})
    pruner = prepare_pruner(model, spec, calibration_sample(random_encoded(64), 16, seed=0), total_steps=0)
    pruner.update(0)
    assert pruner.sparsity() == pytest.approx(0.5, abs=1e-3)
    if spec.n_m:
        for name, variable in pruner.variables.items():
            check_n_m(variable.numpy(), *spec.n_m, name=name)
