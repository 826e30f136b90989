import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import random_encoded, tiny_model
from prunelab.data.batching import padded_batches
from prunelab.deployment.artifact import load_artifact
from prunelab.deployment.conversion import convert
from prunelab.errors import ArtifactError
from prunelab.model.export import export_saved_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runtime")
    export_saved_model(tiny_model("bert"), folder / "saved_model")
    (folder / "fp32.tflite").write_bytes(convert(folder / "saved_model", "fp32")[0])
    return folder


def test_litert_and_saved_model_give_the_same_logits_at_every_shape(exported):
    saved_model = load_artifact(exported / "saved_model")
    litert = load_artifact(exported / "fp32.tflite", threads=1)
    assert (saved_model.kind, litert.kind) == ("saved_model", "litert")
    data = random_encoded(12, seed=3)
    # Batch sizes and lengths change from call to call, and come back: the interpreter must resize each time.
    for batch_size in (1, 5, 12, 1):
        for ids, mask in padded_batches(data, batch_size):
            expected = saved_model.logits(ids, mask)
            got = litert.logits(ids, mask)
            assert got.dtype == np.float32 and got.shape == (len(ids), 2)
            np.testing.assert_allclose(got, expected, atol=1e-4)


def test_size_is_what_lies_on_disk(exported):
    assert load_artifact(exported / "fp32.tflite").size_bytes == (exported / "fp32.tflite").stat().st_size
    folder_bytes = sum(p.stat().st_size for p in (exported / "saved_model").rglob("*") if p.is_file())
    assert load_artifact(exported / "saved_model").size_bytes == folder_bytes


def test_litert_uses_every_core_unless_told(exported, monkeypatch):
    import ai_edge_litert.interpreter as litert

    asked = []
    real = litert.Interpreter

    def recording(**kwargs):
        asked.append(kwargs["num_threads"])
        return real(**kwargs)

    monkeypatch.setattr(litert, "Interpreter", recording)
    load_artifact(exported / "fp32.tflite")
    load_artifact(exported / "fp32.tflite", threads=1)
    assert asked == [os.cpu_count(), 1]


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_litert_runs_without_tensorflow(exported):
    result = run_python(
        "import sys, json, numpy as np\n"
        "from prunelab.deployment.artifact import load_artifact\n"
        f"artifact = load_artifact({str(exported / 'fp32.tflite')!r}, threads=1)\n"
        "logits = artifact.logits(np.array([[1, 7, 2]]), np.array([[1, 1, 1]]))\n"
        "print(json.dumps({'tensorflow': 'tensorflow' in sys.modules, 'shape': list(logits.shape)}))\n"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"tensorflow": False, "shape": [1, 2]}


def test_saved_model_threads_are_set_before_tensorflow_runs(exported):
    result = run_python(
        "import prunelab, numpy as np, tensorflow as tf\n"
        "from prunelab.deployment.artifact import load_artifact\n"
        f"artifact = load_artifact({str(exported / 'saved_model')!r}, threads=2)\n"
        "artifact.logits(np.array([[1, 7, 2]]), np.array([[1, 1, 1]]))\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads())\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "1"]


def test_missing_artifact_is_named(tmp_path):
    with pytest.raises(ArtifactError, match=f"{tmp_path / 'nowhere.tflite'} does not exist"):
        load_artifact(tmp_path / "nowhere.tflite")


def test_corrupt_litert_file_is_named(exported, tmp_path):
    corrupt = tmp_path / "int8.tflite"
    corrupt.write_bytes((exported / "fp32.tflite").read_bytes()[:5000])
    with pytest.raises(ArtifactError, match=f"{corrupt} is not a readable LiteRT model"):
        load_artifact(corrupt)
    corrupt.write_bytes(b"not a model at all")
    with pytest.raises(ArtifactError, match=f"{corrupt} is not a readable LiteRT model"):
        load_artifact(corrupt)


def test_corrupt_or_foreign_saved_model_folder_is_named(tmp_path):
    folder = tmp_path / "saved_model"
    folder.mkdir()
    with pytest.raises(ArtifactError, match=f"{folder} is a folder without saved_model.pb"):
        load_artifact(folder)
    (folder / "saved_model.pb").write_bytes(b"\x08\x01garbage that is not a protocol buffer")
    with pytest.raises(ArtifactError, match=f"{folder} is not a readable SavedModel"):
        load_artifact(folder)
