# isort: skip_file
# (prunelab must be imported before TensorFlow: it sets the environment TensorFlow reads.)
"""Tiny randomly initialised BERT and DistilBERT classifiers, built in code."""

import numpy as np
import pytest

import prunelab  # noqa: F401  (TensorFlow settings before TensorFlow is imported)
import tensorflow as tf
from transformers import (
    BertConfig,
    DistilBertConfig,
    TFBertForSequenceClassification,
    TFDistilBertForSequenceClassification,
)

from prunelab.data.batching import Encoded
from prunelab.params import FineTuneSpec
from prunelab.training.fine_tune import TrainConfig

VOCAB = 64


def tiny_model(architecture: str, seed: int = 0, layers: int = 2):
    tf.keras.utils.set_random_seed(seed)
    if architecture == "bert":
        config = BertConfig(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=layers, num_attention_heads=2,
                            intermediate_size=32, max_position_embeddings=64, num_labels=2)
        model = TFBertForSequenceClassification(config)
    else:
        config = DistilBertConfig(vocab_size=VOCAB, dim=16, n_layers=layers, n_heads=2, hidden_dim=32,
                                  max_position_embeddings=64, num_labels=2)
        model = TFDistilBertForSequenceClassification(config)
    model(model.dummy_inputs, training=False)
    return model


def one_layer_bert(vocab_size: int, hidden: int = 16, max_positions: int = 128, seed: int = 0):
    """A one-layer random BERT classifier over ``vocab_size`` ids (the real vocabulary's, for tokenizer tests)."""
    tf.keras.utils.set_random_seed(seed)
    config = BertConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=max_positions, num_labels=2)
    model = TFBertForSequenceClassification(config)
    model(model.dummy_inputs, training=False)
    return model


def fine_tuning(bucket_lengths, seed: int = 0, log_every: int = 20, **recipe) -> TrainConfig:
    """A fine-tuning recipe (``params.FineTuneSpec``'s fields, ``distill`` as a dict) bound to a run."""
    return TrainConfig(FineTuneSpec(**recipe), list(bucket_lengths), seed, log_every)


@pytest.fixture(params=["bert", "distilbert"])
def architecture(request):
    return request.param


@pytest.fixture
def model(architecture):
    return tiny_model(architecture)


def random_encoded(n: int, seed: int = 0, max_len: int = 40) -> Encoded:
    """Sentences of random ids and lengths whose label is learnable (does token 5 occur?)."""
    rng = np.random.default_rng(seed)
    ids, labels = [], []
    for _ in range(n):
        length = int(rng.integers(3, max_len))
        sentence = rng.integers(6, VOCAB, size=length).astype(np.int32)
        label = int(rng.random() < 0.5)
        if label:
            sentence[rng.integers(1, length - 1)] = 5
        sentence[0], sentence[-1] = 1, 2
        ids.append(sentence)
        labels.append(label)
    return Encoded(ids, np.array(labels, dtype=np.int32), pad_id=0)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    """A temporary git repository of the source tree with tiny params (tests/pipeline_workspace.py)."""
    from pipeline_workspace import SST2_DIR, make_workspace

    if not (SST2_DIR / "train.tsv").is_file():
        pytest.fail(f"no SST-2 at {SST2_DIR}: set SST2_DIR to a folder holding GLUE's train.tsv and dev.tsv")
    return make_workspace(tmp_path_factory.mktemp("work") / "repo")


@pytest.fixture(scope="session")
def first_run(workspace):
    """`dvc repro` of every stage in ``workspace``, once a session: test_pipeline.py and test_sharing.py share it.

    A test that changes the workspace's params, git history or remotes works in a copy
    (``pipeline_workspace.copy_workspace``), so the run is the same for every test, in any order."""
    from pipeline_workspace import dvc

    return dvc(workspace, "repro")
