import pytest

from prunelab.seeds import default_recipe_runs, experiments, markdown, read_record, record, summary


def run(name, seed, baseline, drop, speedup):
    return {"rev": f"rev-{name}", "name": name, "data": {"rev": f"rev-{name}",
        "params": {"params.yaml": {"data": {"seed": seed}}},
        "metrics": {"metrics/evaluation/baseline.json": {"data": {"accuracy": baseline}},
                    "metrics/evaluation/pruned.json": {"data": {"comparison": {"accuracy_change": {"points": drop}}}},
                    "metrics/benchmark/structured.json": {"data": {
                        "against_baseline": {"structured": {"batch32": {"ratio": speedup}}}}}}}}


def test_experiments_are_found_wherever_dvc_nests_them_and_summarised_per_seed():
    workspace = run("workspace", 42, 0.868, -0.9, 1.6)
    workspace["rev"] = workspace["data"]["rev"] = "workspace"
    running = run("seed-3", 3, 0.868, -0.9, 1.6)  # no commit yet: the workspace's metrics under its own params
    running["data"]["rev"] = "workspace"
    shown = [workspace,
             {"rev": "abc", "experiments": [{"revs": [run("seed-1", 1, 0.860, -1.2, 1.5)]},
                                            {"revs": [run("seed-2", 2, 0.870, -0.6, 1.7)]},
                                            {"revs": [running]}]}]
    runs = experiments(shown)
    assert set(runs) == {"workspace", "seed-1", "seed-2"}
    rows = {row["measure"]: row for row in summary(runs)}
    baseline = rows["baseline dev accuracy"]
    assert list(baseline["values"]) == [1, 2, 42]
    assert baseline["mean"] == pytest.approx((0.868 + 0.860 + 0.870) / 3)
    assert baseline["sd"] == pytest.approx(0.005292, abs=1e-6)
    assert rows["structured TF speed-up, batch 32"]["mean"] == pytest.approx(1.6)
    assert rows["pruned change (points)"]["mean"] == pytest.approx(-0.9)
    assert rows["structured change (points)"]["n"] == 0 and rows["structured change (points)"]["mean"] is None
    table = markdown(summary(runs))
    assert "| baseline dev accuracy | 0.8600 | 0.8700 | 0.8680 | 0.8660 ± 0.0053 |" in table


def test_the_record_for_the_report_holds_the_experiments_not_the_workspace():
    workspace = run("workspace", 42, 0.868, -0.9, 1.6)
    runs = experiments([workspace, {"rev": "abc", "experiments": [{"revs": [run("seed-2", 2, 0.870, -0.6, 1.7)]},
                                                                   {"revs": [run("seed-1", 1, 0.860, -1.2, 1.5)]}]}])
    written = record(runs, "abc123")
    assert written["commit"] == "abc123"
    assert [(r["seed"], r["experiment"]) for r in written["runs"]] == [(1, "seed-1"), (2, "seed-2")]
    assert written["runs"][0]["params"] == {"seed": 1}
    assert written["runs"][0]["measures"]["baseline dev accuracy"] == 0.860
    assert written["runs"][0]["measures"]["structured TF speed-up, batch 32"] == 1.5


def test_an_unknown_rev_is_one_line_naming_it(monkeypatch):
    import subprocess

    from prunelab import seeds

    failed = subprocess.CompletedProcess([], 1, stdout="", stderr="ERROR: unknown Git revision 'nope'\n")
    monkeypatch.setattr(seeds.subprocess, "run", lambda *args, **kwargs: failed)
    with pytest.raises(SystemExit, match=r"^error: dvc exp show --rev nope: ERROR: unknown Git revision 'nope'$"):
        seeds.main(["--rev", "nope"])


def test_no_record_yet_is_no_runs(tmp_path):
    assert read_record(str(tmp_path / "seeds.json")) == {"commit": None, "runs": []}


def test_only_runs_of_the_default_recipe_count_as_seeds():
    runs = experiments([{"rev": "abc", "experiments": [{"revs": [run("seed-1", 1, 0.860, -1.2, 1.5)]},
                                                       {"revs": [run("buckets-s42", 42, 0.870, -0.6, 1.7)]}]}])
    default = {"seed": 42, "train": {"bucket_lengths": [16, 32, 64, 128]}}
    committed = {"rev-seed-1": {**default, "seed": 1},
                 "rev-buckets-s42": {**default, "train": {"bucket_lengths": [8, 16, 128]}}}
    assert set(default_recipe_runs(runs, default, committed.__getitem__)) == {"seed-1"}
