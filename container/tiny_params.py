"""Shrink a params.yaml in place to a pipeline run of a few minutes on 2 cores.

    python container/tiny_params.py [params.yaml]

The sizes are the end-to-end test's (TINY in tests/pipeline_workspace.py, imported so that
the two cannot drift apart). Used by `make container-check` on a scratch workspace; never
run it on your checkout.
"""

import sys
from pathlib import Path

import yaml


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "params.yaml").resolve()
    sys.path.insert(0, str(path.parent / "tests"))
    from pipeline_workspace import TINY
    from prunelab.quick_look import overlay

    params = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(overlay(params, TINY), sort_keys=False))
    print(f"{path}: tiny parameters from tests/pipeline_workspace.py: {TINY}")


if __name__ == "__main__":
    main()
