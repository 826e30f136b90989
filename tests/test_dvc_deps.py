"""Every dvc.yaml stage depends on all the code it runs, so editing a module reruns every stage that imports it.

The import closure of each stage script is computed statically from the AST (the
repository's own modules under src/, every package ``__init__`` on the way, and
imports inside functions too, which worker processes and lazy loaders use).
"""

import ast
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"


def module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(path: Path, package: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_closure(script: Path) -> set[Path]:
    """The repository's own source files ``script`` imports, directly or through others."""
    seen: set[Path] = set()
    todo = [(script, "")]
    while todo:
        path, package = todo.pop()
        for name in imported_names(path, package):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                found = module_file(".".join(parts[:depth]))
                if found and found not in seen:
                    seen.add(found)
                    inner = ".".join(parts[:depth]) if found.name == "__init__.py" else ".".join(parts[: depth - 1])
                    todo.append((found, inner))
    return seen


def stage_scripts():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        stage = stage.get("do", stage)
        match = re.search(r"python3?\s+(\S+\.py)", stage["cmd"])
        if match and not stage.get("always_changed"):
            yield name, REPO / match.group(1), [REPO / re.sub(r"\$\{[^}]*\}", "", d if isinstance(d, str) else next(
                iter(d))) for d in stage.get("deps", [])]


def covered(path: Path, deps: list[Path]) -> bool:
    return any(path == dep or dep in path.parents for dep in deps)


@pytest.mark.parametrize("stage, script, deps", list(stage_scripts()), ids=[s for s, _, _ in stage_scripts()])
def test_stage_depends_on_every_module_it_imports(stage, script, deps):
    needed = {script} | import_closure(script)
    missing = sorted(str(p.relative_to(REPO)) for p in needed if not covered(p, deps))
    assert not missing, f"dvc.yaml stage {stage} imports but does not depend on: {', '.join(missing)}"


def test_the_closure_follows_imports_inside_functions_and_packages(tmp_path):
    closure = import_closure(REPO / "stages" / "prune.py")
    assert SRC / "prunelab" / "__init__.py" in closure
    assert SRC / "prunelab" / "pruning" / "__init__.py" in closure  # a package imported through a submodule
    assert SRC / "prunelab" / "params.py" in closure  # through stage.py, not the script itself


def test_no_plot_names_a_metric_key_that_the_run_may_not_have():
    text = (REPO / "dvc.yaml").read_text()
    assert "latency_batch32_ms" not in text


def test_every_stage_runs_the_code_of_its_own_copy_of_the_repository():
    # `dvc exp run --queue` runs each experiment in a copy of the workspace; the editable install would
    # otherwise import prunelab from the checkout the package was installed from, whatever it holds now.
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    commands = {name: stage.get("do", stage)["cmd"] for name, stage in stages.items()}
    assert {name for name, cmd in commands.items() if not cmd.startswith("PYTHONPATH=$PWD/src python ")} == set()
