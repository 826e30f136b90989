"""Which code a report was rendered from: the git commit, and whether what the pipeline runs differed from it."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

# What shapes the figures: a change here that is not committed makes the commit an incomplete answer.
PIPELINE_FILES = ("src", "stages", "params.yaml", "dvc.yaml")


def provenance() -> dict:
    """The checkout's commit (None outside a git checkout, as in `make quick`'s workspace), whether the
    pipeline's files have uncommitted changes, and the time of rendering."""
    rendered = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        commit = _git("rev-parse", "--short=10", "HEAD")
        uncommitted = bool(_git("status", "--porcelain", "--", *PIPELINE_FILES))
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "uncommitted": False, "rendered": rendered}
    return {"commit": commit, "uncommitted": uncommitted, "rendered": rendered}


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
