"""``prunelab predict``: classify sentences with any artifact the pipeline ships.

A text-in SavedModel tokenizes in its own graph; an id-input SavedModel or a LiteRT file is
given ids by the training tokenizer from the files the deploy stage writes beside it (or
``--tokenizer``). A LiteRT file is run without importing TensorFlow, so the command starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from prunelab.deployment.artifact import Artifact, load_artifact
from prunelab.deployment.serving import HostTokenizer, read_tokenizer_files
from prunelab.errors import UserError

BATCH_SIZE = 32


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        sentences = _sentences(args)
        rows = predict(Path(args.artifact), sentences, args.tokenizer, args.threads)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    for number, row in enumerate(rows, start=1):
        if row["truncated"]:
            print(f"note: sentence {number} is longer than the model takes (model.max_length tokens); "
                  "only its beginning was classified.", file=sys.stderr)
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(f"{row['label']}\t{row['probability']:.4f}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prunelab", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    predict_command = commands.add_parser("predict", help="label sentences as positive or negative")
    predict_command.add_argument("artifact", help="a SavedModel folder or a .tflite file")
    predict_command.add_argument("sentences", nargs="*", help="sentences to classify")
    predict_command.add_argument("--file", type=Path, help="a UTF-8 text file, one sentence a line")
    predict_command.add_argument("--tokenizer", type=Path,
                                 help="folder with vocab.txt, tokenizer.json and serving.json "
                                      "(default: the artifact's folder, as the deploy stage writes it)")
    predict_command.add_argument("--threads", type=int, help="CPU threads the model may use")
    predict_command.add_argument("--json", action="store_true", help="one JSON object a line")
    return parser


def _sentences(args) -> list[str]:
    if bool(args.sentences) == bool(args.file):
        raise UserError("give sentences on the command line or --file, one of the two.")
    if not args.file:
        return list(args.sentences)
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{args.file} cannot be read as UTF-8 text ({err}).") from err
    # A line is a sentence, an empty line an empty sentence; only the final newline ends nothing.
    lines = text.removesuffix("\n").split("\n") if text else []
    return [line.removesuffix("\r") for line in lines]


def predict(artifact_path: Path, sentences: list[str], tokenizer: Path | None = None,
            threads: int | None = None) -> list[dict]:
    """Label, probability of that label, both probabilities and whether it was truncated, per sentence."""
    if artifact_path.is_dir():
        _register_text_ops()
    artifact = load_artifact(artifact_path, threads)
    if artifact.text_signature is not None:
        return _predict_text_signature(artifact, sentences)
    files = read_tokenizer_files(tokenizer or artifact_path.parent)
    return _predict_ids(artifact, HostTokenizer(files), sentences)


def _register_text_ops() -> None:
    """A text-in SavedModel loads only once tensorflow_text has registered its ops."""
    try:
        import tensorflow_text  # noqa: F401
    except ImportError:
        pass  # an id-input SavedModel needs none; a text-in one then fails to load with a message saying why


def _predict_text_signature(artifact: Artifact, sentences: list[str]) -> list[dict]:
    import tensorflow as tf

    rows = []
    for start in range(0, len(sentences), BATCH_SIZE):
        batch = sentences[start : start + BATCH_SIZE]
        out = artifact.text_signature(sentences=tf.constant(batch, dtype=tf.string))
        labels = [label.decode() for label in out["label"].numpy()]
        rows += _rows(batch, labels, out["probabilities"].numpy(), out["truncated"].numpy())
    return rows


def _predict_ids(artifact: Artifact, tokenizer: HostTokenizer, sentences: list[str]) -> list[dict]:
    # Shortest first, so a batch carries little padding; answers come back in input order.
    lengths = [len(s) for s in sentences]
    order = sorted(range(len(sentences)), key=lengths.__getitem__)
    rows: list[dict] = [{}] * len(sentences)
    names = tokenizer.files.labels
    for start in range(0, len(order), BATCH_SIZE):
        chunk = order[start : start + BATCH_SIZE]
        encoded = tokenizer.encode([sentences[i] for i in chunk])
        logits = artifact.logits(encoded.input_ids, encoded.attention_mask)
        probabilities = _softmax(logits)
        labels = [names[i] for i in probabilities.argmax(-1)]
        for index, row in zip(chunk, _rows([sentences[i] for i in chunk], labels, probabilities, encoded.truncated)):
            rows[index] = row
    return rows


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _rows(sentences, labels, probabilities, truncated) -> list[dict]:
    rows = []
    for sentence, label, probs, cut in zip(sentences, labels, probabilities, truncated):
        rows.append({"sentence": sentence, "label": label, "probability": float(probs.max()),
                     "truncated": bool(cut), "probabilities": [float(p) for p in probs]})
    return rows
