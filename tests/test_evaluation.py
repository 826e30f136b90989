import numpy as np
import pytest

from prunelab.evaluation import (
    classification_metrics,
    compare,
    encoder_flops,
    percentiles_ms,
    saved_model_size,
    sparsity_summary,
)
from prunelab.reporting import speed_statement


def test_accuracy_and_f1_by_hand():
    labels = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    preds = np.array([1, 1, 0, 0, 1, 0, 1, 0])
    # TP 3, FP 1, FN 1: precision 3/4, recall 3/4.
    metrics = classification_metrics(labels, preds)
    assert metrics["accuracy"] == 6 / 8
    assert metrics["f1"] == pytest.approx(0.75)
    assert classification_metrics(np.array([1, 0]), np.array([0, 0]))["f1"] == 0.0


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


def test_percentiles():
    stats = percentiles_ms([0.001 * i for i in range(1, 11)])
    assert stats["median_ms"] == pytest.approx(5.5)
    assert stats["p90_ms"] == pytest.approx(9.1)
    assert stats["runs"] == 10


def fake_measurement(accuracy, f1, b1, b32, size, gz, rss, throughput):
    return {"accuracy": accuracy, "f1": f1, "latency_batch1": {"median_ms": b1}, "latency_batch32": {"median_ms": b32},
            "size": {"bytes": size, "gzip_bytes": gz}, "memory": {"peak_rss_mb": rss},
            "throughput_sentences_per_s": throughput}


def test_comparison_arithmetic_and_the_speed_statement():
    base = fake_measurement(0.88, 0.90, 10.0, 100.0, 1000, 900, 800, 300)
    pruned = fake_measurement(0.87, 0.885, 10.2, 50.0, 1000, 500, 800, 600)
    comparison = compare(base, pruned, 32)
    assert comparison["accuracy_drop_points"] == pytest.approx(1.0)
    assert comparison["f1_drop_points"] == pytest.approx(1.5)
    assert comparison["speedup_batch1"] == pytest.approx(10 / 10.2)
    assert comparison["speedup_batch32"] == pytest.approx(2.0)
    assert comparison["gzip_size_ratio"] == pytest.approx(500 / 900)
    assert comparison["throughput_ratio"] == pytest.approx(2.0)
    text = speed_statement(comparison, 32, 0.5)
    assert "batch 1 0.98× (no change beyond run-to-run noise)" in text
    assert "batch 32 2.00× (faster)" in text
    assert "0.56× the baseline's" in text


def test_encoder_flops_follow_kernel_shapes_not_zeros():
    def layer(inner, width, fill=1.0):
        prefix = "m/bert/encoder/layer_._0/"
        kernels = {f"{prefix}attention/self/{p}/kernel:0": np.full((8, inner), fill) for p in ("query", "key", "value")}
        return kernels | {
            f"{prefix}attention/output/dense/kernel:0": np.full((inner, 8), fill),
            f"{prefix}intermediate/dense/kernel:0": np.full((8, width), fill),
            f"{prefix}output/dense/kernel:0": np.full((width, 8), fill),
            "m/classifier/kernel:0": np.ones((8, 2)),
        }

    length = 10
    dense = encoder_flops(layer(8, 32), length)
    assert dense == length * (2 * 4 * 8 * 8 + 4 * length * 8 + 2 * 2 * 8 * 32)
    assert encoder_flops(layer(8, 32, fill=0.0), length) == dense  # zeros inside a kernel still cost
    assert encoder_flops(layer(4, 16), length) == pytest.approx(dense / 2)


def test_speed_statement_for_a_structured_model_speaks_of_flops_not_zeros():
    base = fake_measurement(0.88, 0.90, 10.0, 100.0, 1000, 900, 800, 300)
    smaller = fake_measurement(0.87, 0.885, 8.0, 55.0, 600, 550, 700, 540)
    text = speed_statement(compare(base, smaller, 32), 32, 0.0, flops_ratio=0.5, structured=True)
    assert "0.50× the baseline's FLOPs" in text
    assert "batch 32 1.82× (faster)" in text
    assert "zeros sit" not in text
