"""Fine-tuning: the whole model, AdamW with linear warm-up and decay, length-bucketed batches.

One loop serves the baseline and pruning's recovery. A pruner, when given, is
asked for its masks before every step and re-applies them after every update,
so a pruned weight stays exactly zero whatever the optimizer does, and is shown each
step's gradients (movement pruning's scores). A teacher's
outputs, when given (``teacher.TeacherOutputs``, computed once before training), are
distilled into the model (Hinton et al. 2015): the loss mixes the labels'
cross-entropy with the KL divergence to the teacher's softened predictions, which
keeps a pruned model close to the dense one it came from instead of drifting
further into a small training subset. Rows labelled ``batching.NO_LABEL`` (a transfer set
beyond the subset) learn from the teacher's predictions alone. Optionally it also matches the teacher layer
by layer (the mean squared error between each encoder layer's output token states,
as in CoFi, Xia et al. 2022): a structurally pruned model keeps the hidden size and
the layers, so layer i learns from layer i.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from transformers import create_optimizer

from prunelab.data.batching import NO_LABEL, Encoded, bucketed_dataset, logits_in_data_order, steps_per_epoch
from prunelab.model.checkpoint import is_word_embeddings
from prunelab.params import FineTuneSpec
from prunelab.training.lazy_adam import LazyAdamWeightDecay
from prunelab.training.teacher import TeacherOutputs


@dataclass(frozen=True)
class TrainConfig:
    """A fine-tuning recipe bound to one run: the lengths its batches are padded to, and the seed."""

    recipe: FineTuneSpec
    bucket_lengths: list[int]
    seed: int
    log_every: int = 20

    def record(self) -> dict:
        """Every setting that shaped the run, as the run records state it."""
        return self.recipe.record() | {"bucket_lengths": list(self.bucket_lengths)}


def fine_tune(model, train: Encoded, selection: Encoded, config: TrainConfig, pruner=None,
              teacher: TeacherOutputs | None = None, label="train"):
    """Train ``model`` in place; returns (per-step log rows, per-epoch rows).

    ``teacher``: the teacher's outputs over ``train`` (``teacher.teacher_outputs``), needed to distil.
    Each epoch ends with the accuracy on ``selection``, the held-out training sentences every
    choice is made on (never the reported dev set).
    """
    recipe = config.recipe
    _check_labels(train, recipe)
    teacher = _distilled_from(teacher, recipe, train)
    tf.keras.utils.set_random_seed(config.seed)
    steps = steps_per_epoch(train, config.bucket_lengths, recipe.batch_size)
    total_steps = steps * recipe.epochs
    optimizer, schedule = adamw(recipe, total_steps)
    train_step = make_train_step(model, optimizer, pruner, recipe)
    dataset = bucketed_dataset(train, config.bucket_lengths, recipe.batch_size, shuffle_seed=config.seed)

    step_rows, epoch_rows = [], []
    step = 0
    started = time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):
        losses, hits, labelled, seen, padded_tokens = [], 0, 0, 0, 0
        epoch_started = time.perf_counter()
        # The epoch's batches are taken before its first step: pulled while the steps run, tf.data's
        # background threads compete with them for the cores and can stall an epoch for many seconds.
        for features, labels in list(dataset):
            if pruner is not None:
                pruner.update(step)
            ids = features["input_ids"]
            targets = () if teacher is None else teacher.batch(features["index"].numpy(), ids.shape[1],
                                                               states=bool(recipe.distill.hidden_weight))
            loss, correct = train_step(ids, features["attention_mask"], labels, *targets)
            losses.append(float(loss))
            hits += int(correct)
            labelled += int(np.sum(labels.numpy() != NO_LABEL))
            seen += int(labels.shape[0])
            padded_tokens += int(np.prod(ids.shape))
            step += 1
            if step % config.log_every == 0 or step == total_steps:
                row = {"step": step, "epoch": round(step / steps, 3),
                       "loss": round(float(np.mean(losses[-config.log_every :])), 5),
                       "accuracy": round(hits / max(labelled, 1), 5), "learning_rate": float(schedule(step))}
                if pruner is not None:
                    row["sparsity"] = round(pruner.sparsity(), 5)
                step_rows.append(row)
                _print_progress(label, epoch, recipe.epochs, step, total_steps, row, time.perf_counter() - started)
        steps_seconds = time.perf_counter() - epoch_started  # the training steps alone, not the evaluation below
        accuracy = accuracy_in_memory(model, selection, recipe.batch_size)
        epoch_rows.append(
            {"epoch": epoch, "train_loss": round(float(np.mean(losses)), 5),
             "train_accuracy": round(hits / max(labelled, 1), 5),
             "selection_accuracy": round(accuracy, 5), "seconds": round(time.perf_counter() - started, 1),
             "sentences": seen, "padded_tokens": padded_tokens, "steps_seconds": round(steps_seconds, 2)}
        )
        print(f"[{label}] epoch {epoch}/{recipe.epochs}: selection-set accuracy {accuracy:.4f}", flush=True)
    if pruner is not None:
        pruner.update(step)  # a schedule whose last pruning step is the final one still gets it
    return step_rows, epoch_rows


def adamw(recipe: FineTuneSpec, total_steps: int):
    """AdamW with linear warm-up and decay, and the schedule; lazy on embedding lookups when configured."""
    optimizer, schedule = create_optimizer(init_lr=recipe.learning_rate, num_train_steps=total_steps,
                                           num_warmup_steps=int(recipe.warmup_ratio * total_steps),
                                           weight_decay_rate=recipe.weight_decay)
    if recipe.embedding_update == "lazy":
        optimizer = LazyAdamWeightDecay.like(optimizer)
    return optimizer, schedule


def _distilled_from(teacher: TeacherOutputs | None, recipe: FineTuneSpec, train: Encoded) -> TeacherOutputs | None:
    """The teacher outputs the run distils from (None when it does not), checked against what it needs."""
    if not recipe.uses_teacher:
        return None
    if teacher is None:
        raise ValueError("distillation needs a teacher's outputs (teacher.teacher_outputs)")
    if recipe.distill.hidden_weight and teacher.hidden is None:
        raise ValueError("hidden-state distillation needs the teacher's hidden states (hidden_states=True)")
    if len(teacher) != len(train):
        raise ValueError(f"the teacher's outputs cover {len(teacher)} sentences, the training data {len(train)}")
    return teacher


def _check_labels(train: Encoded, recipe: FineTuneSpec) -> None:
    if not recipe.uses_teacher and (train.labels == NO_LABEL).any():
        raise ValueError("rows without labels (transfer rows) need a teacher: set distill.alpha above 0")


def make_train_step(model, optimizer, pruner, recipe: FineTuneSpec):
    """``train_step(input_ids, attention_mask, labels, *targets)``; when ``recipe`` distils, ``targets`` are
    the teacher's logits and, for the hidden-state term, its states (``TeacherOutputs.batch``)."""
    alpha, temperature, hidden_weight = recipe.distill.alpha, recipe.distill.temperature, recipe.distill.hidden_weight
    layers = encoder_layer_ids(model)

    def loss_fn(labels, output, attention_mask, targets):
        labelled = tf.cast(labels != NO_LABEL, tf.float32)
        hard = tf.keras.losses.sparse_categorical_crossentropy(tf.maximum(labels, 0), output.logits, from_logits=True)
        if not targets:
            return tf.reduce_mean(hard)
        soft_targets = tf.nn.softmax(targets[0] / temperature)
        # T² keeps the soft term's gradients on the scale of the hard one (Hinton et al.).
        soft = tf.keras.losses.kl_divergence(soft_targets, tf.nn.softmax(output.logits / temperature)) * temperature**2
        # A row without a label puts the hard term's weight on the teacher's predictions.
        loss = tf.reduce_mean((1 - alpha) * labelled * hard + (alpha + (1 - alpha) * (1 - labelled)) * soft)
        if hidden_weight and layers:
            # The student's hidden_states[0] is the embeddings' output; its layer j's is hidden_states[j + 1],
            # paired with the teacher's layer i (the targets hold encoder layers only).
            pairs = [(output.hidden_states[j + 1], targets[1][:, :, i]) for j, i in enumerate(layers)]
            loss += hidden_weight * hidden_state_error(pairs, attention_mask)
        return loss

    masked = pruner.masked_variables() if pruner is not None else []
    spec = tf.TensorSpec([None, None], tf.int32)
    targets_spec = []
    if recipe.uses_teacher:
        targets_spec.append(tf.TensorSpec([None, None], tf.float32))
        if hidden_weight:
            targets_spec.append(tf.TensorSpec([None, None, None, None], tf.float32))

    # One trace for every bucket shape: the sequence and batch dimensions are left open. No autograph, as in
    # the inference functions: the step's Python control flow is over Python values only.
    @tf.function(input_signature=[spec, spec, tf.TensorSpec([None], tf.int32), *targets_spec], autograph=False)
    def train_step(input_ids, attention_mask, labels, *targets):
        with tf.GradientTape() as tape:
            output = model(input_ids=input_ids, attention_mask=attention_mask,
                           output_hidden_states=bool(targets and hidden_weight), training=True)
            loss = loss_fn(labels, output, attention_mask, targets)
            logits = output.logits
        variables = trained_variables(model, recipe)
        gradients = tape.gradient(loss, variables)
        if pruner is not None:  # movement pruning's scores, at the weights before this step
            pruner.observe_gradients({id(v): g for v, g in zip(variables, gradients)})
        optimizer.apply_gradients(zip(gradients, variables))
        for variable, mask in masked:
            variable.assign(variable * mask)
        # An argmax is never NO_LABEL: rows without a label count as misses, and the loop counts labelled rows.
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), tf.int32))
        return loss, correct

    return train_step


