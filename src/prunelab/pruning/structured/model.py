"""``PrunedBert``: a BERT sequence classifier whose layers each keep their own heads and FFN width.

Per-layer head counts and FFN widths differ, which a stock ``BertConfig`` cannot express,
so the encoder is rebuilt here in Keras. Two properties let the rest of the pipeline treat
it as the Hugging Face model it came from:

- its variable paths match Hugging Face's (``bert/encoder/layer_._{i}/attention/self/query/kernel``,
  with ``i`` the original layer index), so ``checkpoint.weight_group`` classifies them,
  ``structured.surgery`` fills them by name, and layer-wise distillation pairs layer ``i``
  with the dense model's layer ``i``;
- it is called like the HF model (``model(input_ids=, attention_mask=, training=).logits``),
  so ``training.fine_tune`` and ``export.export_saved_model`` work unchanged.

A sublayer left with no units keeps only its output bias, so a layer that loses every head
or every neuron computes exactly what the masked dense layer does.
"""

from __future__ import annotations

import math

import tensorflow as tf
from transformers import BertConfig
from transformers.activations_tf import get_tf_activation
from transformers.modeling_tf_outputs import TFSequenceClassifierOutput

from prunelab.errors import ParamsError
from prunelab.pruning.structured.plan import StructuredPlan


def head_size(config) -> int:
    return config.hidden_size // config.num_attention_heads


def check_bert(model) -> None:
    """Structured pruning reads and rebuilds BERT's layout; other families are refused."""
    if getattr(model.config, "model_type", None) != "bert":
        raise ParamsError(f"structured pruning supports BERT-family models, not {model.config.model_type!r}.")


def _init():
    """A fresh initializer per weight (the pruned model's weights are overwritten anyway)."""
    return tf.keras.initializers.TruncatedNormal(stddev=0.02)


