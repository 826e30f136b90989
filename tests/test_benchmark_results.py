import numpy as np
import pytest

from prunelab.measurement.benchmark.inputs import InputSet
from prunelab.measurement.benchmark.results import (
    aa_check,
    aa_warning,
    by_length_rows,
    combine,
    csv_rows,
    latency,
    per_setting,
)

ONE = (np.ones((1, 4), np.int32), np.ones((1, 4), np.int32))
SETS = [InputSet("batch1", 1, None, [ONE] * 4), InputSet("batch32", 32, None, [ONE])]


def timings(rng, copy_noise=0.01, copy_factor=1.0, n=30):
    baseline = {"batch1": 0.04 * rng.lognormal(0, 0.01, n), "batch32": 0.3 * rng.lognormal(0, 0.01, n)}
    copy = {k: v * copy_factor * rng.lognormal(0, copy_noise, n) for k, v in baseline.items()}
    return {"baseline": baseline, "baseline_copy": copy}


def test_latency_is_per_call_with_its_interval():
    result = latency(np.full(30, 0.04), calls=4)
    assert result == {"median_ms": pytest.approx(10.0), "ci95": [pytest.approx(10.0)] * 2, "rounds": 30}
    assert per_setting(timings(np.random.default_rng(0))["baseline"], SETS)["batch1"]["median_ms"] == pytest.approx(
        10.0, rel=0.02)


def test_quiet_aa_passes_without_a_warning():
    aa = aa_check(timings(np.random.default_rng(1)), SETS, seed=0, max_halfwidth=0.05)
    assert aa["passed"] and aa["failures"] == {}
    assert aa["batch32"]["halfwidth"] < 0.02
    assert aa_warning(aa, "other processes kept 0.10 of 2 cores busy") is None


def test_noisy_aa_fails_and_the_warning_names_the_other_processes():
    aa = aa_check(timings(np.random.default_rng(2), copy_noise=0.3), SETS, seed=0, max_halfwidth=0.05)
    assert not aa["passed"] and set(aa["failures"]) == {"batch1", "batch32"}
    warning = aa_warning(aa, "other processes kept 1.40 of 2 cores busy; the busiest: dvc repro (pid 7) 1.10")
    assert warning.startswith("A/A check failed: the baseline against a second copy of itself should come out "
                              "within 1 ± 0.05, but gave batch1 no measurable change (95% CI 0.")
    assert warning.endswith("the busiest: dvc repro (pid 7) 1.10.")


def test_aa_fails_when_the_copies_differ_by_more_than_the_limit_however_tight():
    aa = aa_check(timings(np.random.default_rng(3), copy_factor=1.1), SETS, seed=0, max_halfwidth=0.05)
    assert not aa["passed"]
    assert aa["failures"]["batch32"].startswith("slower: 0.9")


def test_by_length_rows_and_their_csv():
    rng = np.random.default_rng(4)
    data = timings(rng, copy_factor=0.5)
    sets = [InputSet("batch1_len16", 1, 16, [ONE] * 2), InputSet("batch32_len16", 32, 16, [ONE])]
    data = {name: {"batch1_len16": t["batch1"], "batch32_len16": t["batch32"]} for name, t in data.items()}
    rows = by_length_rows(data, sets, seed=0)
    assert [(r["artifact"], r["batch"], r["length"]) for r in rows] == [
        ("baseline", 1, 16), ("baseline", 32, 16), ("baseline_copy", 1, 16), ("baseline_copy", 32, 16)]
    assert rows[0]["median_ms"] == pytest.approx(20.0, rel=0.02)  # 40 ms a round over 2 calls
    assert rows[3]["ratio"] == pytest.approx(2.0, rel=0.05) and rows[3]["ratio_ci95"][0] > 1.8
    table = csv_rows(rows)
    assert list(table[0]) == ["artifact", "batch", "length", "median_ms", "ci_low", "ci_high"]
    assert table[1]["ci_low"] <= table[1]["median_ms"] <= table[1]["ci_high"]


def run(name, artifacts, aa=None):
    """A model's benchmark record with what the combination reads; latencies say which run they came from."""
    return {"settings": {"rounds": 24}, "machine": {"elapsed_s": len(name)}, "aa": aa,
            "artifacts": {a: {"from": name} for a in ["baseline", *artifacts]},
            "against_baseline": {a: {"ratio": 2.0} for a in artifacts if a != "baseline_copy"},
            "by_length": [{"artifact": a, "run": name} for a in ["baseline", *artifacts]]}


def test_runs_combine_into_one_record_each_figure_from_the_run_that_measured_it():
    # The baseline's int8 file, timed again beside the pruned one for their same-variant ratio.
    pruned = run("pruned", ["pruned", "pruned_int8_litert", "baseline_int8_litert"])
    pruned["against_baseline_litert"] = {"pruned_int8_litert": {"reference": "baseline_int8_litert"}}
    combined = combine({"baseline": run("baseline", ["baseline_copy", "baseline_int8_litert"], aa={"passed": True}),
                        "pruned": pruned})
    assert combined["artifacts"]["baseline_int8_litert"] == {"from": "baseline"}
    assert combined["against_baseline_litert"] == pruned["against_baseline_litert"]
    assert combined["aa"] == {"passed": True}
    assert list(combined["artifacts"]) == ["baseline", "baseline_copy", "baseline_int8_litert", "pruned",
                                           "pruned_int8_litert"]
    assert combined["artifacts"]["baseline"] == {"from": "baseline"}  # not the pruned run's reference worker
    assert combined["artifacts"]["pruned"] == {"from": "pruned"}
    assert set(combined["against_baseline"]) == {"baseline_int8_litert", "pruned", "pruned_int8_litert"}
    assert [(r["artifact"], r["run"]) for r in combined["by_length"]].count(("baseline", "baseline")) == 1
    assert ("baseline", "pruned") not in [(r["artifact"], r["run"]) for r in combined["by_length"]]
    assert combined["runs"]["pruned"] == {"machine": {"elapsed_s": 6}, "artifacts": [
        "baseline", "pruned", "pruned_int8_litert", "baseline_int8_litert"]}


def test_a_models_litert_file_is_compared_with_the_baselines_file_of_the_same_variant():
    from prunelab.measurement.benchmark.results import against_same_variant

    rounds = np.linspace(0.9, 1.1, 12)
    sets = [InputSet("batch1", 1, None, [ONE])]
    timings = {"baseline": {"batch1": 8 * rounds}, "baseline_int8_litert": {"batch1": 2 * rounds},
               "structured": {"batch1": 4 * rounds}, "structured_int8_litert": {"batch1": 1 * rounds},
               "structured_fp32_litert": {"batch1": 3 * rounds}}
    compared = against_same_variant(timings, sets, seed=0)
    assert list(compared) == ["structured_int8_litert"]  # no baseline fp32 file was timed
    assert compared["structured_int8_litert"]["reference"] == "baseline_int8_litert"
    assert compared["structured_int8_litert"]["batch1"]["ratio"] == pytest.approx(2.0)
