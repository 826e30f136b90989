"""LiteRT variants of an exported SavedModel, each kept only if it predicts like its float original.

Quantization can wreck a transformer (int8 BERT models have been published that fall to
chance after conversion) while the file still loads and runs, so every variant is checked
against the SavedModel it came from before it is written: on the selection split, never on
dev, which is the reported test set and may choose nothing. Dev accuracy is recorded for the report.
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from prunelab.data.batching import Encoded, logits_in_data_order
from prunelab.deployment.artifact import SIGNATURE, Artifact, load_artifact
from prunelab.deployment.serving import export_text_saved_model, write_tokenizer_files
from prunelab.errors import UserError

VARIANTS = ("fp32", "int8", "fp16")  # params.py validates deploy.variants against the same names


class GateError(UserError):
    """A converted variant whose predictions drift too far from its float SavedModel's."""


def convert(saved_model: Path, variant: str) -> tuple[bytes, float]:
    """The LiteRT flatbuffer of ``variant`` and the seconds conversion took (in ``deploy_model``:
    beside that model's other work).

    Built-in ops only, so the file runs on the LiteRT runtime without TensorFlow; ``int8`` is
    dynamic-range quantization (int8 weights, float activations: no calibration data needed),
    ``fp16`` stores float16 weights. The [batch, length] inputs stay open.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown LiteRT variant {variant!r}; known: {', '.join(VARIANTS)}")
    started = time.perf_counter()
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=[SIGNATURE])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant in ("int8", "fp16"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    flatbuffer = converter.convert()
    seconds = time.perf_counter() - started
    _check_open_inputs(flatbuffer, saved_model, variant)
    return flatbuffer, seconds


def _check_open_inputs(flatbuffer: bytes, saved_model: Path, variant: str) -> None:
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_content=flatbuffer).get_signature_runner(SIGNATURE).get_input_details()
    shapes = {name: d["shape_signature"].tolist() for name, d in details.items()}
    fixed = {name: shape for name, shape in shapes.items() if shape != [-1, -1]}
    if fixed:
        raise UserError(f"converting {saved_model} to {variant} fixed the input shapes {fixed}; "
                        "every batch size and sentence length must stay possible.")


def predict_logits(artifact: Artifact, data: Encoded, batch_size: int) -> np.ndarray:
    """Logits of every sentence in data order."""
    return logits_in_data_order(artifact.logits, data, batch_size)


def compare_predictions(labels: np.ndarray, reference: np.ndarray, candidate: np.ndarray) -> dict:
    """A converted model's logits (``candidate``) against its float original's (``reference``)."""
    correct = int(np.sum(candidate.argmax(-1) == labels))
    reference_correct = int(np.sum(reference.argmax(-1) == labels))
    return {
        "accuracy": correct / len(labels),
        "reference_accuracy": reference_correct / len(labels),
        # From counts, so that a drop of exactly the limit is not pushed over it by rounding.
        "accuracy_drop_points": 100.0 * (reference_correct - correct) / len(labels),
        "agreement": float(np.mean(reference.argmax(-1) == candidate.argmax(-1))),
        "max_abs_logit_difference": float(np.max(np.abs(reference - candidate))),
        # Each sentence's label, so that the report pairs this variant with the baseline's predictions.
        "predictions": candidate.argmax(-1).tolist(),
    }


def check_variant(model: str, variant: str, candidate: Artifact, splits: dict[str, Encoded],
                  reference_logits: dict[str, np.ndarray], max_accuracy_drop: float, batch_size: int) -> dict:
    """The comparison on every split; raises ``GateError`` if accuracy on ``selection`` drops too far."""
    record = {split: compare_predictions(data.labels, reference_logits[split],
                                         predict_logits(candidate, data, batch_size))
              for split, data in splits.items()}
    gate = record["selection"]
    if gate["accuracy_drop_points"] > max_accuracy_drop:
        raise GateError(
            f"deploy gate: the {variant} LiteRT variant of {model} loses {gate['accuracy_drop_points']:.2f} accuracy "
            f"points on the selection split ({gate['accuracy']:.2%} against {gate['reference_accuracy']:.2%} for its "
            f"float SavedModel; deploy.max_accuracy_drop is {max_accuracy_drop}); predictions agree on "
            f"{gate['agreement']:.1%} of sentences, max |logit difference| {gate['max_abs_logit_difference']:.3g}. "
            f"Nothing was written: drop {variant} from deploy.variants or raise the limit."
        )
    return record


def deploy_models(saved_models: dict[str, Path], out: Path, variants: list[str], splits: dict[str, Encoded],
                  tokenizer_folder: Path, max_length: int, max_accuracy_drop: float, batch_size: int = 32) -> dict:
    """Every model's gated LiteRT variants, tokenizer files and text-in SavedModel under ``out/<model>/``.

    ``splits`` must hold ``selection`` (the gate's) and may hold others (``dev``), only recorded.
    Each model's folder is written under a ``.partial`` sibling first and renamed once every variant
    has passed, so a failed gate leaves that folder as it was. Returns each variant's record.
    """
    return {model: deploy_model(model, saved_model, Path(out) / model, variants, splits, tokenizer_folder,
                                max_length, max_accuracy_drop, batch_size)
            for model, saved_model in saved_models.items()}


def deploy_model(model: str, saved_model: Path, folder: Path, variants: list[str], splits: dict[str, Encoded],
                 tokenizer_folder: Path, max_length: int, max_accuracy_drop: float, batch_size: int = 32) -> dict:
    """One model's deployment folder (see ``deploy_models``), written atomically."""
    folder = Path(folder)
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    records = {}
    try:
        # The converter works on one core, so it runs in a process of its own while this one exports
        # the text-in SavedModel and runs the float model, which keep the other cores busy.
        with multiprocessing.get_context("spawn").Pool(1) as converter:
            print(f"converting {model} to {', '.join(variants)} ...", flush=True)
            conversions = {variant: converter.apply_async(convert, (saved_model, variant)) for variant in variants}
            float_model = load_artifact(saved_model)
            files = write_tokenizer_files(tokenizer_folder, staging, max_length)
            export_text_saved_model(saved_model, files, staging / "text_saved_model")
            reference = {split: predict_logits(float_model, data, batch_size) for split, data in splits.items()}
            flatbuffers = {variant: conversion.get() for variant, conversion in conversions.items()}
        for variant, (flatbuffer, seconds) in flatbuffers.items():
            print(f"checking {model} as {variant} ...", flush=True)
            (staging / f"{variant}.tflite").write_bytes(flatbuffer)
            candidate = load_artifact(staging / f"{variant}.tflite")
            gate = check_variant(model, variant, candidate, splits, reference, max_accuracy_drop, batch_size)
            records[variant] = {"file": str(folder / f"{variant}.tflite"), "bytes": len(flatbuffer),
                                "conversion_seconds": seconds, **gate}
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return records
