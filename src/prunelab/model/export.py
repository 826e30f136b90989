"""Export a classifier as a TensorFlow SavedModel with a serving signature.

Signature ``serving_default``: ``input_ids`` and ``attention_mask`` (int32,
[batch, length], both open) to ``logits`` and ``probabilities``. Only the
variables and this one function are saved, not the Keras object, so the export
loads anywhere TensorFlow does, with no transformers installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import tensorflow as tf

SIGNATURE = "serving_default"


def export_saved_model(model, folder: Path) -> None:
    """Write to a temporary sibling, then rename: a failed export leaves nothing behind."""

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="input_ids"),
            tf.TensorSpec([None, None], tf.int32, name="attention_mask"),
        ],
        autograph=False,  # as training.predict_in_memory's forward pass: no control flow on tensors to convert
    )
    def serve(input_ids, attention_mask):
        logits = model(input_ids=input_ids, attention_mask=attention_mask, training=False).logits
        return {"logits": logits, "probabilities": tf.nn.softmax(logits, axis=-1)}

    module = tf.Module(name="classifier")
    module.serve = serve
    # Tracking the variables (not the Keras model) keeps each under its original name.
    module.model_variables = list(model.weights)

    folder = Path(folder)
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    tf.saved_model.save(module, str(staging), signatures={SIGNATURE: serve})
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)


def load_saved_model(folder: Path):
    """The loaded SavedModel, its serving function, and {variable name: numpy array}."""
    loaded = tf.saved_model.load(str(folder))
    weights = {v.name: v.numpy() for v in loaded.model_variables}
    return loaded, loaded.signatures[SIGNATURE], weights
