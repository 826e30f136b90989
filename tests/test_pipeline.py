"""End to end: `dvc repro` in a temporary copy of the repo, tiny params, real SST-2 rows."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SST2_DIR = Path(os.environ.get("SST2_DIR") or REPO.parent / "shared/data/sst2").resolve()

GENERATED = (".git", ".venv", "data", "models", "metrics", "reports", "cache", "tmp", "__pycache__", ".pytest_cache",
             ".ruff_cache", "*.egg-info")

TINY = {
    "data": {"train_size": 96},
    "model": {"max_length": 64},
    "train": {"epochs": 1, "bucket_lengths": [16, 32, 64]},
    "prune": {"epochs": 1, "sparsity": 0.5, "frequency": 1, "calibration_size": 16,
              "structured": {"importance_sentences": 16}},
    "sweep": {"sparsities": [0.5], "flops_targets": [0.5]},
    "evaluate": {"latency_sentences": 8, "warmup_passes": 1, "repeats": 1},
}
ALL_STAGES = {"source", "prepare", "base_model", "train", "prune", "evaluate", "report", "sweep@magnitude",
              "sweep@wanda", "sweep@sparsegpt", "sweep_structured"}


def merge(base: dict, update: dict) -> dict:
    merged = dict(base)
    for key, value in update.items():
        merged[key] = merge(base[key], value) if isinstance(value, dict) else value
    return merged


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    if not (SST2_DIR / "train.tsv").is_file():
        pytest.fail(f"no SST-2 at {SST2_DIR}: set SST2_DIR to a folder holding GLUE's train.tsv and dev.tsv")
    # The source tree only: no outputs, caches or environments (works in a container without .git too).
    root = tmp_path_factory.mktemp("work") / "repo"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(*GENERATED))
    (root / "dvc.lock").unlink(missing_ok=True)
    params = yaml.safe_load((root / "params.yaml").read_text())
    (root / "params.yaml").write_text(yaml.safe_dump(merge(params, TINY), sort_keys=False))
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        subprocess.run(command, cwd=root, check=True)
    return root


def dvc(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SST2_DIR": str(SST2_DIR), "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([\w@-]+)'", output))


@pytest.fixture(scope="module")
def first_run(workspace):
    return dvc(workspace, "repro")


def test_repro_writes_every_output(workspace, first_run):
    assert stages_run(first_run.stdout) == ALL_STAGES
    import pandas as pd

    assert len(pd.read_parquet(workspace / "data/prepared/train.parquet")) == 96
    assert len(pd.read_parquet(workspace / "data/prepared/validation.parquet")) == 872
    assert (workspace / "models/baseline/saved_model/saved_model.pb").is_file()
    assert (workspace / "models/pruned/saved_model.pb").is_file()

    evaluation = json.loads((workspace / "metrics/evaluation.json").read_text())
    assert evaluation["pruned"]["sparsity"]["targeted_sparsity"] == pytest.approx(0.5, abs=0.005)
    assert evaluation["baseline"]["sparsity"]["targeted_sparsity"] < 0.01
    for model in ("baseline", "pruned"):
        assert 0.0 <= evaluation[model]["accuracy"] <= 1.0
        assert evaluation[model]["latency_batch1"]["runs"] == 8
        assert evaluation[model]["memory"]["peak_rss_mb"] > evaluation[model]["memory"]["rss_before_model_mb"]

    for method in ("magnitude", "wanda", "sparsegpt"):
        (point,) = json.loads((workspace / f"metrics/sweep/{method}.json").read_text())
        assert point["achieved_sparsity"] == pytest.approx(0.5, abs=1e-3)
    one_shot, main = json.loads((workspace / "metrics/sweep/structured.json").read_text())
    assert not one_shot["recovery"] and main["recovery"] and main["main"] and len(main["epochs"]) == 1
    for structured in (one_shot, main):
        assert 0.45 < structured["flops_fraction"] <= 0.5
        assert structured["parameters"] < evaluation["baseline"]["sparsity"]["parameters"]

    lock = yaml.safe_load((workspace / "dvc.lock").read_text())
    assert lock["stages"]["prepare"]["outs"][0]["md5"]  # the versioned subset


def test_report_states_the_measured_figures(workspace, first_run):
    evaluation = json.loads((workspace / "metrics/evaluation.json").read_text())
    main = json.loads((workspace / "metrics/sweep/structured.json").read_text())[-1]
    markdown = (workspace / "reports/report.md").read_text()
    html = (workspace / "reports/report.html").read_text()
    for text in (markdown, html):
        assert f"{evaluation['baseline']['accuracy']:.4f}" in text
        assert f"{evaluation['pruned']['accuracy']:.4f}" in text
        assert f"{evaluation['pruned']['sparsity']['targeted_sparsity']:.2%}" in text
        assert evaluation["pruned"]["sha256"] in text
        assert "dense float32 kernels" in text
        assert f"{main['accuracy']:.4f}" in text and f"{main['parameters']:,}" in text
    # Self-contained: every figure inlined, nothing fetched.
    assert html.count("data:image/png;base64,") == 6
    assert not re.search(r"(src|href)=\"(http|//)", html)
    for figure in re.findall(r"\]\((figures/[\w.]+)\)", markdown):
        assert (workspace / "reports" / figure).is_file()


def test_second_repro_reruns_nothing_downstream(workspace, first_run):
    output = dvc(workspace, "repro").stdout
    # `source` re-checks the SST-2 checksums every time; with them unchanged nothing else runs.
    assert stages_run(output) <= {"source"}


def test_changing_sparsity_reruns_prune_evaluate_report_only(workspace, first_run):
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["prune"]["sparsity"] = 0.7
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    output = dvc(workspace, "repro").stdout
    assert stages_run(output) - {"source"} == {"prune", "evaluate", "report"}
    evaluation = json.loads((workspace / "metrics/evaluation.json").read_text())
    assert evaluation["pruned"]["sparsity"]["targeted_sparsity"] == pytest.approx(0.7, abs=0.005)
