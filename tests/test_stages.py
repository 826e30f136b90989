"""A stage given bad input says what is wrong in one line and writes nothing."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def run_stage(name: str, cwd: Path, sst2_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SST2_DIR": str(sst2_dir)}
    return subprocess.run([sys.executable, str(REPO / "stages" / f"{name}.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


def test_malformed_row_stops_prepare_with_file_and_line(tmp_path):
    sst2 = tmp_path / "sst2"
    sst2.mkdir()
    (sst2 / "train.tsv").write_text("sentence\tlabel\n" + "a good film\t1\n" * 20 + "broken row without label\n")
    (sst2 / "dev.tsv").write_text("sentence\tlabel\nfine\t1\n")
    work = tmp_path / "work"
    work.mkdir()
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"]["train_size"] = 5
    (work / "params.yaml").write_text(yaml.safe_dump(params))

    assert run_stage("source", work, sst2).returncode == 0
    result = run_stage("prepare", work, sst2)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {sst2 / 'train.tsv'}, line 22: expected 2 tab-separated fields (sentence, label), found 1."
    )
    assert "Traceback" not in result.stderr
    assert not (work / "data" / "prepared").exists()
    assert not (work / "metrics").exists()


def test_changed_source_after_the_source_stage_is_caught(tmp_path):
    sst2 = tmp_path / "sst2"
    sst2.mkdir()
    (sst2 / "train.tsv").write_text("sentence\tlabel\n" + "a good film\t1\n" * 20)
    (sst2 / "dev.tsv").write_text("sentence\tlabel\nfine\t1\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "params.yaml").write_text((REPO / "params.yaml").read_text())
    assert run_stage("source", work, sst2).returncode == 0
    (sst2 / "dev.tsv").write_text("sentence\tlabel\nfine\t0\n")
    result = run_stage("prepare", work, sst2)
    assert result.returncode == 1 and "changed after the source stage ran" in result.stderr


def test_a_stage_a_model_refuses_an_unknown_model_in_one_line(tmp_path):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    for name in ("evaluate", "deploy", "benchmark"):
        result = run_stage(name, tmp_path, tmp_path, "sparse")
        assert result.returncode == 1
        assert result.stderr.strip().splitlines()[-1] == (
            f"error: {name} needs a model name, one of baseline, pruned, structured: python stages/{name}.py MODEL")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def test_a_stage_times_itself_from_process_start_not_from_its_imports():
    # What runs before prunelab.stage is imported (starting Python, importing TensorFlow) is part of the stage's time.
    script = ("import time; time.sleep(0.6); from prunelab.stage import seconds_since_start; "
              "print(seconds_since_start())")
    seconds = float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    assert 0.6 <= seconds < 30
