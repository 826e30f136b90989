"""The Pruner: which variables it binds, what it refuses, and masks that hold through training."""

import numpy as np
import pytest

from conftest import fine_tuning, random_encoded
from prunelab.errors import ParamsError
from prunelab.model.checkpoint import weight_group
from prunelab.pruning.unstructured.calibration import collect_input_stats
from prunelab.pruning.unstructured.masks import check_n_m
from prunelab.pruning.unstructured.pruner import Pruner, prunable_variables
from prunelab.pruning.unstructured.schedules import make_schedule
from prunelab.training.fine_tune import fine_tune

TARGETS = ["attention", "ffn"]


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


def test_masks_survive_optimizer_steps(model):
    data = random_encoded(64)
    variables = prunable_variables(model, TARGETS)
    pruner = Pruner(variables, "magnitude", "global", make_schedule("oneshot", 0.6, 0))
    before = {n: v.numpy().copy() for n, v in variables.items()}
    config = fine_tuning(epochs=2, batch_size=16, learning_rate=1e-2, warmup_ratio=0.0, weight_decay=0.0,
                         bucket_lengths=[16, 40], seed=0, log_every=2)
    fine_tune(model, data, data, config, pruner=pruner, label="test")
    masks = {n: m.numpy() for n, m in pruner.masks.items()}
    for name, variable in variables.items():
        weights = variable.numpy()
        assert np.all(weights[masks[name] == 0] == 0), name
        # The surviving weights did train (AdamW moved them), so the zeros are the masks' doing.
        assert not np.allclose(weights[masks[name] == 1], before[name][masks[name] == 1])
    assert pruner.sparsity() == pytest.approx(0.6, abs=1e-3)


@pytest.mark.parametrize("n_m", [None, (2, 4)])
def test_wanda_through_the_pruner(model, n_m):
    variables = prunable_variables(model, TARGETS)
    stats = collect_input_stats(model, variables, random_encoded(16), batch_size=8)
    with pytest.raises(ParamsError, match="calibration"):
        Pruner(variables, "wanda", "per_output", make_schedule("oneshot", 0.5, 0))
    pruner = Pruner(variables, "wanda", "per_output", make_schedule("oneshot", 0.5, 0), stats=stats, n_m=n_m)
    pruner.update(0)
    assert pruner.sparsity() == 0.5
    for name, variable in variables.items():
        assert np.all((variable.numpy() == 0).sum(axis=0) == variable.shape[0] // 2)
        if n_m:
            check_n_m(variable.numpy(), *n_m, name=name)


def test_movement_keeps_the_highest_sums_and_revives_a_weight_whose_score_climbs_back():
    import tensorflow as tf

    from prunelab.pruning.unstructured.methods.movement import MovementPruner

    weights = {"w": tf.Variable(np.arange(1, 7, dtype=np.float32).reshape(3, 2))}
    pruner = MovementPruner(weights, "global", make_schedule("oneshot", 0.5, 0))
    pruner.sums["w"].assign([[3.0, -1.0], [0.5, 2.0], [-2.0, 4.0]])
    pruner.prune_to(0.5)
    assert pruner.masks["w"].numpy().tolist() == [[1, 0], [0, 1], [0, 1]]
    assert weights["w"].numpy().tolist() == [[1, 0], [0, 4], [0, 6]]
    pruner.sums["w"].assign([[1.0, 9.0], [0.0, 2.0], [0.5, 0.0]])  # a masked weight now scores highest
    pruner.prune_to(2 / 3)
    assert pruner.masks["w"].numpy().tolist() == [[0, 1], [0, 1], [0, 0]]
    assert weights["w"].numpy().tolist() == [[0, 2], [0, 4], [0, 0]]  # back with the value it had


def test_movement_scores_how_consistently_a_weight_moves_out_not_how_large_it_is():
    import tensorflow as tf

    from prunelab.pruning.unstructured.methods.movement import MovementPruner

    # A large weight whose gradient flips sign every step, a small one pushed away from zero every step,
    # and one pulled towards zero every step: the raw sum of −w·∂L/∂w would rank the large one first.
    weight = tf.Variable([[100.0], [0.01], [0.01]])
    pruner = MovementPruner({"w": weight}, "global", make_schedule("oneshot", 0.0, 0))
    for step in range(20):
        flip = 1.0 if step % 2 == 0 else -1.5
        pruner.observe_gradients({id(weight): tf.constant([[flip], [-1.0], [1.0]])})
    large, outward, inward = pruner.current_stats()["w"][:, 0]
    assert outward > large > inward
    assert -100.0 * sum(1.0 if step % 2 == 0 else -1.5 for step in range(20)) > 0.01 * 20  # the raw sum's order
    pruner.prune_to(1 / 3)
    assert pruner.masks["w"].numpy()[:, 0].tolist() == [1, 1, 0]


def test_movement_is_fed_by_the_training_steps_and_reaches_its_sparsity(model):
    from prunelab.pruning.unstructured.methods.movement import MovementPruner

    variables = prunable_variables(model, TARGETS)
    pruner = MovementPruner(variables, "global", make_schedule("gradual", 0.5, 8, end_fraction=0.5, frequency=2))
    config = fine_tuning(epochs=1, batch_size=8, learning_rate=1e-3, warmup_ratio=0.0, weight_decay=0.0,
                         bucket_lengths=[40], seed=0, log_every=2)
    fine_tune(model, random_encoded(64), random_encoded(8), config, pruner=pruner, label="test")
    assert pruner.sparsity() == pytest.approx(0.5, abs=1e-3)
    assert all(np.any(total.numpy() != 0) for total in pruner.sums.values())
