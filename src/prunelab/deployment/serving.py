"""Sentences in, labels out: the tokenizer files beside each artifact, and a text-in SavedModel.

An exported classifier takes token ids, so calling it means reproducing the training
tokenizer exactly. Two ways are offered:

- ``serving.json`` + ``vocab.txt`` + ``tokenizer.json`` written beside the LiteRT files;
  ``prunelab predict`` tokenizes on the host with ``tokenizer.json`` (the Hugging Face
  tokenizer the model was trained with) and needs no TensorFlow.
- A text-in SavedModel whose ``serving_text`` signature tokenizes in the graph: Hugging
  Face's BERT normalization as TensorFlow string ops, then tensorflow_text's
  ``FastBertTokenizer`` built from ``vocab.txt``. Its string ops make the
  whole SavedModel unloadable by a TensorFlow without ``import tensorflow_text``, so it is a
  folder of its own and the id-input SavedModel stays loadable by TensorFlow alone.

TensorFlow is imported only by the functions that build or read the text-in SavedModel.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prunelab.deployment.artifact import SIGNATURE, TEXT_SIGNATURE
from prunelab.errors import ArtifactError, UserError

SERVING_FILE = "serving.json"
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json")
LABELS = ("negative", "positive")  # SST-2's label 0 and 1
CLS, SEP, PAD, UNK = "[CLS]", "[SEP]", "[PAD]", "[UNK]"


@dataclass(frozen=True)
class TokenizerFiles:
    """A folder with vocab.txt, tokenizer.json and serving.json, and what serving.json says."""

    folder: Path
    max_length: int
    lowercase: bool
    strip_accents: bool
    labels: tuple[str, ...]


def write_tokenizer_files(tokenizer_folder: Path, out_folder: Path, max_length: int) -> TokenizerFiles:
    """Copy the tokenizer a model was trained with into ``out_folder``, with ``serving.json``."""
    tokenizer_folder, out_folder = Path(tokenizer_folder), Path(out_folder)
    lowercase, strip_accents = _bert_normalization(tokenizer_folder)
    out_folder.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        shutil.copyfile(tokenizer_folder / name, out_folder / name)
    settings = {"max_length": int(max_length), "lowercase": lowercase, "strip_accents": strip_accents,
                "labels": list(LABELS)}
    (out_folder / SERVING_FILE).write_text(json.dumps(settings, indent=2) + "\n")
    return read_tokenizer_files(out_folder)


def _bert_normalization(tokenizer_folder: Path) -> tuple[bool, bool]:
    """Whether a BERT WordPiece tokenizer lowercases and strips accents; no other kind can be put in the graph."""
    try:
        spec = json.loads((tokenizer_folder / "tokenizer.json").read_text(encoding="utf-8"))
        vocab = set(_read_vocab(tokenizer_folder / "vocab.txt"))
    except (OSError, ValueError) as err:
        raise UserError(f"{tokenizer_folder} has no readable tokenizer.json and vocab.txt ({err}).") from err
    normalizer, model = spec.get("normalizer") or {}, spec.get("model") or {}
    if (normalizer.get("type") != "BertNormalizer" or model.get("type") != "WordPiece"
            or not normalizer.get("clean_text", True) or not normalizer.get("handle_chinese_chars", True)
            or not {CLS, SEP, PAD, UNK} <= vocab):
        raise UserError(f"{tokenizer_folder / 'tokenizer.json'} is not a BERT WordPiece tokenizer "
                        "(BertNormalizer cleaning text and splitting CJK, WordPiece, [CLS]/[SEP]/[PAD]/[UNK]); "
                        "only those can be deployed.")
    lowercase = bool(normalizer.get("lowercase"))
    strip_accents = normalizer.get("strip_accents")  # unset: strip when lowercasing, as BERT does
    return lowercase, lowercase if strip_accents is None else bool(strip_accents)


def read_tokenizer_files(folder: Path) -> TokenizerFiles:
    folder = Path(folder)
    missing = [name for name in (*TOKENIZER_FILES, SERVING_FILE) if not (folder / name).is_file()]
    if missing:
        raise ArtifactError(f"{folder} lacks {', '.join(missing)}: pass --tokenizer a folder written by the deploy "
                            "stage (models/deploy/<model>).")
    try:
        settings = json.loads((folder / SERVING_FILE).read_text())
        return TokenizerFiles(folder, int(settings["max_length"]), bool(settings["lowercase"]),
                              bool(settings["strip_accents"]), tuple(settings["labels"]))
    except (ValueError, KeyError, TypeError) as err:
        raise ArtifactError(f"{folder / SERVING_FILE} is not a serving file written by the deploy stage "
                            f"({err!r}); run the deploy stage again.") from err


def _read_vocab(path: Path) -> list[str]:
    """One token a line, read the way Hugging Face's ``load_vocab`` reads it."""
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


