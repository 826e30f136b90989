"""Lazy AdamW: a sparse gradient (an embedding lookup's) moves only the rows it touches.

Dense AdamW rewrites every row of the vocabulary's embedding matrix and of its two moment
estimates at every step, though a batch looks up a few hundred of its tens of thousands of
rows; on a CPU that memory traffic is the costliest update of a fine-tuning step. The lazy
variant (TF Addons' ``LazyAdam``, PyTorch's ``SparseAdam``) updates the looked-up rows as
AdamW would (moments, bias correction, decoupled weight decay) and leaves the others as they
are, moments included: a row's update differs from the dense one only in the steps after
it was last looked up, when dense AdamW keeps moving it on its decaying momentum.
Dense gradients (every other weight) are applied exactly as the wrapped optimizer does.
"""

from __future__ import annotations

import tensorflow as tf
from transformers import AdamWeightDecay


class LazyAdamWeightDecay(AdamWeightDecay):
    """``transformers.AdamWeightDecay`` (what ``create_optimizer`` returns) with lazy sparse updates."""

    @classmethod
    def like(cls, optimizer: AdamWeightDecay) -> LazyAdamWeightDecay:
        """The same hyperparameters, schedule and weight-decay exclusions as ``optimizer`` (not yet used)."""
        # The schedule object itself: get_config flattens it to a dict from_config does not rebuild.
        config = optimizer.get_config() | {"learning_rate": optimizer._get_hyper("learning_rate")}
        config.pop("is_legacy_optimizer", None)
        lazy = cls(**config)
        # get_config leaves out which weights are decayed (LayerNorm and biases are not).
        lazy._include_in_weight_decay = getattr(optimizer, "_include_in_weight_decay", None)
        lazy._exclude_from_weight_decay = getattr(optimizer, "_exclude_from_weight_decay", None)
        return lazy

    def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
        coefficients = (apply_state or {}).get((var.device, var.dtype.base_dtype)) \
            or self._fallback_apply_state(var.device, var.dtype.base_dtype)
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        m_rows = coefficients["beta_1_t"] * tf.gather(m, indices) + coefficients["one_minus_beta_1_t"] * grad
        v_rows = coefficients["beta_2_t"] * tf.gather(v, indices) + coefficients["one_minus_beta_2_t"] * tf.square(grad)
        step = coefficients["lr"] * m_rows / (tf.sqrt(v_rows) + coefficients["epsilon"])
        if self._do_use_weight_decay(var.name):
            # As AdamWeightDecay decays a weight: by the schedule's rate, before the Adam step.
            step += coefficients["lr_t"] * coefficients["weight_decay_rate"] * tf.gather(var, indices)
        return tf.group(self._resource_scatter_update(m, indices, m_rows),
                        self._resource_scatter_update(v, indices, v_rows),
                        self._resource_scatter_add(var, indices, -step))
