import numpy as np
import pytest

from prunelab.measurement.benchmark.stats import Interval, direction, median_interval, paired_ratio, verdict


def rounds(rng, n, median_s, noise=0.1, drift=None):
    """Per-round timings: lognormal noise, times a per-round load factor shared by every artifact."""
    times = median_s * rng.lognormal(0.0, noise, n)
    return times if drift is None else times * drift


def test_known_two_fold_speedup_with_noise_comes_out_near_two_with_an_interval_holding_two():
    rng = np.random.default_rng(1)
    baseline, model = rounds(rng, 30, 0.2), rounds(rng, 30, 0.1)
    ratio = paired_ratio(baseline, model, seed=0)
    assert ratio.value == pytest.approx(2.0, rel=0.1)
    assert ratio.low < 2.0 < ratio.high
    assert ratio.low > 1.5  # and nowhere near "no change"
    assert direction(ratio) == "faster"


def test_equal_distributions_give_no_measurable_change():
    rng = np.random.default_rng(2)
    ratio = paired_ratio(rounds(rng, 30, 0.1), rounds(rng, 30, 0.1), seed=0)
    assert ratio.low < 1.0 < ratio.high
    assert direction(ratio) == "none"
    assert verdict(ratio.value, (ratio.low, ratio.high)).startswith("no measurable change (95% CI 0.")


def test_pairing_cancels_load_shared_by_a_round():
    """A load factor common to a round (0.5x to 3x) drowns an unpaired comparison, not a paired one."""
    rng = np.random.default_rng(3)
    drift = rng.uniform(0.5, 3.0, 30)
    baseline, model = rounds(rng, 30, 0.2, 0.03, drift), rounds(rng, 30, 0.1, 0.03, drift)
    paired = paired_ratio(baseline, model, seed=0)
    unpaired = paired_ratio(baseline, rng.permutation(model), seed=0)
    assert paired.low < 2.0 < paired.high
    assert paired.halfwidth < 0.15
    assert unpaired.halfwidth > 3 * paired.halfwidth


def test_slower_model_is_called_slower():
    rng = np.random.default_rng(4)
    ratio = paired_ratio(rounds(rng, 30, 0.1, 0.05), rounds(rng, 30, 0.125, 0.05), seed=0)
    assert ratio.value == pytest.approx(0.8, rel=0.05)
    assert direction(ratio) == "slower"


def test_the_bootstrap_is_seeded():
    rng = np.random.default_rng(5)
    baseline, model = rounds(rng, 20, 0.1), rounds(rng, 20, 0.1)
    assert paired_ratio(baseline, model, seed=7) == paired_ratio(baseline, model, seed=7)
    assert paired_ratio(baseline, model, seed=7) != paired_ratio(baseline, model, seed=8)


def test_ratio_needs_equal_rounds():
    with pytest.raises(ValueError, match="equal-length"):
        paired_ratio([1.0, 2.0], [1.0], seed=0)


def test_verdict_wording_of_each_case():
    assert verdict(1.84, (1.79, 1.90)) == "faster: 1.84× (95% CI 1.79–1.90)"
    assert verdict(0.91, (0.88, 0.94)) == "slower: 0.91× (95% CI 0.88–0.94)"
    assert verdict(1.01, (0.97, 1.04)) == "no measurable change (95% CI 0.97–1.04)"
    assert verdict(0.99, (0.93, 1.00)) == "no measurable change (95% CI 0.93–1.00)"  # 1.0 itself is inside


def test_verdict_never_prints_a_bound_as_one_when_it_excludes_one():
    assert verdict(1.004, (1.002, 1.009)) == "faster: 1.004× (95% CI 1.002–1.009)"
    assert verdict(0.97, (0.951, 0.996)) == "slower: 0.970× (95% CI 0.951–0.996)"


def test_median_interval_uses_the_binomial_ranks():
    x = np.arange(1.0, 31.0)  # 30 rounds: the 10th and 21st values (P = 95.7%)
    assert median_interval(x) == Interval(15.5, 10.0, 21.0)
    assert median_interval(np.arange(1.0, 11.0)) == Interval(5.5, 2.0, 9.0)
    assert median_interval([3.0, 1.0, 2.0]) == Interval(2.0, 1.0, 3.0)  # too few rounds: the range


def test_median_interval_covers_the_true_median_about_95_percent_of_the_time():
    rng = np.random.default_rng(6)
    samples = rng.lognormal(0.0, 0.5, size=(4000, 30))  # true median exp(0) = 1
    covered = np.mean([median_interval(s).low <= 1.0 <= median_interval(s).high for s in samples])
    assert 0.94 < covered < 0.975


def test_interval_halfwidth_and_excludes():
    interval = Interval(1.0, 0.9, 1.2)
    assert interval.halfwidth == pytest.approx(0.15)
    assert not interval.excludes(1.0) and interval.excludes(1.3) and interval.excludes(0.85)
