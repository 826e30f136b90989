import numpy as np
import pytest
import tensorflow as tf
from transformers import BertConfig, TFBertForSequenceClassification

from conftest import VOCAB, random_encoded, tiny_model
from prunelab.batching import padded_batches
from prunelab.errors import ParamsError
from prunelab.export import export_saved_model, load_saved_model
from prunelab.modeling import canonical_name, encoder_layer_index, weight_group
from prunelab.structured import (
    Importance,
    StructuredPlan,
    build_pruned,
    count_parameters,
    dense_encoder_flops,
    encoder_flops,
    encoder_parameters,
    load_pruned,
    mask_model,
    plan_flops,
    prune_structured,
    random_plan,
    save_pruned,
    select_plan,
    unit_flops,
    unit_importance,
)
from prunelab.training import TrainConfig, encoder_layer_ids, fine_tune, predict_in_memory

LAYERS, HEADS, FFN = 3, 4, 32


def four_head_bert(seed: int = 0, layers: int = LAYERS):
    """3 layers of 4 heads (size 4) and FFN 32, with pooler and classifier scaled up so logits are O(1)."""
    tf.keras.utils.set_random_seed(seed)
    config = BertConfig(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=layers, num_attention_heads=HEADS,
                        intermediate_size=FFN, max_position_embeddings=64, num_labels=2)
    model = TFBertForSequenceClassification(config)
    model(model.dummy_inputs, training=False)
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        if weight_group(variable.name) in ("pooler", "classifier"):
            variable.assign(rng.normal(0, 1, variable.shape).astype(np.float32))
    return model


def logits(model, data, batch_size=8):
    return predict_in_memory(model, data, batch_size)


@pytest.fixture(scope="module")
def data():
    return random_encoded(24, seed=3, max_len=20)  # padded batches of uneven lengths exercise the attention mask


@pytest.fixture(scope="module")
def config():
    return four_head_bert().config


@pytest.fixture(scope="module")
def importance(data):
    return unit_importance(four_head_bert(), data, batch_size=8)


