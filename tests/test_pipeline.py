"""End to end: `dvc repro` in a temporary copy of the repo, tiny params, real SST-2 rows."""

import json
import re

import pytest
import yaml

from pipeline_workspace import copy_workspace, dvc, stages_run

pytestmark = pytest.mark.slow  # `dvc repro` of the whole pipeline

ALL_STAGES = {"source", "prepare", "base_model", "train", "prune", "structured", "report",
              "sweep@magnitude", "sweep@wanda", "sweep@sparsegpt", "sweep_structured", "deploy@baseline",
              "evaluate_baseline", "evaluate@pruned", "evaluate@structured",
              "deploy@pruned", "deploy@structured", "benchmark@baseline", "benchmark@pruned", "benchmark@structured"}


def evaluations(workspace) -> dict:
    return {model: json.loads((workspace / f"metrics/evaluation/{model}.json").read_text())
            for model in ("baseline", "pruned", "structured")}


# `workspace` and `first_run` (conftest.py): one tiny `dvc repro` a session, shared with test_sharing.py.


def test_repro_writes_every_output(workspace, first_run):
    assert stages_run(first_run.stdout) == ALL_STAGES
    import pandas as pd

    sizes = [len(pd.read_parquet(workspace / "data/prepared" / f"{name}.parquet")) for name in ("train", "selection",
                                                                                               "dev")]
    assert sizes == [96, 64, 872]
    for saved_model in ("baseline/saved_model", "pruned", "structured"):
        assert (workspace / "models" / saved_model / "saved_model.pb").is_file()

    evaluation = evaluations(workspace)
    assert evaluation["pruned"]["sparsity"]["targeted_sparsity"] == pytest.approx(0.5, abs=0.005)
    assert evaluation["pruned"]["comparison"]["accuracy_change"]["points"] == pytest.approx(
        100 * (evaluation["pruned"]["accuracy"] - evaluation["baseline"]["accuracy"]))
    assert evaluation["baseline"]["sparsity"]["targeted_sparsity"] < 0.01
    assert evaluation["structured"]["sparsity"]["parameters"] < evaluation["baseline"]["sparsity"]["parameters"]
    for model in ("baseline", "pruned", "structured"):
        assert evaluation[model]["split"] == "dev" and evaluation[model]["sentences"] == 872
        assert evaluation[model]["memory"]["peak_rss_mb"] > evaluation[model]["memory"]["rss_before_model_mb"]

    record = json.loads((workspace / "metrics/prune.json").read_text())
    assert record["method"] == "magnitude" and record["schedule"] == "gradual" and record["epochs_run"] == 1
    structured = json.loads((workspace / "metrics/structured.json").read_text())
    assert 0.45 < structured["flops_fraction"] <= 0.5 and structured["recovery"]["distill_hidden_weight"] == 1.0

    for method in ("magnitude", "wanda", "sparsegpt"):
        (point,) = json.loads((workspace / f"metrics/sweep/{method}.json").read_text())
        assert point["run"]["achieved_sparsity"] == pytest.approx(0.5, abs=1e-3) and point["split"] == "dev"
    (point,) = json.loads((workspace / "metrics/sweep/structured.json").read_text())
    assert not point["run"]["recovery"] and 0.45 < point["run"]["flops_fraction"] <= 0.5

    for model in ("baseline", "pruned", "structured"):
        deployed = json.loads((workspace / f"metrics/deploy/{model}.json").read_text())["variants"]
        assert (workspace / f"models/deploy/{model}/int8.tflite").stat().st_size == deployed["int8"]["bytes"]
    runs = {model: json.loads((workspace / f"metrics/benchmark/{model}.json").read_text())
            for model in ("baseline", "pruned", "structured")}
    assert set(runs["baseline"]["artifacts"]) == {"baseline", "baseline_copy", "baseline_int8_litert"}
    assert set(runs["structured"]["artifacts"]) == {"baseline", "structured", "structured_int8_litert",
                                                    "baseline_int8_litert"}
    assert set(runs["pruned"]["against_baseline"]) == {"pruned", "pruned_int8_litert", "baseline_int8_litert"}
    assert runs["pruned"]["aa"] is None
    assert set(runs["structured"]["against_baseline_litert"]) == {"structured_int8_litert"}
    aa = runs["baseline"]["aa"]["batch1"]
    assert aa["ci95"][0] <= aa["ratio"] <= aa["ci95"][1]

    lock = yaml.safe_load((workspace / "dvc.lock").read_text())
    assert lock["stages"]["prepare"]["outs"][0]["md5"]  # the versioned subset


def test_report_states_the_measured_figures(workspace, first_run):
    evaluation = evaluations(workspace)
    benchmark = json.loads((workspace / "metrics/benchmark/structured.json").read_text())
    markdown = (workspace / "reports/report.md").read_text()
    html = (workspace / "reports/report.html").read_text()
    for text in (markdown, html):
        for model in ("baseline", "pruned", "structured"):
            assert f"{evaluation[model]['accuracy']:.4f}" in text
            assert evaluation[model]["sha256"] in text
        assert f"{evaluation['pruned']['sparsity']['targeted_sparsity']:.2%}" in text
        assert benchmark["against_baseline"]["structured"]["batch32"]["verdict"] in text
        assert "dense float32 kernels" in text and "selection set" in text
    # Self-contained: every figure inlined, nothing fetched.
    assert html.count("data:image/png;base64,") == 6
    assert not re.search(r"(src|href)=\"(http|//)", html)
    for figure in re.findall(r"\]\((figures/[\w.]+)\)", markdown):
        assert (workspace / "reports" / figure).is_file()


def test_second_repro_reruns_nothing_downstream(workspace, first_run):
    output = dvc(workspace, "repro").stdout
    # `source` re-checks the SST-2 checksums every time; with them unchanged nothing else runs.
    assert stages_run(output) <= {"source"}


def stale_after_editing(workspace, module: str) -> set[str]:
    """The stages `dvc status` names while ``module`` carries an edit (undone before this returns)."""
    path = workspace / module
    original = path.read_text()
    path.write_text(original + "\n# edited\n")
    try:
        return set(re.findall(r"^([\w@-]+):", dvc(workspace, "status").stdout, re.MULTILINE))
    finally:
        path.write_text(original)


def test_editing_a_module_makes_exactly_its_importers_stale(workspace, first_run):
    stale = stale_after_editing(workspace, "src/prunelab/pruning/recovery.py")
    assert {"prune", "structured", "sweep@magnitude", "sweep_structured"} <= stale
    assert not stale & {"prepare", "base_model", "train"}


def test_editing_sparsegpt_makes_only_what_prunes_with_it_stale(workspace, first_run):
    stale = stale_after_editing(workspace, "src/prunelab/pruning/unstructured/methods/sparsegpt.py")
    assert stale - {"source"} == {"prune", "sweep@sparsegpt"}  # `source` runs every time (always_changed)


def test_changing_sparsity_reruns_only_what_depends_on_the_pruned_model(workspace, first_run, tmp_path):
    copy = copy_workspace(workspace, tmp_path / "repo")  # the shared workspace keeps the default run
    params = yaml.safe_load((copy / "params.yaml").read_text())
    params["prune"]["sparsity"] = 0.7
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    output = dvc(copy, "repro").stdout
    assert stages_run(output) - {"source"} == {"prune", "evaluate@pruned", "deploy@pruned", "benchmark@pruned",
                                               "report"}
    evaluation = evaluations(copy)
    assert evaluation["pruned"]["sparsity"]["targeted_sparsity"] == pytest.approx(0.7, abs=0.005)
