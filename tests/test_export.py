import numpy as np
import pytest
import tensorflow as tf

from conftest import random_encoded
from prunelab.data.batching import padded_batches
from prunelab.measurement.evaluation import sparsity_summary
from prunelab.model.export import export_saved_model, load_saved_model
from prunelab.pruning.unstructured.pruner import Pruner, prunable_variables
from prunelab.pruning.unstructured.schedules import make_schedule
from prunelab.training.fine_tune import predict_in_memory


@pytest.fixture
def pruned(model):
    pruner = Pruner(prunable_variables(model, ["attention", "ffn"]), "magnitude", "global",
                    make_schedule("oneshot", 0.5, 0))
    pruner.update(0)
    return model, pruner


def test_saved_model_keeps_the_zeros_and_the_predictions(pruned, tmp_path):
    model, pruner = pruned
    export_saved_model(model, tmp_path / "exported")
    _, serve, weights = load_saved_model(tmp_path / "exported")

    in_memory_zeros = {v.name: int(tf.size(v)) - int(tf.math.count_nonzero(v)) for v in model.weights}
    on_disk_zeros = {name: int(w.size - np.count_nonzero(w)) for name, w in weights.items()}
    assert on_disk_zeros == in_memory_zeros
    assert sparsity_summary(weights, ["attention", "ffn"])["targeted_sparsity"] == pytest.approx(0.5, abs=1e-3)

    data = random_encoded(20)
    expected = predict_in_memory(model, data, batch_size=8)
    exported = np.concatenate([serve(input_ids=tf.constant(ids), attention_mask=tf.constant(mask))["logits"].numpy()
                               for ids, mask in padded_batches(data, 8)])
    np.testing.assert_allclose(exported, expected, atol=1e-5)


def test_signature_names_inputs_and_outputs(pruned, tmp_path):
    export_saved_model(pruned[0], tmp_path / "exported")
    _, serve, _ = load_saved_model(tmp_path / "exported")
    assert set(serve.structured_input_signature[1]) == {"input_ids", "attention_mask"}
    out = serve(input_ids=tf.constant([[1, 7, 2]]), attention_mask=tf.constant([[1, 1, 1]]))
    assert set(out) == {"logits", "probabilities"}
    np.testing.assert_allclose(out["probabilities"].numpy().sum(), 1.0, rtol=1e-6)


def test_failed_export_leaves_nothing(tmp_path, monkeypatch):
    model = __import__("conftest").tiny_model("bert")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken)
    with pytest.raises(OSError):
        export_saved_model(model, tmp_path / "exported")
    assert not (tmp_path / "exported").exists()
