"""The tiny-params pipeline workspace the end-to-end tests share, and how they run DVC in it.

`dvc repro` of the whole pipeline takes minutes even on tiny params, so conftest.py makes
one workspace a session (fixtures `workspace`, `first_run`) for test_pipeline.py and
test_sharing.py alike. A test leaves it as it found it: one that changes params, commits or
pushes works in its own copy (``copy_workspace``), so the tests pass in any order.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from prunelab.quick_look import overlay

REPO = Path(__file__).resolve().parents[1]
SST2_DIR = Path(os.environ.get("SST2_DIR") or REPO.parent / "shared/data/sst2").resolve()

# What a copy of the source tree leaves out. By folder, not by name alone: src/prunelab/data and
# src/prunelab/model are source, /data and /models the pipeline's outputs.
GENERATED = {REPO: {".git", ".venv", "data", "models", "metrics", "reports", "cache", "tmp", "quick"},
             REPO / ".dvc": {"cache", "tmp", "config.local"}}
CACHES = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info")


def generated(folder: str, names: list[str]) -> set[str]:
    return set(CACHES(folder, names)) | (GENERATED.get(Path(folder), set()) & set(names))

TINY = {
    "data": {"train_size": 96, "selection_size": 64},
    "model": {"max_length": 64},
    "train": {"epochs": 1, "bucket_lengths": [16, 32, 64]},
    "prune": {"sparsity": 0.5, "frequency": 1, "calibration_size": 16,
              "recovery": {"epochs": 1, "distill": {"transfer_size": 32}}},
    "structured": {"importance_sentences": 16},
    "sweep": {"sparsities": [0.5], "flops_targets": [0.5]},
    "deploy": {"variants": ["int8"], "max_accuracy_drop": 100.0},
    "benchmark": {"rounds": 3, "passes": 1, "batch1_sentences": 4, "lengths": [16, 64], "length_rounds": 2},
}

GIT_USER = ["-c", "user.name=t", "-c", "user.email=t@t"]


def make_workspace(root: Path) -> Path:
    """The source tree only, tiny params, as a fresh git repository (works in a container without .git too)."""
    shutil.copytree(REPO, root, ignore=generated)
    (root / "dvc.lock").unlink(missing_ok=True)
    params = yaml.safe_load((root / "params.yaml").read_text())
    (root / "params.yaml").write_text(yaml.safe_dump(overlay(params, TINY), sort_keys=False))
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", *GIT_USER, "commit", "-qm", "copy"]):
        subprocess.run(command, cwd=root, check=True)
    return root


def copy_workspace(workspace: Path, root: Path) -> Path:
    """A copy of ``workspace`` with its run (outputs, DVC cache, git history) at ``root``; DVC's scratch space
    (.dvc/tmp: its state and locks) stays behind and is made anew."""
    shutil.copytree(workspace, root, symlinks=True,
                    ignore=lambda folder, names: ["tmp"] if Path(folder).name == ".dvc" else [])
    return root


def dvc(root: Path, *args: str, sst2_dir: Path | None = SST2_DIR, env: dict | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run DVC in ``root``; ``sst2_dir=None`` is a machine without SST-2 (SST2_DIR unset)."""
    environment = {**os.environ, "DVC_NO_ANALYTICS": "1",
                   "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    environment.pop("SST2_DIR", None)
    if sst2_dir is not None:
        environment["SST2_DIR"] = str(sst2_dir)
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, env=environment, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"dvc {' '.join(args)}\n" + result.stdout[-3000:] + result.stderr[-3000:]
    return result


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([\w@-]+)'", output))
