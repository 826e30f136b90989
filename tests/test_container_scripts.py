"""The scripts `make container-check` runs inside the image, run here on a scratch copy."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline_workspace import TINY
from prunelab.params import parse_params

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # the container check's scripts, with `make container-check`'s tests


def test_tiny_params_shrinks_a_copy_of_params_yaml_to_valid_tiny_params(tmp_path):
    shutil.copytree(REPO / "tests", tmp_path / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    subprocess.run([sys.executable, str(REPO / "container/tiny_params.py"), "params.yaml"], cwd=tmp_path, check=True)
    tiny = parse_params(yaml.safe_load((tmp_path / "params.yaml").read_text()))
    assert tiny.data.train_size == TINY["data"]["train_size"] and tiny.train.epochs == TINY["train"]["epochs"]
    assert tiny.prune.method == parse_params(yaml.safe_load((REPO / "params.yaml").read_text())).prune.method
