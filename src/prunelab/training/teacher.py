"""The dense teacher's outputs over the training subset, computed once and reused.

Distillation needs the teacher's predictions (and, layer by layer, its token states)
for every training batch. The teacher is frozen, so these never change: one forward
pass over the subset, in batches sorted by length (little padding), serves every
epoch of a recovery and every sweep point. Each recovery step then pays for the
student alone. The logits are small, so the train stage saves them beside the
baseline's checkpoint (``save_logits``) and a recovery that needs nothing more reads
them from there: pruning again does not run the teacher at all. Token states (the
hidden-state term) are hundreds of megabytes and are computed where they are used.

The outputs are kept per sentence, without padding; ``batch`` pads them to whatever
length the training batch has (padded positions are never compared: the hidden-state
error weighs only real tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from prunelab.data.batching import Encoded, padded_batches, training_rows
from prunelab.errors import UserError
from prunelab.model.checkpoint import load_model

LOGITS_FILE = "teacher_logits.npy"


@dataclass(frozen=True)
class TeacherOutputs:
    """The teacher's logits for each training sentence and, when asked, each encoder layer's token states."""

    logits: np.ndarray  # [sentences, classes]
    hidden: list[np.ndarray] | None  # per sentence: [its tokens, encoder layers, hidden size]

    def __len__(self) -> int:
        return len(self.logits)

    def batch(self, indices: np.ndarray, length: int, states: bool) -> tuple[np.ndarray, ...]:
        """The targets of the training sentences at ``indices``: (logits,), or with ``states``
        (logits, token states padded to ``length``)."""
        logits = self.logits[indices]
        if not states:
            return (logits,)
        if self.hidden is None:
            raise ValueError("these teacher outputs hold no hidden states (teacher_outputs(hidden_states=True))")
        first = self.hidden[indices[0]]
        padded = np.zeros((len(indices), length, *first.shape[1:]), dtype=first.dtype)
        for row, index in enumerate(indices):
            sentence = self.hidden[index]
            padded[row, : len(sentence)] = sentence
        return logits, padded


def teacher_outputs(teacher, train: Encoded, hidden_states: bool, batch_size: int = 32) -> TeacherOutputs:
    """One pass of ``teacher`` over ``train``; the outputs come back in ``train``'s order."""
    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[spec, spec], autograph=False)  # as training.predict_in_memory's
    def forward(input_ids, attention_mask):
        output = teacher(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=hidden_states,
                         training=False)
        # hidden_states[0] is the embeddings' output; encoder layer i's is hidden_states[i + 1].
        states = tf.stack(output.hidden_states[1:], axis=2) if hidden_states else tf.zeros([0])
        return output.logits, states

    order = train.length_order()
    logits = np.empty((len(train), teacher.config.num_labels), dtype=np.float32)
    hidden: list[np.ndarray | None] = [None] * len(train)
    start = 0
    for ids, mask in padded_batches(train.take(order), batch_size):
        batch_logits, states = (x.numpy() for x in forward(tf.constant(ids), tf.constant(mask)))
        rows = order[start : start + len(ids)]
        logits[rows] = batch_logits
        if hidden_states:
            for row, index in enumerate(rows):
                hidden[index] = states[row, : int(mask[row].sum())].copy()
        start += len(ids)
    return TeacherOutputs(logits, hidden if hidden_states else None)


def save_logits(teacher, train: Encoded, baseline: Path) -> None:
    """The teacher's logits over ``train``, into the baseline's folder (``baseline/LOGITS_FILE``)."""
    np.save(Path(baseline) / LOGITS_FILE, teacher_outputs(teacher, train, hidden_states=False).logits)


def load_teacher(baseline: Path, data: dict[str, Encoded], recovery) -> TeacherOutputs | None:
    """The outputs a recovery (a ``fine_tune.TrainConfig``, or None) distils from, over
    ``batching.training_rows(data)``; None when it distils nothing.

    ``baseline``: the train stage's folder, holding ``checkpoint/`` and the logits ``save_logits`` wrote
    over the subset. Transfer rows and token states are the teacher's to compute here.
    """
    recipe = recovery.recipe if recovery is not None else None
    if recipe is None or not recipe.epochs or not recipe.uses_teacher:
        return None
    rows = training_rows(data)
    if recipe.distill.hidden_weight:
        return teacher_outputs(load_model(Path(baseline) / "checkpoint"), rows, hidden_states=True,
                               batch_size=recipe.batch_size)
    logits = np.load(Path(baseline) / LOGITS_FILE)
    if len(logits) != len(data["train"]):
        raise UserError(f"{Path(baseline) / LOGITS_FILE} holds {len(logits)} sentences' logits, the training data "
                        f"{len(data['train'])}: the baseline was trained on other data (dvc repro train)")
    if "transfer" in data:
        teacher = load_model(Path(baseline) / "checkpoint")
        transfer = teacher_outputs(teacher, data["transfer"], hidden_states=False, batch_size=recipe.batch_size)
        logits = np.concatenate([logits, transfer.logits])
    return TeacherOutputs(logits, None)
