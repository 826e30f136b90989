"""The frontier grid: its points as overrides of the main run's stages, checked before queueing, and gathered back."""

import copy

import pytest
import yaml

from pipeline_workspace import REPO
from prunelab.frontier import checked_points, gather, merge, overrides, points, queued_names
from prunelab.params import parse_params

RAW = yaml.safe_load((REPO / "params.yaml").read_text())


def params_with(frontier: dict):
    raw = copy.deepcopy(RAW)
    raw["frontier"] = frontier
    return raw, parse_params(raw)


GRID = {"methods": {"magnitude": "global", "wanda": "per_output"}, "sparsities": [0.5, 0.8],
        "flops_targets": [0.35], "criteria": ["width", "depth"],
        "recovery": {"epochs": 3, "distill.transfer_size": 100}}


def test_every_point_is_the_main_runs_stages_with_overrides():
    _, params = params_with(GRID)
    found = {p.name: p for p in points(params)}
    assert list(found) == ["frontier-magnitude-50", "frontier-magnitude-80", "frontier-wanda-50", "frontier-wanda-80",
                           "frontier-width-35", "frontier-depth-35"]
    wanda = found["frontier-wanda-80"]
    assert wanda.overrides == ("prune.method=wanda", "prune.scope=per_output", "prune.schedule=oneshot",
                               "prune.sparsity=0.8", "prune.recovery.epochs=3",
                               "prune.recovery.distill.transfer_size=100")
    assert "prune.schedule=gradual" in found["frontier-magnitude-50"].overrides
    depth = found["frontier-depth-35"]
    assert depth.targets == ("evaluate@structured", "benchmark@structured")
    # structured.min_fraction (0.25 by default) fits 0.35; the recovery is the structured one's.
    assert depth.overrides == ("structured.criterion=depth", "structured.flops_target=0.35",
                               "structured.recovery.epochs=3", "structured.recovery.distill.transfer_size=100")
    assert depth.command()[:5] == ["dvc", "exp", "run", "--queue", "-n"]


def test_a_grid_that_would_fail_is_refused_before_anything_is_queued():
    raw, params = params_with(GRID | {"recovery": {"epochs": 0}})  # magnitude prunes gradually: it needs epochs
    with pytest.raises(SystemExit, match="frontier-magnitude-50: prune.schedule gradual prunes during fine-tuning"):
        checked_points(params, raw)
    with pytest.raises(Exception, match="frontier.recovery does not make prune.recovery a recovery: distil"):
        params_with(GRID | {"recovery": {"distil.alpha": 0.5}})


def test_overrides_are_the_leaves_that_differ_from_the_commit():
    committed = {"seed": 42, "prune": {"sparsity": 0.5, "recovery": {"epochs": 1, "distill": {"alpha": 0.5}}}}
    ran = copy.deepcopy(committed)
    ran["prune"]["sparsity"] = 0.8
    ran["prune"]["recovery"]["distill"]["alpha"] = 1.0
    assert overrides(ran, committed) == ["prune.sparsity=0.8", "prune.recovery.distill.alpha=1.0"]


def test_gathered_points_carry_what_the_report_and_a_rerun_need():
    def run(name, prune, structured, metrics):
        params = copy.deepcopy(RAW)
        params["prune"].update(prune)
        params["structured"].update(structured)
        return {"params": params, "metrics": metrics, "seed": 42, "rev": name}

    change = {"accuracy_change": {"points": -1.2, "ci95_points": [-2.5, 0.1]}}
    ratio = {"batch1": {"ratio": 2.5, "ci95": [2.3, 2.7], "verdict": "faster"}}
    runs = {
        "frontier-magnitude-80": run("a", {"sparsity": 0.8}, {}, {
            "metrics/evaluation/pruned.json": {"accuracy": 0.85, "comparison": change,
                                               "sparsity": {"targeted_sparsity": 0.8}},
            "metrics/evaluation/baseline.json": {"accuracy": 0.862},
            "metrics/prune.json": {"epochs_run": 3, "selection_accuracy": 0.86,
                                   "epochs": [{"sentences": 6000}, {"sentences": 6000}, {"sentences": 6000}]},
            "metrics/train.json": {"selection_accuracy": 0.87},
            "metrics/predictions/pruned.json": {"split": "dev", "labels": [1, 0, 1], "predictions": [1, 1, 0]}}),
        "frontier-depth-35": run("b", {}, {"criterion": "depth", "flops_target": 0.35}, {
            "metrics/evaluation/structured.json": {"accuracy": 0.84, "comparison": change},
            "metrics/evaluation/baseline.json": {"accuracy": 0.862},
            "metrics/structured.json": {"epochs_run": 2, "selection_accuracy": 0.85, "flops_fraction": 1 / 3,
                                        "dropped_layers": [0, 2, 5, 1]},
            "metrics/benchmark/structured.json": {"against_baseline": {"structured_int8_litert": ratio},
                                                  "against_baseline_litert": {"structured_int8_litert": ratio},
                                                  "machine": {"cpu": "AMD EPYC", "cores": 2}}}),
        "seed-1": run("c", {}, {}, {}),
    }
    found = gather(runs, RAW, read=lambda rev, path: next(r for r in runs.values() if r["rev"] == rev)[
        "metrics"].get(path, {}))
    assert [p["name"] for p in found] == ["frontier-magnitude-80", "frontier-depth-35"]
    magnitude, depth = found
    assert magnitude | {"overrides": None} == {
        "name": "frontier-magnitude-80", "method": "magnitude", "kind": "unstructured", "sparsity": 0.8,
        "recovery_epochs": 3, "recovery_rows_seen": 18000, "dev_accuracy": 0.85, "baseline_dev_accuracy": 0.862,
        "change_points": -1.2,
        "change_ci95_points": [-2.5, 0.1], "selection_accuracy": 0.86, "baseline_selection_accuracy": 0.87,
        "overrides": None, "dev_predictions": "110"}
    assert magnitude["overrides"] == ["prune.sparsity=0.8"]
    assert depth["method"] == "depth" and depth["sparsity"] == pytest.approx(0.6667, abs=1e-4)
    assert depth["speedups"]["int8_litert_vs_dense_int8_litert"] == {"batch1": {"ratio": 2.5, "ci95": [2.3, 2.7]}}
    assert depth["timed_on"] == "AMD EPYC, 2 cores" and "timed_on" not in magnitude
    assert "dev_predictions" not in depth  # its commit kept none: the report pairs it with nothing
    assert set(depth["overrides"]) == {"structured.criterion=depth", "structured.flops_target=0.35"}


