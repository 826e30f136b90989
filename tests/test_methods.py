"""Wanda, SparseGPT, per-output and N:M masks, and the calibration statistics they read."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import random_encoded
from prunelab.batching import padded_batches
from prunelab.errors import ParamsError
from prunelab.pruning import (
    InputStats,
    NMPatternError,
    Pruner,
    check_n_m,
    collect_input_stats,
    make_schedule,
    parse_n_m,
    prunable_variables,
    select_masks,
    select_nm_masks,
    sparsegpt_layer,
    sparsegpt_prune,
)
from prunelab.pruning.calibration import owning_layers
from prunelab.pruning.scores import magnitude, wanda

TARGETS = ["attention", "ffn"]
RNG = np.random.default_rng(0)


def zeros_per_output(kernel):
    return (kernel == 0).sum(axis=0)


def correlated_layer(n_in=32, n_out=12, tokens=400, seed=0):
    """A kernel and inputs whose features are correlated and differently scaled, as in a transformer."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(tokens, n_in)) @ rng.normal(size=(n_in, n_in)) * rng.uniform(0.2, 3.0, size=n_in)
    return rng.normal(size=(n_in, n_out)).astype(np.float32), x


def reconstruction_error(x, weight, pruned):
    return np.linalg.norm(x @ weight.astype(np.float64) - x @ pruned.astype(np.float64))


# --- Mask policies -------------------------------------------------------------------------


@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.75])
def test_per_output_scope_prunes_every_output_exactly(sparsity):
    scores = {"a": RNG.random((24, 7)), "ties": np.zeros((10, 3))}
    keep = select_masks(scores, sparsity, "per_output")
    for name, s in scores.items():
        assert np.all((~keep[name]).sum(axis=0) == round(sparsity * s.shape[0]))
    # Within a column, nothing kept scores lower than anything pruned.
    a, k = scores["a"], keep["a"]
    assert all(a[k[:, j], j].min() >= a[~k[:, j], j].max() for j in range(a.shape[1]))


@pytest.mark.parametrize("n, m", [(2, 4), (1, 4), (4, 8)])
def test_n_m_masks_keep_the_n_best_of_every_group(n, m):
    scores = RNG.random((16, 5))
    keep = select_nm_masks({"w": scores}, n, m)["w"]
    groups, kept = scores.reshape(-1, m, 5), keep.reshape(-1, m, 5)
    assert np.all(kept.sum(axis=1) == n)
    assert np.all(np.where(kept, groups, np.inf).min(axis=1) >= np.where(kept, -np.inf, groups).max(axis=1))
    check_n_m(scores * keep, n, m, name="w")
    assert np.array_equal(select_masks({"w": scores}, 1 - n / m, "per_layer", n_m=(n, m))["w"], keep)


def test_n_m_refuses_other_sparsities_and_bad_patterns():
    with pytest.raises(ParamsError, match="set prune.sparsity to 0.5"):
        select_masks({"w": np.ones((8, 2))}, 0.7, "per_layer", n_m=(2, 4))
    with pytest.raises(ParamsError, match="0 < N < M"):
        parse_n_m("4:4")
    assert parse_n_m("2:4") == (2, 4)
    assert select_masks({"w": np.ones((8, 2))}, 0.0, "per_layer", n_m=(2, 4))["w"].all()


def test_check_n_m_names_the_first_broken_group():
    kernel = np.zeros((8, 3))
    kernel[[0, 1], :] = 1.0  # 2:4 everywhere...
    check_n_m(kernel, 2, 4, name="layer_._0/query/kernel")
    kernel[6, 2] = kernel[5, 2] = kernel[4, 2] = 1.0  # ...but 3 of inputs 4..7 of output 2
    with pytest.raises(NMPatternError, match=r"layer_\._0/query/kernel breaks 2:4.*inputs 4\.\.7 of output 2"):
        check_n_m(kernel, 2, 4, name="layer_._0/query/kernel")
    with pytest.raises(ParamsError, match="10 inputs, not a multiple of M=4"):
        check_n_m(np.zeros((10, 3)), 2, 4, name="odd")
    with pytest.raises(ParamsError, match="10 inputs"):
        select_nm_masks({"odd": np.ones((10, 3))}, 2, 4)


# --- Wanda ---------------------------------------------------------------------------------


def test_wanda_equals_per_output_magnitude_when_input_norms_are_equal():
    weights = {"w": RNG.normal(size=(16, 6)).astype(np.float32)}
    stats = {"w": InputStats(tokens=10, sum_squares=np.full(16, 4.0))}
    for policy in [{"scope": "per_output"}, {"scope": "per_layer", "n_m": (2, 4)}]:
        by_wanda = select_masks(wanda(weights, stats), 0.5, **policy)
        by_magnitude = select_masks(magnitude(weights, None), 0.5, **policy)
        assert np.array_equal(by_wanda["w"], by_magnitude["w"])


def test_wanda_keeps_weights_on_loud_inputs():
    weights = {"w": np.ones((4, 2), dtype=np.float32)}
    stats = {"w": InputStats(tokens=3, sum_squares=np.array([1.0, 9.0, 0.25, 4.0]))}
    keep = select_masks(wanda(weights, stats), 0.5, "per_output")["w"]
    assert keep[:, 0].tolist() == [False, True, False, True]


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
        assert np.all(zeros_per_output(variable.numpy()) == variable.shape[0] // 2)
        if n_m:
            check_n_m(variable.numpy(), *n_m, name=name)


# --- SparseGPT -----------------------------------------------------------------------------


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


# --- Calibration ---------------------------------------------------------------------------


def test_calibration_sums_real_tokens_of_the_first_query_input(model):
    data = random_encoded(12, seed=3)
    variables = prunable_variables(model, TARGETS)
    first_query = next(n for n in variables if "layer_._0" in n and ("query" in n or "q_lin" in n))
    stats = collect_input_stats(model, variables, data, batch_size=5, gram=True)[first_query]

    embeddings = model.get_layer(index=0).embeddings  # the query's input is the embeddings' output
    by_hand, with_padding = np.zeros(16), np.zeros(16)
    for ids, mask in padded_batches(data, 5):
        x = embeddings(input_ids=tf.constant(ids), training=False).numpy().astype(np.float64)
        by_hand += (x[mask.astype(bool)] ** 2).sum(axis=0)
        with_padding += (x**2).sum(axis=(0, 1))
    assert stats.tokens == data.lengths.sum()
    np.testing.assert_allclose(stats.sum_squares, by_hand, rtol=1e-5)
    assert not np.allclose(stats.sum_squares, with_padding, rtol=1e-3)  # the padding would have shown
    np.testing.assert_allclose(np.diag(stats.gram), stats.sum_squares, rtol=1e-10)


def test_calibration_restores_the_layers_even_on_error(model):
    variables = prunable_variables(model, TARGETS)
    layers = owning_layers(model, variables)
    assert len(layers) == len(variables)
    bad = random_encoded(4)
    bad.token_ids[0][1] = 10_000  # out of the vocabulary: the forward pass fails
    with pytest.raises(tf.errors.InvalidArgumentError):
        collect_input_stats(model, variables, bad)
    collect_input_stats(model, variables, random_encoded(4))
    assert not any("call" in layer.__dict__ for layer in layers.values())


def test_calibration_refuses_weights_without_a_layer(model):
    with pytest.raises(ParamsError, match="no Dense layer owns"):
        collect_input_stats(model, prunable_variables(model, ["embeddings"]), random_encoded(4))