def trained_variables(model, recipe: FineTuneSpec) -> list:
    """What the optimizer updates: every trainable weight, less the word embeddings when they are frozen."""
    return [v for v in model.trainable_variables
            if not (recipe.embedding_update == "frozen" and is_word_embeddings(v.name))]


def encoder_layer_ids(model) -> list[int]:
    """The dense model's index of each encoder layer ``model`` runs (a structured plan may skip some)."""
    plan = getattr(model, "plan", None)
    return list(plan.kept_layers) if plan is not None else list(range(model.config.num_hidden_layers))


def hidden_state_error(pairs, attention_mask) -> tf.Tensor:
    """Mean squared error over (student, teacher) hidden-state pairs, real tokens and features."""
    weights = tf.cast(attention_mask, tf.float32)[..., None]
    errors = [tf.reduce_sum(tf.square(student - teacher) * weights) for student, teacher in pairs]
    return tf.add_n(errors) / (tf.reduce_sum(weights) * tf.cast(tf.shape(pairs[0][0])[-1], tf.float32) * len(pairs))


def predict_in_memory(model, data: Encoded, batch_size: int) -> np.ndarray:
    """Logits for every sentence, in ``data``'s order (computed in batches of similar length)."""
    logits_of = _inference_function(model)
    return logits_in_data_order(lambda ids, mask: logits_of(ids, mask).numpy(), data, batch_size)


