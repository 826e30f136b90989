"""Mask policies: global, per-layer, per-output and N:M keep-masks at an exact sparsity."""

import numpy as np
import pytest
import tensorflow as tf

from prunelab.errors import ParamsError
from prunelab.pruning.unstructured.masks import NMPatternError, check_n_m, select_masks, select_nm_masks
from prunelab.pruning.unstructured.pruner import Pruner, prunable_variables
from prunelab.pruning.unstructured.schedules import make_schedule

TARGETS = ["attention", "ffn"]
RNG = np.random.default_rng(0)


def zeros(arrays):
    return sum(int(np.size(a) - np.count_nonzero(a)) for a in arrays)


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
        select_masks({"w": np.ones((8, 2))}, 0.0, "per_layer", n_m=(4, 4))
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


@pytest.mark.parametrize("floor_share", [0.0, 0.3, 0.5, 0.6])
def test_a_ramp_prunes_the_lowest_scores_whatever_share_already_sits_at_zero(floor_share):
    scores = RNG.random(1000).astype(np.float32) + 1.0
    scores[RNG.permutation(1000)[: int(floor_share * 1000)]] = 0.0  # pruned on an earlier step of the ramp
    keep = select_masks({"w": scores}, 0.5, "per_layer")["w"]
    assert (~keep).sum() == 500
    assert scores[~keep].max() <= scores[keep].min()


def test_ties_at_the_threshold_are_broken_by_position():
    scores = np.array([3.0, 1.0, 2.0, 1.0, 1.0, 5.0, 1.0])
    keep = select_masks({"w": scores}, 3 / 7, "per_layer")["w"]
    assert keep.tolist() == [True, False, True, False, False, True, True]


def test_unknown_scope_is_refused():
    with pytest.raises(ParamsError, match="prune.scope"):
        select_masks({"w": np.ones(4)}, 0.5, "per_head")