class _Linear(tf.keras.layers.Layer):
    """Dense ``[in, out]``; with no inputs it keeps only its bias (a unit-less sublayer's output)."""

    def __init__(self, in_dim: int, out_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.in_dim, self.out_dim = in_dim, out_dim

    def build(self, input_shape=None):
        if self.in_dim:
            self.kernel = self.add_weight(name="kernel", shape=(self.in_dim, self.out_dim), initializer=_init())
        self.bias = self.add_weight(name="bias", shape=(self.out_dim,), initializer="zeros")
        super().build(input_shape)

    def call(self, x):
        if not self.in_dim:
            return tf.broadcast_to(self.bias, tf.concat([tf.shape(x)[:-1], [self.out_dim]], 0))
        shape = tf.shape(x)
        y = tf.matmul(tf.reshape(x, [-1, self.in_dim]), self.kernel) + self.bias
        return tf.reshape(y, tf.concat([shape[:-1], [self.out_dim]], 0))


class _Embeddings(tf.keras.layers.Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.LayerNorm = tf.keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
        self.dropout = tf.keras.layers.Dropout(config.hidden_dropout_prob)

    def build(self, input_shape=None):
        c = self.config
        with tf.name_scope("word_embeddings"):
            self.weight = self.add_weight(name="weight", shape=[c.vocab_size, c.hidden_size], initializer=_init())
        with tf.name_scope("token_type_embeddings"):
            self.token_type_embeddings = self.add_weight(
                name="embeddings", shape=[c.type_vocab_size, c.hidden_size], initializer=_init())
        with tf.name_scope("position_embeddings"):
            self.position_embeddings = self.add_weight(
                name="embeddings", shape=[c.max_position_embeddings, c.hidden_size], initializer=_init())
        with tf.name_scope("LayerNorm"):
            self.LayerNorm.build([None, None, c.hidden_size])
        super().build(input_shape)

    def call(self, input_ids, token_type_ids, training=False):
        length = tf.shape(input_ids)[1]
        x = tf.gather(self.weight, input_ids)
        x = x + tf.expand_dims(tf.gather(self.position_embeddings, tf.range(length)), 0)
        x = x + tf.gather(self.token_type_embeddings, token_type_ids)
        return self.dropout(self.LayerNorm(x), training=training)


class _SelfAttention(tf.keras.layers.Layer):
    def __init__(self, config, heads: int, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.d = heads, head_size(config)
        inner = heads * self.d
        self.query = _Linear(config.hidden_size, inner, name="query")
        self.key = _Linear(config.hidden_size, inner, name="key")
        self.value = _Linear(config.hidden_size, inner, name="value")
        self.dropout = tf.keras.layers.Dropout(config.attention_probs_dropout_prob)

    def _split(self, x, batch):
        return tf.transpose(tf.reshape(x, [batch, -1, self.heads, self.d]), [0, 2, 1, 3])

    def call(self, x, additive_mask, training=False):
        batch = tf.shape(x)[0]
        q, k, v = (self._split(layer(x), batch) for layer in (self.query, self.key, self.value))
        scores = tf.matmul(q, k, transpose_b=True) / tf.cast(math.sqrt(self.d), x.dtype) + additive_mask
        probs = self.dropout(tf.nn.softmax(scores + 1e-9, axis=-1), training=training)  # HF's stable_softmax
        context = tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3])
        return tf.reshape(context, [batch, -1, self.heads * self.d])


class _Output(tf.keras.layers.Layer):
    """``LayerNorm(dropout(dense(x)) + residual)``."""

    def __init__(self, config, in_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.dense = _Linear(in_dim, config.hidden_size, name="dense")
        self.LayerNorm = tf.keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
        self.dropout = tf.keras.layers.Dropout(config.hidden_dropout_prob)

    def call(self, x, residual, training=False):
        return self.LayerNorm(self.dropout(self.dense(x), training=training) + residual)


class _Attention(tf.keras.layers.Layer):
    def __init__(self, config, heads: int, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = _SelfAttention(config, heads, name="self") if heads else None
        self.dense_output = _Output(config, heads * head_size(config), name="output")

    def call(self, x, additive_mask, training=False):
        context = self.self_attention(x, additive_mask, training=training) if self.self_attention else x[..., :0]
        return self.dense_output(context, x, training=training)


class _Intermediate(tf.keras.layers.Layer):
    def __init__(self, config, width: int, **kwargs):
        super().__init__(**kwargs)
        self.dense = _Linear(config.hidden_size, width, name="dense")
        self.activation = get_tf_activation(config.hidden_act)

    def call(self, x):
        return self.activation(self.dense(x))


class _Layer(tf.keras.layers.Layer):
    def __init__(self, config, heads: int, width: int, **kwargs):
        super().__init__(**kwargs)
        self.attention = _Attention(config, heads, name="attention")
        self.intermediate = _Intermediate(config, width, name="intermediate") if width else None
        self.bert_output = _Output(config, width, name="output")

    def call(self, x, additive_mask, training=False):
        x = self.attention(x, additive_mask, training=training)
        inner = self.intermediate(x) if self.intermediate else x[..., :0]
        return self.bert_output(inner, x, training=training)


class _Encoder(tf.keras.layers.Layer):
    def __init__(self, config, plan: StructuredPlan, **kwargs):
        super().__init__(**kwargs)
        self.blocks = [_Layer(config, len(plan.heads[i]), len(plan.neurons[i]), name=f"layer_._{i}")
                       for i in plan.kept_layers]

    def call(self, x, additive_mask, training=False):
        """Every layer's output, first to last."""
        states = []
        for block in self.blocks:
            x = block(x, additive_mask, training=training)
            states.append(x)
        return states


class _Pooler(tf.keras.layers.Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.dense = _Linear(config.hidden_size, config.hidden_size, name="dense")

    def call(self, x):
        return tf.tanh(self.dense(x[:, 0]))


class _Bert(tf.keras.layers.Layer):
    def __init__(self, config, plan: StructuredPlan, **kwargs):
        super().__init__(**kwargs)
        self.embeddings = _Embeddings(config, name="embeddings")
        self.encoder = _Encoder(config, plan, name="encoder")
        self.pooler = _Pooler(config, name="pooler")

    def call(self, input_ids, attention_mask, token_type_ids, training=False):
        """The pooled output and the hidden states (the embeddings', then each kept layer's)."""
        x = self.embeddings(input_ids, token_type_ids, training=training)
        # expand_dims, not [:, None, None, :]: LiteRT's built-in StridedSlice has no new-axis mask.
        mask = tf.expand_dims(tf.expand_dims(tf.cast(attention_mask, x.dtype), 1), 1)
        additive_mask = (1.0 - mask) * -10000.0  # exactly HF TF BERT's extended attention mask
        states = [x, *self.encoder(x, additive_mask, training=training)]
        return self.pooler(states[-1]), tuple(states)


class PrunedBert(tf.keras.Model):
    """A BERT sequence classifier whose layers each keep their own heads and FFN width.

    Build it with ``structured.build_pruned(hf_model, plan)``.
    """

    def __init__(self, config: BertConfig, plan: StructuredPlan, **kwargs):
        super().__init__(**kwargs)
        if plan.num_layers != config.num_hidden_layers:
            raise ValueError(f"the plan has {plan.num_layers} layers, the config {config.num_hidden_layers}")
        self.config, self.plan = config, plan
        self.bert = _Bert(config, plan, name="bert")
        rate = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = tf.keras.layers.Dropout(rate)
        self.classifier = _Linear(config.hidden_size, config.num_labels, name="classifier")

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, output_hidden_states=False,
             training=False):
        input_ids = tf.convert_to_tensor(input_ids)
        if attention_mask is None:
            attention_mask = tf.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = tf.zeros_like(input_ids)
        pooled, states = self.bert(input_ids, attention_mask, token_type_ids, training=training)
        return TFSequenceClassifierOutput(logits=self.classifier(self.dropout(pooled, training=training)),
                                          hidden_states=states if output_hidden_states else None)

    def build_variables(self) -> PrunedBert:
        ids = tf.constant([[1, 2, 3]], tf.int32)
        self(input_ids=ids, attention_mask=tf.ones_like(ids), training=False)
        return self
