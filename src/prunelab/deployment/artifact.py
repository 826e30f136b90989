"""One way to run any exported classifier: a SavedModel folder or a LiteRT (``.tflite``) file.

Benchmarks, the deploy gate and ``prunelab predict`` all call ``Artifact.logits`` and so
measure or use the artifact exactly as it lies on disk. TensorFlow is imported only for
SavedModels: a LiteRT file runs on ``ai_edge_litert`` alone, as it would where it is deployed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from prunelab.errors import ArtifactError

SIGNATURE = "serving_default"  # the token-id signature that export.py writes and the converter keeps
TEXT_SIGNATURE = "serving_text"  # the sentence-in signature of a text-in SavedModel (serving.py)
INPUTS = ("input_ids", "attention_mask")


@dataclass
class Artifact:
    """A loaded classifier. ``text_signature`` is set only for a SavedModel that takes sentences."""

    path: Path
    kind: str  # "saved_model" | "litert"
    size_bytes: int
    _run: Callable[[np.ndarray, np.ndarray], np.ndarray]
    text_signature: Callable | None = None
    _keep_alive: object = field(default=None, repr=False)  # what the callables' variables and buffers belong to

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """float32 [batch, 2] logits of int32 [batch, length] token ids and their attention mask."""
        ids = np.ascontiguousarray(input_ids, dtype=np.int32)
        mask = np.ascontiguousarray(attention_mask, dtype=np.int32)
        return np.asarray(self._run(ids, mask), dtype=np.float32)


def load_artifact(path, threads: int | None = None) -> Artifact:
    """Load ``path``: a folder is read as a SavedModel, a file as a LiteRT flatbuffer.

    ``threads`` caps the CPU threads one call may use (TensorFlow: intra-op threads, and one
    inter-op thread, which TensorFlow accepts only before it first runs in this process).
    None: every core, for both kinds (LiteRT's own default would be a single thread).
    """
    path = Path(path)
    if path.is_dir():
        return _load_saved_model(path, threads)
    if path.is_file():
        return _load_litert(path, threads)
    raise ArtifactError(f"{path} does not exist: pass a SavedModel folder or a .tflite file "
                        "(the deploy stage writes them under models/deploy/).")


def _load_saved_model(folder: Path, threads: int | None) -> Artifact:
    import tensorflow as tf

    if threads is not None:
        _set_tensorflow_threads(tf, threads)
    if not (folder / "saved_model.pb").is_file():
        raise ArtifactError(f"{folder} is a folder without saved_model.pb, so not a SavedModel: "
                            "pass a SavedModel folder or a .tflite file.")
    try:
        loaded = tf.saved_model.load(str(folder))
    except Exception as err:  # TensorFlow reports a damaged SavedModel with many exception types
        if "Op type not registered" in str(err):
            raise ArtifactError(f"{folder} uses operations from tensorflow_text (a text-in SavedModel): "
                                "import tensorflow_text before loading it.") from err
        raise ArtifactError(f"{folder} is not a readable SavedModel ({_first_line(err)}); "
                            "export it again (dvc repro) or pass another artifact.") from err
    if SIGNATURE not in loaded.signatures:
        raise ArtifactError(f"{folder} has no {SIGNATURE!r} signature (it has {sorted(loaded.signatures)}); "
                            "it was not exported by prunelab.")
    serve = loaded.signatures[SIGNATURE]

    def run(ids, mask):
        return serve(input_ids=tf.constant(ids), attention_mask=tf.constant(mask))["logits"].numpy()

    text = loaded.signatures[TEXT_SIGNATURE] if TEXT_SIGNATURE in loaded.signatures else None
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return Artifact(folder, "saved_model", size, run, text, _keep_alive=loaded)


def _set_tensorflow_threads(tf, threads: int) -> None:
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError as err:
        current = (tf.config.threading.get_intra_op_parallelism_threads(),
                   tf.config.threading.get_inter_op_parallelism_threads())
        if current != (threads, 1):
            raise RuntimeError(f"TensorFlow already ran in this process with (intra-op, inter-op) threads {current}; "
                               f"load the SavedModel with threads={threads} in a fresh process.") from err


def _load_litert(path: Path, threads: int | None) -> Artifact:
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=str(path), num_threads=threads or os.cpu_count())
        runner = interpreter.get_signature_runner(SIGNATURE)
    except (ValueError, RuntimeError) as err:
        raise ArtifactError(f"{path} is not a readable LiteRT model ({_first_line(err)}); "
                            "convert it again (dvc repro deploy) or pass another artifact.") from err
    inputs = set(runner.get_input_details())
    if inputs != set(INPUTS):
        raise ArtifactError(f"{path} takes inputs {sorted(inputs)}, not {list(INPUTS)}: it was not converted "
                            "from a prunelab SavedModel.")

    def run(ids, mask):
        # The runner resizes the inputs to this call's shape and reallocates only when the shape changed.
        return runner(input_ids=ids, attention_mask=mask)["logits"]

    return Artifact(path, "litert", path.stat().st_size, run, _keep_alive=interpreter)


def _first_line(err: Exception) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]
