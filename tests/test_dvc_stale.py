"""Which stages an edit makes stale, read from dvc.yaml's deps: a stage reruns for the code it runs, no other.

dvc.yaml's foreach stages are expanded as DVC expands them (``${key}``, ``${item}``), so a dep that
names one item's module (``methods/${key}.py``) counts for that item alone; a stage is stale when a
dep covers the edited file or an output of a stale stage.
"""

import re
from pathlib import Path

import pytest
import yaml

from prunelab.params import UNSTRUCTURED_METHODS
from test_dvc_deps import covered, import_closure

REPO = Path(__file__).resolve().parents[1]
METHODS = REPO / "src/prunelab/pruning/unstructured/methods"


def _substituted(entries, key, item) -> list[Path]:
    paths = [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries or []]
    return [REPO / p.replace("${key}", str(key)).replace("${item}", str(item)) for p in paths]


def expanded_stages() -> dict[str, dict]:
    """Every stage of dvc.yaml by DVC's name (``sweep@wanda``), with its deps and outs as paths."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    stages = {}
    for name, stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].items():
        if "foreach" not in stage:
            items = {None: None}
        elif isinstance(stage["foreach"], str):  # ${section.key} of params.yaml
            items = params
            for part in re.fullmatch(r"\$\{(.+)\}", stage["foreach"]).group(1).split("."):
                items = items[part]
        else:
            items = stage["foreach"]
        body = stage.get("do", stage)
        for key, item in items.items():
            outs = [*body.get("outs", []), *body.get("metrics", []), *body.get("plots", [])]
            stages[name if key is None else f"{name}@{key}"] = {
                "cmd": body["cmd"].replace("${key}", str(key)), "params": body.get("params", []),
                "deps": _substituted(body.get("deps"), key, item), "outs": _substituted(outs, key, item)}
    return stages


STAGES = expanded_stages()


def stale_after_editing(path: Path) -> tuple[set[str], set[str]]:
    """(the stages that depend on ``path`` itself, every stage that reruns: those and all that read their outputs)."""
    direct = {name for name, stage in STAGES.items() if covered(path, stage["deps"])}
    stale, grew = set(direct), True
    while grew:
        outs = [out for name in stale for out in STAGES[name]["outs"]]
        more = {name for name, stage in STAGES.items()
                if any(dep == out or out in dep.parents or dep in out.parents for dep in stage["deps"] for out in outs)}
        grew = not more <= stale
        stale |= more
    return direct, stale


def test_editing_sparsegpt_reruns_only_what_prunes_with_it():
    direct, stale = stale_after_editing(METHODS / "sparsegpt.py")
    assert direct == {"prune", "sweep@sparsegpt"}
    assert not stale & {"source", "prepare", "base_model", "train", "structured", "sweep@magnitude", "sweep@wanda",
                        "sweep_structured", "evaluate_baseline", "evaluate@structured", "deploy@baseline",
                        "deploy@structured", "benchmark@baseline", "benchmark@structured"}
    assert {"evaluate@pruned", "deploy@pruned", "benchmark@pruned", "report"} <= stale


def test_editing_the_structured_half_leaves_the_unstructured_models_alone():
    direct, _ = stale_after_editing(REPO / "src/prunelab/pruning/structured/surgery.py")
    assert direct == {"structured", "sweep_structured"}


@pytest.mark.parametrize("name", [n for n in STAGES if n.startswith("sweep@")])
def test_each_sweep_depends_on_the_code_of_its_own_method(name):
    """The method module is loaded by name (``methods.load``): its imports are checked here, against the item's deps."""
    module = METHODS / f"{name.split('@')[1]}.py"
    deps = STAGES[name]["deps"]
    missing = [str(p.relative_to(REPO)) for p in {module} | import_closure(module) if not covered(p, deps)]
    assert not missing, f"{name} loads {module.name}, which imports what it does not depend on: {missing}"


def test_the_main_pruned_model_depends_on_every_method():
    deps = STAGES["prune"]["deps"]
    for method in UNSTRUCTURED_METHODS:
        module = METHODS / f"{method}.py"
        assert all(covered(p, deps) for p in {module} | import_closure(module)), method


def stages_reading(key: str) -> set[str]:
    """The stages whose params name ``key`` (a dotted params.yaml key), a section above it or a key inside it;
    the report, which reads the whole file, left out."""
    def reads(entry) -> bool:
        return isinstance(entry, str) and (key == entry or key.startswith(entry + ".") or entry.startswith(key + "."))
    return {name for name, stage in STAGES.items() if any(reads(entry) for entry in stage["params"])}


def test_a_recovery_setting_reruns_only_the_models_it_recovers():
    assert stages_reading("prune.recovery.learning_rate") == {"prune", "sweep@magnitude", "sweep@wanda",
                                                              "sweep@sparsegpt"}  # the sweeps: with sweep.recovery
    assert stages_reading("structured.recovery.learning_rate") == {"structured", "sweep_structured"}
    assert stages_reading("train.learning_rate") == {"train"}
