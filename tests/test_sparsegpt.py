"""SparseGPT: one-shot pruning that also updates the surviving weights."""

import numpy as np
import pytest

from conftest import random_encoded
from prunelab.errors import ParamsError
from prunelab.pruning.unstructured.masks import check_n_m, select_masks
from prunelab.pruning.unstructured.methods.sparsegpt import sparsegpt_layer, sparsegpt_prune
from prunelab.pruning.unstructured.pruner import Pruner, prunable_variables
from prunelab.pruning.unstructured.schedules import make_schedule

TARGETS = ["attention", "ffn"]


def zeros_per_output(kernel):
    return (kernel == 0).sum(axis=0)


def correlated_layer(n_in=32, n_out=12, tokens=400, seed=0):
    """A kernel and inputs whose features are correlated and differently scaled, as in a transformer."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(tokens, n_in)) @ rng.normal(size=(n_in, n_in)) * rng.uniform(0.2, 3.0, size=n_in)
    return rng.normal(size=(n_in, n_out)).astype(np.float32), x


def reconstruction_error(x, weight, pruned):
    return np.linalg.norm(x @ weight.astype(np.float64) - x @ pruned.astype(np.float64))


@pytest.mark.parametrize("scope", ["per_output", "per_layer"])
@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.7])
def test_sparsegpt_hits_the_exact_sparsity(scope, sparsity):
    weight, x = correlated_layer(n_in=40)
    pruned = sparsegpt_layer(weight, x.T @ x, sparsity, block_size=16, scope=scope)  # blocks 16, 16, 8
    assert pruned.dtype == weight.dtype
    if scope == "per_output":
        assert np.all(zeros_per_output(pruned) == round(sparsity * 40))
    else:
        assert (pruned == 0).sum() == round(sparsity * pruned.size)


@pytest.mark.parametrize("n_m", [None, (2, 4)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparsegpt_reconstructs_better_than_magnitude(n_m, seed):
    weight, x = correlated_layer(seed=seed)
    pruned = sparsegpt_layer(weight, x.T @ x, 0.5, n_m=n_m, block_size=8)
    by_magnitude = weight * select_masks({"w": np.abs(weight)}, 0.5, "per_output", n_m=n_m)["w"]
    if n_m:
        check_n_m(pruned, *n_m)
        check_n_m(by_magnitude, *n_m)
    assert np.array_equal(zeros_per_output(pruned), zeros_per_output(by_magnitude))
    error = reconstruction_error(x, weight, pruned)
    assert error < reconstruction_error(x, weight, by_magnitude)
    assert error < reconstruction_error(x, weight, weight * (pruned != 0))  # its updates help its own mask


def test_sparsegpt_lazy_block_updates_change_nothing():
    """With N:M the mask does not depend on the block size, so neither may the weights."""
    weight, x = correlated_layer()
    results = [sparsegpt_layer(weight, x.T @ x, 0.5, n_m=(2, 4), block_size=b) for b in (4, 8, 32)]
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=1e-5, atol=1e-6)


def test_sparsegpt_at_zero_sparsity_keeps_the_weights():
    weight, x = correlated_layer()
    np.testing.assert_allclose(sparsegpt_layer(weight, x.T @ x, 0.0, block_size=8), weight, atol=1e-6)


def test_sparsegpt_refuses_what_it_cannot_do():
    weight, x = correlated_layer()
    with pytest.raises(ParamsError, match="scope"):
        sparsegpt_layer(weight, x.T @ x, 0.5, scope="global")
    with pytest.raises(ParamsError, match="multiples of 4"):
        sparsegpt_layer(weight, x.T @ x, 0.5, n_m=(2, 4), block_size=6)


@pytest.mark.parametrize("n_m", [None, (2, 4)])
def test_sparsegpt_prunes_a_model_layer_by_layer(model, n_m):
    variables = prunable_variables(model, TARGETS)
    sparsegpt_prune(model, variables, random_encoded(16), 0.5, n_m=n_m, batch_size=8, block_size=8)
    for name, variable in variables.items():
        kernel = variable.numpy()
        assert np.all(zeros_per_output(kernel) == kernel.shape[0] // 2), name
        if n_m:
            check_n_m(kernel, *n_m, name=name)
    # A pruner asked for the same sparsity keeps exactly SparseGPT's zeros (for recovery fine-tuning).
    before = {n: v.numpy().copy() for n, v in variables.items()}
    pruner = Pruner(variables, "magnitude", "per_output", make_schedule("oneshot", 0.5, 0), n_m=n_m)
    pruner.update(0)
    for name, variable in variables.items():
        assert np.array_equal(variable.numpy(), before[name])
