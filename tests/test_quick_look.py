"""`make quick`'s parts: its params, its workspace, DVC's stage order, a stage run in this process.

The whole quick look takes minutes (docs/pipeline.md, docs/performance.md); these check what it is made of.
"""

import sys
from pathlib import Path

import pytest
import yaml

from prunelab import quick_look, stage
from prunelab.errors import ParamsError, UserError
from prunelab.params import parse_params

REPO = Path(__file__).resolve().parents[1]


def test_the_overlay_replaces_only_what_it_names():
    base = {"data": {"train_size": 5000, "local_dir": "x"}, "seed": 1}
    merged = quick_look.overlay(base, {"data": {"train_size": 8}})
    assert merged == {"data": {"train_size": 8, "local_dir": "x"}, "seed": 1}


def test_quick_params_are_valid_and_keep_the_users_recipe(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["prune"]["sparsity"] = 0.8
    params["data"]["local_dir"] = "../sst2"
    params["train"]["bucket_lengths"] = [8, 12, 16, 24, 64, 128]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    raw = quick_look.quick_params(tmp_path)
    checked = parse_params(raw)
    assert checked.report.quick_look and checked.prune.sparsity == 0.8
    assert checked.data.train_size == quick_look.QUICK["data"]["train_size"]
    assert checked.train.bucket_lengths == [8, 12, 16, 24, 64]  # the recipe's buckets, up to the quick max_length
    assert raw["data"]["local_dir"] == str((tmp_path / "../sst2").resolve())  # the stages run one folder down


def test_bad_params_fail_before_any_work(tmp_path):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["prune"]["sparsty"] = 0.8
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match="prune.sparsty is not a known key"):
        quick_look.quick_params(tmp_path)
    with pytest.raises(UserError, match="run `make quick` from the repository's root"):
        quick_look.quick_params(tmp_path / "elsewhere")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "params.yaml"]


def test_every_stage_of_dvc_yaml_runs_after_what_it_depends_on(tmp_path):
    workspace = tmp_path / "quick"
    quick_look.make_workspace(REPO, workspace, quick_look.quick_params(REPO))
    plan = quick_look.stage_plan(workspace)
    names = [s.name for s in plan]
    declared = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert len(names) == len(set(names)) and {n.split("@")[0] for n in names} == set(declared)
    before = {name: i for i, name in enumerate(names)}
    for first, then in [("source", "prepare"), ("prepare", "train"), ("train", "prune"), ("prune", "evaluate@pruned"),
                        ("evaluate_baseline", "evaluate@pruned"), ("deploy@structured", "benchmark@structured"),
                        ("sweep@magnitude", "report")]:
        assert first in next(s for s in plan if s.name == then).after, (first, then)
    for s in plan:
        assert all(before[first] < before[s.name] for first in s.after), s.name
    # Stages that more stages wait for come first: the fine-tunes before the measurements and the sweeps.
    assert before["prune"] < before["evaluate_baseline"] < before["sweep@magnitude"]
    assert names[-1] == "report"
    assert {s.name for s in plan if s.exclusive} == {f"benchmark@{m}" for m in ("baseline", "pruned", "structured")}
    assert next(s for s in plan if s.name == "sweep@wanda").argv == ["stages/sweep.py", "wanda"]


def run_script(tmp_path, monkeypatch, source: str, *args: str) -> None:
    """``source`` as a stage script in ``tmp_path`` (beside our params.yaml), run by ``quick_look.run_stage``."""
    script = tmp_path / "stage.py"
    script.write_text(source)
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    quick_look.run_stage([str(script), *args])


def test_a_stage_runs_in_this_process_with_its_argv_and_its_own_clock(tmp_path, monkeypatch, capsys):
    run_script(tmp_path, monkeypatch, "import sys\nfrom prunelab import stage\n"
               "stage.run(lambda params: print('ran', sys.argv[1:], params.seed))\n", "pruned")
    out = capsys.readouterr().out
    assert "ran ['pruned'] 42" in out
    assert float(out.split("stage finished in ")[1].split()[0]) < stage.seconds_since_start()


