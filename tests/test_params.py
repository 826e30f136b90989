"""params.yaml is validated once, before any data or model is touched; bad input gets one line naming the key."""

import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from prunelab.errors import ParamsError
from prunelab.params import load_params, parse_params

REPO = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((REPO / "params.yaml").read_text())


def edited(changes: dict) -> dict:
    """The default params with each dotted key of ``changes`` set to its value."""
    raw = copy.deepcopy(DEFAULT)
    for key, new in changes.items():
        *parents, last = key.split(".")
        node = raw
        for part in parents:
            node = node[part]
        node[last] = new
    return raw


BAD_INPUT = [
    # (what is changed, the message's essential words)
    ({"prune.sparsty": 0.8}, "prune.sparsty is not a known key; did you mean prune.sparsity?"),
    ({"structured.flops_targt": 0.4},
     "structured.flops_targt is not a known key; did you mean structured.flops_target?"),
    ({"prune.sparsity": "half"}, "prune.sparsity: input should be a valid number (got 'half')"),
    ({"prune.sparsity": 1.5}, "prune.sparsity: input should be less than 1 (got 1.5)"),
    ({"structured.flops_target": 0}, "structured.flops_target: input should be greater than 0 (got 0)"),
    ({"structured.min_fraction": 0.9}, "structured.min_fraction 0.9 keeps at least 90%"),
    ({"prune.method": "wanda", "prune.schedule": "gradual"},
     "prune.schedule gradual: prune.method wanda prunes once; set prune.schedule to oneshot"),
    ({"prune.n_m": "2:4", "prune.sparsity": 0.7, "prune.schedule": "oneshot"},
     "prune.n_m 2:4 prunes exactly 0.5 of the weights, not sparsity 0.7; set prune.sparsity to 0.5"),
    ({"prune.method": "structured", "prune.n_m": "2:4"}, "prune.method 'structured' is not a pruning method here"),
    ({"train.bucket_lengths": [16, 32, 64, 256]}, "train.bucket_lengths [16, 32, 64, 256] must be increasing"),
    ({"train.bucket_lengths": [16, 32]}, "ending at model.max_length (128)"),
    ({"train.bucket_lengths": []}, "train.bucket_lengths [] must be increasing"),
    ({"train.bucket_lengths": [1, 128]}, "train.bucket_lengths [1, 128] must be increasing lengths >= 2"),
    ({"train.bucket_lengths": [64, 32, 128]}, "train.bucket_lengths [64, 32, 128] must be increasing"),
    ({"prune.scope": "everywhere"}, "prune.scope: input should be 'global', 'per_layer' or 'per_output'"),
    ({"sweep.methods": {"magnitude": "global", "sparsegpt": "global"}},
     "sweep.methods.sparsegpt ranks within global; sparsegpt needs per_output or per_layer"),
    ({"deploy.variants": ["int4"]}, "deploy.variants.0: input should be 'fp32', 'int8' or 'fp16'"),
    ({"prune.method": "obs"}, "prune.method 'obs' is not one of magnitude, wanda, sparsegpt"),
    ({"prune.sparsity": 1.0}, "prune.sparsity: input should be less than 1 (got 1.0)"),
    ({"prune.n_m": "2:4"}, "prune.schedule gradual: prune.n_m 2:4 prunes once"),
    ({"prune.method": "sparsegpt", "prune.schedule": "oneshot"},
     "prune.scope global: sparsegpt prunes each kernel on its own; set prune.scope to per_output or per_layer"),
    ({"prune.n_m": "4:2", "prune.schedule": "oneshot"}, "prune.n_m 4:2 needs 0 < N < M"),
    ({"structured.score": "random"}, "structured.score: input should be 'fisher' or 'taylor'"),
    ({"prune.recovery.epochs": 0}, "prune.schedule gradual prunes during fine-tuning: set prune.recovery.epochs >= 1"),
    ({"seed": "42"}, "seed: input should be a valid integer (got '42')"),
    ({"prune.method": "movement", "prune.schedule": "oneshot"},
     "prune.method movement scores weights by how fine-tuning moves them; set prune.schedule to gradual"),
    ({"sweep.methods": {"magnitude": "global", "movement": "global"}},
     "sweep.methods ['movement']: the sweep prunes one-shot"),
    ({"prune.recovery.distill.alpha": 0.0, "prune.recovery.distill.transfer_size": 100},
     "distill.transfer_size 100: transfer rows are learnt from the teacher alone"),
    ({"data.whole_sentence_share": 1.5}, "data.whole_sentence_share: input should be less than or equal to 1"),
]


@pytest.mark.parametrize("change, message", BAD_INPUT, ids=[next(iter(c)) for c, _ in BAD_INPUT])
def test_bad_input_is_one_line_naming_the_key(change, message):
    with pytest.raises(ParamsError) as caught:
        parse_params(edited(change))
    text = str(caught.value)
    assert message in text
    assert "\n" not in text


def test_the_default_params_are_valid_and_typed():
    params = load_params(REPO / "params.yaml")
    assert params.prune.pattern is None
    assert params.prune.recovery.learning_rate == DEFAULT["prune"]["recovery"]["learning_rate"]
    with pytest.raises(ValidationError):
        params.prune.sparsity = 0.3  # frozen: the library cannot change what was validated


def test_the_structured_model_has_a_recovery_recipe_of_its_own():
    params = parse_params(edited({"prune.recovery.learning_rate": 3.0e-4}))
    assert params.structured.recovery.learning_rate == DEFAULT["structured"]["recovery"]["learning_rate"]
    raw = copy.deepcopy(DEFAULT)
    del raw["structured"]["recovery"]["epochs"]
    with pytest.raises(ParamsError, match="structured.recovery.epochs is missing"):
        parse_params(raw)


def test_a_recovery_holds_fine_tuning_settings_only():
    with pytest.raises(ParamsError, match="structured.recovery.sparsity is not a known key"):
        parse_params(edited({"structured.recovery.sparsity": 0.9}))


def test_n_m_sets_the_pattern():
    params = parse_params(edited({"prune.n_m": "2:4", "prune.sparsity": 0.5, "prune.schedule": "oneshot"}))
    assert params.prune.pattern == (2, 4)


def run_stage(name: str, work: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SST2_DIR": str(work / "no-such-folder")}
    return subprocess.run([sys.executable, str(REPO / "stages" / f"{name}.py"), *(["magnitude"] if name == "sweep"
                                                                                  else [])],
                          cwd=work, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("change, message", BAD_INPUT, ids=[next(iter(c)) for c, _ in BAD_INPUT])
def test_a_stage_refuses_bad_params_before_touching_anything(tmp_path, change, message):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(edited(change), sort_keys=False))
    result = run_stage("source", tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: params.yaml: {result.stderr.split(': ', 2)[2].strip()}"]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def test_an_expensive_stage_refuses_within_seconds(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(edited({"prune.sparsty": 0.8}), sort_keys=False))
    started = time.perf_counter()
    result = run_stage("prune", tmp_path)
    assert result.returncode == 1 and "did you mean prune.sparsity?" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.perf_counter() - started < 60  # TensorFlow's import, no model or data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]
