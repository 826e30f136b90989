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
