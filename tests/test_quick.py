"""`make quick`'s parts: its params, its workspace, DVC's stage order, a stage run in this process.

The whole quick look takes minutes (README: A quick look); these check what it is made of.
"""

import sys
from pathlib import Path

import pytest
import yaml

from prunelab import quick, stage
from prunelab.errors import ParamsError, UserError
from prunelab.params import parse_params

REPO = Path(__file__).resolve().parents[1]


def test_the_overlay_replaces_only_what_it_names():
    base = {"data": {"train_size": 5000, "local_dir": "x"}, "seed": 1}
    assert quick.overlay(base, {"data": {"train_size": 8}}) == {"data": {"train_size": 8, "local_dir": "x"}, "seed": 1}


def test_quick_params_are_valid_and_keep_the_users_recipe(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["prune"]["sparsity"] = 0.8
    params["data"]["local_dir"] = "../sst2"
    params["train"]["bucket_lengths"] = [8, 12, 16, 24, 64, 128]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    raw = quick.quick_params(tmp_path)
    checked = parse_params(raw)
    assert checked.report.quick_look and checked.prune.sparsity == 0.8
    assert checked.data.train_size == quick.QUICK["data"]["train_size"]
    assert checked.train.bucket_lengths == [8, 12, 16, 24, 64]  # the recipe's buckets, up to the quick max_length
    assert raw["data"]["local_dir"] == str((tmp_path / "../sst2").resolve())  # the stages run one folder down


def test_bad_params_fail_before_any_work(tmp_path):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["prune"]["sparsty"] = 0.8
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match="prune.sparsty is not a known key"):
        quick.quick_params(tmp_path)
    with pytest.raises(UserError, match="run `make quick` from the repository's root"):
        quick.quick_params(tmp_path / "elsewhere")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "params.yaml"]


def test_every_stage_of_dvc_yaml_runs_after_what_it_depends_on(tmp_path):
    workspace = tmp_path / "quick"
    quick.make_workspace(REPO, workspace, quick.quick_params(REPO))
    commands = quick.stage_commands(workspace)
    names = [name for name, _ in commands]
    declared = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert len(names) == len(set(names)) and {n.split("@")[0] for n in names} == set(declared)
    before = {name: i for i, name in enumerate(names)}
    for first, then in [("source", "prepare"), ("prepare", "train"), ("train", "prune"), ("prune", "evaluate@pruned"),
                        ("evaluate_baseline", "evaluate@pruned"), ("deploy@structured", "benchmark@structured"),
                        ("sweep@magnitude", "report")]:
        assert before[first] < before[then], (first, then)
    assert names[-1] == "report"
    assert dict(commands)["sweep@wanda"] == ["stages/sweep.py", "wanda"]


def run_script(tmp_path, monkeypatch, source: str, *args: str) -> None:
    """``source`` as a stage script in ``tmp_path`` (beside our params.yaml), run by ``quick.run_stage``."""
    script = tmp_path / "stage.py"
    script.write_text(source)
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    quick.run_stage([str(script), *args])


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