def test_a_gather_keeps_the_points_of_other_commits_it_does_not_find_again():
    def point(name, kind="unstructured", sparsity=0.8, **rest):
        return {"name": name, "kind": kind, "method": name.split("-")[1], "sparsity": sparsity, **rest}

    # a record written before points named their commit: one commit for all
    recorded = {"commit": "old", "points": [point("frontier-snip-80", dev_accuracy=0.85),
                                            point("frontier-width-35", "structured", 0.65)]}
    found = [point("frontier-snip-90", sparsity=0.9), point("frontier-width-35", "structured", 0.65, dev_accuracy=0.8)]
    record = merge(recorded, found, "new")
    assert [(p["name"], p["commit"]) for p in record["points"]] == [
        ("frontier-snip-80", "old"), ("frontier-snip-90", "new"), ("frontier-width-35", "new")]
    assert record["points"][0]["dev_accuracy"] == 0.85 and record["points"][2]["dev_accuracy"] == 0.8
    assert record["commits"] == ["old", "new"]
    # gathered again from the same commit after frontier-snip-90's experiment was removed: the point goes
    again = merge(record, [point("frontier-width-35", "structured", 0.65)], "new")
    assert [p["name"] for p in again["points"]] == ["frontier-snip-80", "frontier-width-35"]
    assert merge(None, found, "new")["commits"] == ["new"]


def test_points_at_or_above_the_longer_recoverys_sparsity_take_it_and_structured_ones_below_its_flops():
    _, params = params_with(GRID | {"longer": {"from_sparsity": 0.8, "recovery": {"epochs": 5, "learning_rate": 2e-4}}})
    found = {p.name: p.overrides for p in points(params)}
    assert found["frontier-magnitude-50"][-2:] == ("prune.recovery.epochs=3",
                                                   "prune.recovery.distill.transfer_size=100")
    assert found["frontier-wanda-80"][-3:] == ("prune.recovery.epochs=5", "prune.recovery.distill.transfer_size=100",
                                               "prune.recovery.learning_rate=0.0002")
    assert "structured.recovery.epochs=3" in found["frontier-width-35"]
    _, params = params_with(GRID | {"flops_targets": [0.35, 0.25], "longer": {
        "from_sparsity": 0.8, "to_flops_target": 0.25, "recovery": {"epochs": 5}}})
    found = {p.name: p.overrides for p in points(params)}
    assert "structured.recovery.epochs=5" in found["frontier-depth-25"]
    assert "structured.recovery.epochs=3" in found["frontier-width-35"]
    with pytest.raises(Exception, match="frontier.longer.from_sparsity is missing"):
        params_with(GRID | {"longer": {"recovery": {"epochs": 5}}})
    with pytest.raises(Exception, match="frontier.longer.recovery does not make prune.recovery a recovery: epochs"):
        params_with(GRID | {"longer": {"from_sparsity": 0.8, "recovery": {"epochs": -1}}})


def test_only_waiting_and_running_tasks_count_as_queued():
    status = """Task     Name                 Created    Status
6d0c0c1  frontier-snip-90     12:09 PM   Running
6ad0c96  frontier-depth-25    12:09 PM   Queued
c861c48  frontier-width-25    11:49 AM   Success
bc9d06e  frontier-depth-35    11:49 AM   Failed
5b9e45e  probe-width-25-long  12:08 PM   Queued

Worker status: 1 active, 0 idle"""
    assert queued_names(status) == {"frontier-snip-90", "frontier-depth-25"}