@dataclass(frozen=True)
class EncodedSentences:
    """Padded ids and mask, and which sentences lost tokens to ``max_length``."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    truncated: np.ndarray


class HostTokenizer:
    """The training tokenizer (``tokenizer.json``) run on the host: ids for id-input artifacts."""

    def __init__(self, files: TokenizerFiles):
        from tokenizers import Tokenizer

        self.files = files
        path = files.folder / "tokenizer.json"
        try:
            self._tokenizer = Tokenizer.from_file(str(path))
        except Exception as err:  # the tokenizers library raises a bare Exception for a malformed file
            raise ArtifactError(f"{path} is not a readable tokenizer ({err}); run the deploy stage again.") from err
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._cls, self._sep, self._pad = (self._tokenizer.token_to_id(t) for t in (CLS, SEP, PAD))

    def encode(self, sentences: list[str]) -> EncodedSentences:
        """[CLS] wordpieces [SEP], the wordpieces cut to fit ``max_length``, as the training data was."""
        keep = self.files.max_length - 2
        pieces = [e.ids for e in self._tokenizer.encode_batch(list(sentences), add_special_tokens=False)]
        width = min(max((len(p) for p in pieces), default=0), keep) + 2
        ids = np.full((len(pieces), width), self._pad, dtype=np.int32)
        mask = np.zeros((len(pieces), width), dtype=np.int32)
        for row, piece in enumerate(pieces):
            sentence = [self._cls, *piece[:keep], self._sep]
            ids[row, : len(sentence)] = sentence
            mask[row, : len(sentence)] = 1
        return EncodedSentences(ids, mask, np.array([len(p) > keep for p in pieces], dtype=bool))


def graph_encoder(files: TokenizerFiles):
    """The tokenizer as TensorFlow ops: (tokenizer module, function of string [batch] to ids, mask, truncated).

    [CLS] wordpieces [SEP], the wordpieces cut to fit ``max_length``, padded with [PAD]: the ids
    the host tokenizer gives. The module must be tracked by whatever SavedModel uses the function.

    The text is normalized as Hugging Face's ``BertNormalizer`` does it, step by step, rather than
    by ``FastBertTokenizer``'s own lowercasing, which case-folds (ß to ss, the ﬁ ligature to fi)
    and so gives other ids than the tokenizer the model was trained with.
    """
    import tensorflow as tf
    import tensorflow_text as tf_text

    vocab = _read_vocab(files.folder / "vocab.txt")
    tokenizer = tf_text.FastBertTokenizer(vocab=vocab, token_out_type=tf.int32, unknown_token=UNK)
    cls_id, sep_id, pad_id = (vocab.index(t) for t in (CLS, SEP, PAD))
    keep = files.max_length - 2

    def normalize(sentences):
        # Drop NUL, U+FFFD and every other (C*) character but tab, newline and carriage return ...
        text = tf.strings.regex_replace(sentences, r"[\x{0}\x{FFFD}]|[^\PC\t\n\r]", "")
        # ... which become spaces, with every other space separator.
        text = tf.strings.regex_replace(text, r"[\t\n\r\p{Zs}\x{2028}\x{2029}]", " ")
        if files.strip_accents:
            text = tf.strings.regex_replace(tf_text.normalize_utf8(text, "NFD"), r"\p{Mn}", "")
        if files.lowercase:
            # Hugging Face lowercases character by character; ICU would make a word-final capital sigma ς.
            text = tf.strings.lower(tf.strings.regex_replace(text, "Σ", "σ"), encoding="utf-8")
        return text

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="sentences")])
    def encode(sentences):
        pieces = tokenizer.tokenize(normalize(sentences))
        truncated = pieces.row_lengths() > keep
        rows = tf.shape(sentences)[0]
        ids = tf.concat([tf.fill([rows, 1], cls_id), pieces[:, :keep], tf.fill([rows, 1], sep_id)], axis=1)
        return ids.to_tensor(default_value=pad_id), tf.ones_like(ids).to_tensor(default_value=0), truncated

    return tokenizer, encode


def export_text_saved_model(id_saved_model: Path, files: TokenizerFiles, folder: Path) -> None:
    """Wrap the id-input SavedModel at ``id_saved_model`` (read from disk) with an in-graph tokenizer.

    Signatures: ``serving_text`` (``sentences``: string [batch] to ``logits``, ``probabilities``,
    ``label`` (the label's name) and ``truncated`` (the sentence had more than ``max_length`` tokens)),
    and ``serving_default``, the id-input signature unchanged. Written to a sibling, then renamed.
    """
    import tensorflow as tf

    classifier = tf.saved_model.load(str(id_saved_model))
    serve_ids = classifier.signatures[SIGNATURE]
    tokenizer, encode = graph_encoder(files)
    labels = tf.constant(list(files.labels))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="sentences")])
    def serve_text(sentences):
        input_ids, attention_mask, truncated = encode(sentences)
        out = serve_ids(input_ids=input_ids, attention_mask=attention_mask)
        return {**out, "label": tf.gather(labels, tf.argmax(out["logits"], axis=-1)), "truncated": truncated}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="input_ids"),
                                  tf.TensorSpec([None, None], tf.int32, name="attention_mask")])
    def serve_token_ids(input_ids, attention_mask):
        return serve_ids(input_ids=input_ids, attention_mask=attention_mask)

    module = tf.Module(name="text_classifier")
    module.classifier = classifier
    module.tokenizer = tokenizer
    folder = Path(folder)
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    tf.saved_model.save(module, str(staging), signatures={TEXT_SIGNATURE: serve_text, SIGNATURE: serve_token_ids})
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
