import numpy as np
import pytest
import tensorflow as tf

from conftest import fine_tuning, random_encoded
from prunelab.data.batching import padded_batches
from prunelab.model.checkpoint import canonical_name, encoder_layer_index
from prunelab.model.export import export_saved_model, load_saved_model
from prunelab.pruning.structured import StructuredPlan, build_pruned, select_plan, unit_importance
from prunelab.training.fine_tune import encoder_layer_ids, fine_tune
from prunelab.training.teacher import teacher_outputs
from structured_support import LAYERS, count_parameters, four_head_bert, logits, mask_model, random_plan


@pytest.fixture(scope="module")
def data():
    return random_encoded(24, seed=3, max_len=20)  # padded batches of uneven lengths exercise the attention mask


def test_unpruned_model_matches_hugging_face(data):
    model = four_head_bert()
    pruned = build_pruned(model, StructuredPlan.dense(model.config))
    expected = logits(model, data)
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(logits(pruned, data), expected, atol=1e-5)


def test_hidden_states_match_the_masked_model(data):
    """Layer-wise distillation compares layer i of the pruned model with layer i of the dense one."""
    model = four_head_bert()
    plan = random_plan(model.config, np.random.default_rng(4), neuron_keep=0.4)
    pruned = build_pruned(model, plan)
    mask_model(model, plan)
    ids, mask = (tf.constant(x) for x in padded_batches(data, 8)[0])
    ours = pruned(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    theirs = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    assert len(ours) == len(theirs) == LAYERS + 1
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    assert pruned(input_ids=ids, attention_mask=mask).hidden_states is None


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


def test_fine_tune_and_export(data, tmp_path):
    teacher = four_head_bert()
    plan, _ = select_plan(unit_importance(four_head_bert(), data, batch_size=8), teacher.config, 0.5)
    pruned = build_pruned(teacher, plan)
    before = [v.numpy().copy() for v in pruned.trainable_variables]
    config = fine_tuning(epochs=1, batch_size=8, learning_rate=1e-3, warmup_ratio=0.0, weight_decay=0.01,
                         bucket_lengths=[10, 20, 40], seed=0, distill={"alpha": 0.5, "hidden_weight": 1.0})
    steps, epochs = fine_tune(pruned, data, data, config, teacher=teacher_outputs(teacher, data, hidden_states=True),
                              label="test")
    assert epochs and np.isfinite(epochs[0]["train_loss"])
    assert any(not np.allclose(b, v.numpy()) for b, v in zip(before, pruned.trainable_variables))

    expected = logits(pruned, data)
    export_saved_model(pruned, tmp_path / "exported")
    _, serve, weights = load_saved_model(tmp_path / "exported")
    assert sum(w.size for w in weights.values()) == count_parameters(pruned)
    exported = np.concatenate([serve(input_ids=tf.constant(ids), attention_mask=tf.constant(mask))["logits"].numpy()
                               for ids, mask in padded_batches(data, 8)])
    np.testing.assert_allclose(exported, expected, atol=1e-5)