def test_unpruned_model_matches_hugging_face(data):
    model = four_head_bert()
    pruned = build_pruned(model, StructuredPlan.dense(model.config))
    expected = logits(model, data)
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(logits(pruned, data), expected, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pruned_model_matches_masked_full_model(data, seed):
    model = four_head_bert()
    plan = random_plan(model.config, np.random.default_rng(seed), head_keep=None, neuron_keep=0.4)
    assert len(set(plan.heads_per_layer())) > 1 or len(set(plan.ffn_widths())) > 1  # uneven layers
    pruned = build_pruned(model, plan)
    mask_model(model, plan)
    np.testing.assert_allclose(logits(pruned, data), logits(model, data), atol=1e-5)


def test_hidden_states_match_the_masked_model(data):
    """Layer-wise distillation compares layer i of the pruned model with layer i of the dense one."""
    model = four_head_bert()
    plan = random_plan(model.config, np.random.default_rng(4), head_keep=None, neuron_keep=0.4)
    pruned = build_pruned(model, plan)
    mask_model(model, plan)
    ids, mask = (tf.constant(x) for x in padded_batches(data, 8)[0])
    ours = pruned(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    theirs = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    assert len(ours) == len(theirs) == LAYERS + 1
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    assert pruned(input_ids=ids, attention_mask=mask).hidden_states is None


def test_layers_without_heads_or_neurons_match_the_masked_model(data):
    """A layer may lose every head (attention adds only its bias) or every neuron, and still match."""
    model = four_head_bert()
    plan = StructuredPlan(heads=[(), (0, 2), (1, 2, 3)], neurons=[range(0, 32, 3), (), range(5)])
    pruned = build_pruned(model, plan)
    names = {canonical_name(v.name) for v in pruned.weights}
    assert "bert/encoder/layer_._0/attention/self/query/kernel" not in names
    assert "bert/encoder/layer_._1/intermediate/dense/kernel" not in names
    mask_model(model, plan)
    np.testing.assert_allclose(logits(pruned, data), logits(model, data), atol=1e-5)


def test_dropped_layer_matches_a_shallower_model(data):
    model = four_head_bert()
    everything = StructuredPlan.dense(model.config)
    plan = StructuredPlan(heads=[everything.heads[0], (), everything.heads[2]],
                          neurons=[everything.neurons[0], (), everything.neurons[2]], dropped_layers=[1])
    pruned = build_pruned(model, plan)
    assert {encoder_layer_index(v.name) for v in pruned.weights} == {None, 0, 2}

    shallow = four_head_bert(seed=5, layers=2)
    source = {canonical_name(v.name): v for v in model.weights}
    for variable in shallow.weights:
        name = canonical_name(variable.name).replace("layer_._1/", "layer_._2/")
        variable.assign(source[name])
    np.testing.assert_allclose(logits(pruned, data), logits(shallow, data), atol=1e-5)
    assert encoder_layer_ids(pruned) == [0, 2]  # what layer-wise distillation pairs its states with


def test_a_plan_cannot_drop_a_layer_that_keeps_units():
    with pytest.raises(ValueError):
        StructuredPlan(heads=[(0,), (1,)], neurons=[(), ()], dropped_layers=[0])


def test_importance_is_one_finite_score_per_unit(importance, data):
    assert importance.heads.shape == (LAYERS, HEADS)
    assert importance.neurons.shape == (LAYERS, FFN)
    assert np.isfinite(importance.heads).all() and np.isfinite(importance.neurons).all()
    assert (importance.heads >= 0).all() and importance.heads.sum() > 0 and importance.neurons.sum() > 0
    assert importance.sentences == len(data)


def test_importance_is_the_mask_gradient(data):
    """∂L/∂m for one head, by finite differences on a scaled head, gives one batch's Taylor and Fisher scores."""
    model = four_head_bert()
    batch = random_encoded(8, seed=3, max_len=20)
    taylor = unit_importance(model, batch, batch_size=8, score="taylor").heads[1, 2]
    fisher = unit_importance(model, batch, batch_size=8, score="fisher").heads[1, 2]
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    (ids, mask), = padded_batches(batch, 8)
    kernel = next(v for v in model.weights if "layer_._1/attention/output/dense/kernel" in v.name)
    original = kernel.numpy()

    def loss_at(scale):
        scaled = original.copy()
        scaled[8:12] *= scale  # head 2's rows (head size 4)
        kernel.assign(scaled)
        return float(loss(batch.labels, model(input_ids=ids, attention_mask=mask, training=False).logits))

    eps = 1e-2
    derivative = (loss_at(1 + eps) - loss_at(1 - eps)) / (2 * eps)
    kernel.assign(original)
    np.testing.assert_allclose(taylor, abs(derivative), rtol=2e-2, atol=1e-6)
    np.testing.assert_allclose(fisher, derivative**2, rtol=4e-2, atol=1e-8)


def test_encoder_flops_formula(config):
    # (8·16·16 + 4·10·16 + 4·16·32) + (8·16·8 + 4·10·8 + 4·16·8)
    assert encoder_flops([4, 2], [32, 8], hidden_size=16, head_dim=4, seq_len=10) == 4736 + 1856
    head, neuron = unit_flops(config, 25)
    assert dense_encoder_flops(config, 25) == LAYERS * (HEADS * head + FFN * neuron)


@pytest.mark.parametrize("target", [0.3, 0.5, 0.8])
@pytest.mark.parametrize("layer_removal", [False, True])
def test_achieved_flops_match_the_target(importance, config, target, layer_removal):
    plan, report = select_plan(importance, config, target, seq_len=25, allow_layer_removal=layer_removal)
    dense = dense_encoder_flops(config, 25)
    achieved = plan_flops(plan, config, 25) / dense
    assert report["flops_fraction"] == pytest.approx(achieved)
    assert achieved <= target + 1e-12
    head, neuron = unit_flops(config, 25)
    slack = neuron if sum(plan.ffn_widths()) < LAYERS * FFN else head
    assert target - achieved < slack / dense
    if not layer_removal:
        assert min(plan.heads_per_layer()) >= 1 and not plan.dropped_layers


def test_selection_keeps_the_most_important_units(config):
    heads = np.full((LAYERS, HEADS), 0.01)
    heads[0, 3] = heads[2, 1] = 5.0
    neurons = np.full((LAYERS, FFN), 0.001)
    neurons[1, :10] = 1.0
    plan, _ = select_plan(Importance(heads, neurons, 0, "fisher"), config, 0.3, seq_len=25)
    assert 3 in plan.heads[0] and 1 in plan.heads[2]
    assert set(range(10)) <= set(plan.neurons[1])


def test_whole_layer_removal(data):
    model = four_head_bert()
    heads, neurons = np.full((LAYERS, HEADS), 20.0), np.ones((LAYERS, FFN))  # a head costs ~14 neurons
    heads[1], neurons[1] = 1e-6, 1e-6  # layer 1 does nothing useful
    importance = Importance(heads, neurons, 0, "taylor")
    kept, _ = select_plan(importance, model.config, 0.5, allow_layer_removal=False)
    assert kept.dropped_layers == () and kept.heads_per_layer()[1] == 1
    plan, report = select_plan(importance, model.config, 0.5, allow_layer_removal=True)
    assert plan.dropped_layers == (1,) and report["dropped_layers"] == [1]
    pruned = build_pruned(model, plan)
    assert 1 not in {encoder_layer_index(v.name) for v in pruned.weights}
    assert np.isfinite(logits(pruned, data)).all()


def test_impossible_target_is_refused(importance, config):
    with pytest.raises(ParamsError):
        select_plan(importance, config, 0.05)


def test_every_layer_keeps_its_minimum_share(config):
    """Scores that favour one layer would strip the others; the floor keeps a quarter of each."""
    heads, neurons = np.full((LAYERS, HEADS), 1e-3), np.full((LAYERS, FFN), 1e-4)
    heads[0], neurons[0] = 1.0, 1.0
    unfloored, _ = select_plan(Importance(heads, neurons, 0, "fisher"), config, 0.5)
    assert min(unfloored.ffn_widths()) < FFN // 4
    plan, report = select_plan(Importance(heads, neurons, 0, "fisher"), config, 0.5, min_fraction=0.25)
    assert min(plan.heads_per_layer()) >= HEADS // 4 and min(plan.ffn_widths()) >= FFN // 4
    assert plan.heads_per_layer()[0] == HEADS and plan.ffn_widths()[0] == FFN  # the rest still goes to layer 0
    assert report["flops_fraction"] <= 0.5
    with pytest.raises(ParamsError, match="min_fraction"):
        select_plan(Importance(heads, neurons, 0, "fisher"), config, 0.5, min_fraction=0.6)


def test_kernels_shrink_and_names_classify(importance):
    model = four_head_bert()
    plan, _ = select_plan(importance, model.config, 0.5)
    pruned = build_pruned(model, plan)
    assert count_parameters(pruned) < count_parameters(model)
    assert encoder_parameters(pruned) < 0.6 * encoder_parameters(model)
    shapes = {canonical_name(v.name): tuple(v.shape) for v in pruned.weights}
    for i in range(LAYERS):
        inner, width = 4 * len(plan.heads[i]), len(plan.neurons[i])
        assert shapes[f"bert/encoder/layer_._{i}/attention/self/query/kernel"] == (16, inner)
        assert shapes[f"bert/encoder/layer_._{i}/attention/output/dense/kernel"] == (inner, 16)
        if width:
            assert shapes[f"bert/encoder/layer_._{i}/intermediate/dense/kernel"] == (16, width)
            assert shapes[f"bert/encoder/layer_._{i}/output/dense/kernel"] == (width, 16)
    groups = {weight_group(v.name) for v in pruned.weights}
    assert groups == {"attention", "ffn", "embeddings", "pooler", "classifier", None}


def test_prune_structured_in_one_call(data):
    model = four_head_bert()
    pruned, plan, report = prune_structured(model, data, 0.5, seq_len=20, max_sentences=16)
    assert report["calibration_sentences"] == 16 and report["score"] == "fisher"
    assert report["flops_fraction"] <= 0.5 and report["parameters"] < report["dense_parameters"]
    assert pruned.plan == plan and report["heads_per_layer"] == plan.heads_per_layer()


def test_only_bert_is_supported(data):
    with pytest.raises(ParamsError):
        unit_importance(tiny_model("distilbert"), data)


def test_fine_tune_save_load_and_export(importance, data, tmp_path):
    teacher = four_head_bert()
    plan, _ = select_plan(importance, teacher.config, 0.5)
    pruned = build_pruned(teacher, plan)
    before = [v.numpy().copy() for v in pruned.trainable_variables]
    config = TrainConfig(epochs=1, batch_size=8, learning_rate=1e-3, warmup_ratio=0.0, weight_decay=0.01,
                         bucket_lengths=[10, 20, 40], seed=0, distill_alpha=0.5, distill_hidden_weight=1.0)
    steps, epochs = fine_tune(pruned, data, data, config, teacher=teacher, label="test")
    assert epochs and np.isfinite(epochs[0]["train_loss"])
    assert any(not np.allclose(b, v.numpy()) for b, v in zip(before, pruned.trainable_variables))

    expected = logits(pruned, data)
    save_pruned(pruned, tmp_path / "pruned")
    np.testing.assert_allclose(logits(load_pruned(tmp_path / "pruned"), data), expected, atol=1e-6)

    export_saved_model(pruned, tmp_path / "exported")
    _, serve, weights = load_saved_model(tmp_path / "exported")
    assert sum(w.size for w in weights.values()) == count_parameters(pruned)
    exported = np.concatenate([serve(input_ids=tf.constant(ids), attention_mask=tf.constant(mask))["logits"].numpy()
                               for ids, mask in padded_batches(data, 8)])
    np.testing.assert_allclose(exported, expected, atol=1e-5)