_INFERENCE_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _inference_function(model):
    """The model's forward pass, traced once per model: it reads the variables, so it stays valid as pruning
    and training change them, and every epoch's and sweep point's evaluation reuses the trace."""
    if model not in _INFERENCE_FUNCTIONS:
        spec = tf.TensorSpec([None, None], tf.int32)
        traced_model = weakref.ref(model)  # a strong reference here would keep the cache's key alive

        # The forward pass has no tensor-dependent Python control flow, so autograph would only add
        # the time it takes to convert the model's code to the first trace.
        @tf.function(input_signature=[spec, spec], autograph=False)
        def logits_of(input_ids, attention_mask):
            return traced_model()(input_ids=input_ids, attention_mask=attention_mask, training=False).logits

        _INFERENCE_FUNCTIONS[model] = logits_of
    return _INFERENCE_FUNCTIONS[model]


def accuracy_in_memory(model, data: Encoded, batch_size: int) -> float:
    return float((predict_in_memory(model, data, batch_size).argmax(-1) == data.labels).mean())


def _print_progress(label, epoch, epochs, step, total, row, elapsed):
    eta = elapsed / step * (total - step)
    extra = f" sparsity {row['sparsity']:.3f}" if "sparsity" in row else ""
    print(
        f"[{label}] epoch {epoch}/{epochs} step {step}/{total} loss {row['loss']:.4f} "
        f"acc {row['accuracy']:.4f}{extra} | {elapsed:.0f}s elapsed, ~{eta:.0f}s left",
        flush=True,
    )