def test_a_failing_stage_ends_the_quick_look(tmp_path, monkeypatch):
    with pytest.raises(SystemExit) as stopped:
        run_script(tmp_path, monkeypatch, "from prunelab import stage\nfrom prunelab.errors import UserError\n"
                   "def main(params):\n    raise UserError('no such model')\nstage.run(main)\n")
    assert stopped.value.code == 1


def plan_of(*stages: tuple[str, set[str]]) -> list[quick_look.Stage]:
    return [quick_look.Stage(name, [f"stages/{name}.py"], frozenset(after)) for name, after in stages]


def names(stages) -> list[str]:
    return [s.name for s in stages]


def test_a_stage_starts_when_what_it_reads_is_done_and_a_slot_is_free():
    plan = plan_of(("train", set()), ("prune", {"train"}), ("structured", {"train"}), ("sweep", {"train"}))
    assert names(quick_look.ready(plan, set(), [], 2)) == ["train"]
    after_train = plan[1:]
    assert names(quick_look.ready(after_train, {"train"}, [], 2)) == ["prune", "structured"]
    assert names(quick_look.ready(after_train[1:], {"train"}, after_train[:1], 2)) == ["structured"]
    assert names(quick_look.ready(after_train[2:], {"train"}, after_train[:2], 2)) == []


def test_a_benchmark_never_shares_the_machine():
    plan = plan_of(("deploy", set()), ("benchmark@pruned", {"deploy"}), ("sweep", set()), ("evaluate", set()))
    deploy, benchmark, sweep, evaluate = plan
    assert benchmark.exclusive and not deploy.exclusive
    # Ready but another stage is running: it waits, and the stages after it may use the free slot.
    assert names(quick_look.ready([benchmark, evaluate], {"deploy"}, [sweep], 2)) == ["evaluate"]
    # Nothing running: it starts, alone.
    assert names(quick_look.ready([benchmark, evaluate], {"deploy"}, [], 2)) == ["benchmark@pruned"]
    assert names(quick_look.ready([evaluate], {"deploy"}, [benchmark], 2)) == []


SLEEPER = """import sys, time
from pathlib import Path
from prunelab import stage

def main(params):
    begun = time.time()
    time.sleep(float(sys.argv[2]))
    with open("spans.txt", "a") as spans:
        spans.write(f"{sys.argv[1]} {begun} {time.time()}\\n")
    if sys.argv[1] == "broken":
        raise stage.UserError("this stage is broken")

stage.run(main)
"""


def run_sleepers(tmp_path, *stages: tuple[str, float, set[str]]) -> dict[str, tuple[float, float]]:
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "sleep.py").write_text(SLEEPER)
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    plan = [quick_look.Stage(name, ["stages/sleep.py", name, str(seconds)], frozenset(after))
            for name, seconds, after in stages]
    try:
        seconds = quick_look.run_stages(plan, tmp_path, slots=2)
    finally:
        spans = {line.split()[0]: tuple(map(float, line.split()[1:]))
                 for line in (tmp_path / "spans.txt").read_text().splitlines()}
    assert set(seconds) == set(spans)
    return spans


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_stages_run_two_at_a_time_in_worker_processes_and_a_benchmark_alone(tmp_path):
    spans = run_sleepers(tmp_path, ("train", 0.2, set()), ("prune", 1.0, {"train"}), ("sweep", 1.0, {"train"}),
                         ("benchmark@pruned", 0.5, {"prune"}), ("evaluate", 1.0, {"prune"}))
    assert spans["train"][1] <= min(spans["prune"][0], spans["sweep"][0])  # they read what it wrote
    assert overlap(spans["prune"], spans["sweep"])
    assert not any(overlap(spans["benchmark@pruned"], spans[s]) for s in ("prune", "sweep", "evaluate"))


def test_a_failing_stage_stops_the_quick_look_and_names_itself(tmp_path, capfd):
    with pytest.raises(SystemExit, match="stage broken failed"):
        run_sleepers(tmp_path, ("broken", 0.1, set()), ("after", 0.1, {"broken"}))
    assert "error: this stage is broken" in capfd.readouterr().err  # the worker's own message
    assert "after" not in (tmp_path / "spans.txt").read_text()
