import numpy as np
import pytest

from prunelab.measurement.evaluation import compare, saved_model_size, sparsity_summary


def test_sparsity_counts_targeted_per_kernel_per_layer_and_whole_model():
    weights = {
        "m/bert/encoder/layer_._0/attention/self/query/kernel:0": np.array([[0.0, 1.0], [0.0, 2.0]]),
        "m/bert/encoder/layer_._0/intermediate/dense/kernel:0": np.array([[0.0, 0.0], [3.0, 0.0]]),
        "m/bert/encoder/layer_._1/output/dense/kernel:0": np.array([[1.0, 1.0], [1.0, 1.0]]),
        "m/bert/encoder/layer_._1/output/dense/bias:0": np.array([0.0, 0.0]),
        "m/classifier/kernel:0": np.array([[0.0, 5.0]]),
    }
    summary = sparsity_summary(weights, ["attention", "ffn"])
    assert summary["targeted_sparsity"] == 5 / 12
    assert summary["targeted_parameters"] == 12
    assert summary["per_kernel"]["bert/encoder/layer_._0/intermediate/dense/kernel"] == 0.75
    assert summary["per_encoder_layer"] == {"0": 5 / 8, "1": 0.0}
    assert summary["parameters"] == 16 and summary["nonzero_parameters"] == 8
    assert summary["model_sparsity"] == 0.5


def test_saved_model_size_counts_bytes_and_compresses_zeros(tmp_path):
    (tmp_path / "dense").mkdir()
    (tmp_path / "sparse").mkdir()
    rng = np.random.default_rng(0)
    values = rng.standard_normal(100_000).astype(np.float32)
    (tmp_path / "dense" / "w.bin").write_bytes(values.tobytes())
    values[::2] = 0
    (tmp_path / "sparse" / "w.bin").write_bytes(values.tobytes())
    dense, sparse = saved_model_size(tmp_path / "dense"), saved_model_size(tmp_path / "sparse")
    assert dense["bytes"] == sparse["bytes"] == 400_000
    assert sparse["gzip_bytes"] < 0.8 * dense["gzip_bytes"]


def measured(accuracy, parameters, nonzero, gflops, size, gzip, rss, predictions):
    return {"accuracy": accuracy, "f1": accuracy, "predictions": predictions, "encoder_gflops": gflops,
            "sparsity": {"parameters": parameters, "nonzero_parameters": nonzero},
            "size": {"bytes": size, "gzip_bytes": gzip}, "memory": {"peak_rss_mb": rss}}


def test_comparison_ratios_and_paired_accuracy_change():
    labels = [1, 0, 1, 0]
    baseline = measured(1.0, 100, 100, 2.0, 400, 360, 1000, [1, 0, 1, 0])
    pruned = measured(0.75, 100, 50, 2.0, 400, 200, 1010, [1, 0, 1, 1])
    comparison = compare(baseline, pruned, labels)
    assert comparison["accuracy_change"]["points"] == pytest.approx(-25.0)
    assert comparison["accuracy_change"]["sentences_lost"] == 1
    assert comparison["nonzero_ratio"] == 0.5 and comparison["parameter_ratio"] == 1.0
    assert comparison["flops_ratio"] == 1.0 and comparison["size_ratio"] == 1.0
    assert comparison["gzip_size_ratio"] == pytest.approx(200 / 360)
    assert comparison["peak_rss_ratio"] == pytest.approx(1.01)
