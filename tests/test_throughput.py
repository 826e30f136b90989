import numpy as np
import pytest
from transformers import BertConfig

from conftest import fine_tuning, random_encoded, tiny_model
from prunelab.data.batching import bucketed_dataset
from prunelab.model.flops import dense_encoder_flops
from prunelab.training.fine_tune import fine_tune
from prunelab.training.throughput import against_roofline, fine_tuning_throughput, main, matmul_roofline

CONFIG = BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)


def test_training_flops_are_three_forward_passes_of_the_padded_tokens():
    result = against_roofline(sentences=100, padded_tokens=2000, seconds=4.0, config=CONFIG, roofline_gflops=50.0)
    expected = 3 * dense_encoder_flops(CONFIG, 20.0) * 2000 / 4.0 / 1e9
    assert result["sentences_per_second"] == 25.0
    assert result["padded_tokens_per_second"] == 500.0
    assert result["mean_padded_length"] == 20.0
    assert result["gflops_per_second"] == pytest.approx(expected, rel=1e-3)
    assert result["fraction_of_roofline"] == pytest.approx(expected / 50.0, rel=1e-3)


def test_inference_counts_one_pass():
    training = against_roofline(100, 2000, 4.0, CONFIG, 50.0)
    inference = against_roofline(100, 2000, 4.0, CONFIG, 50.0, passes=1)
    assert inference["gflops_per_second"] == pytest.approx(training["gflops_per_second"] / 3, rel=1e-3)


def test_the_roofline_is_a_plausible_rate_for_a_cpu():
    assert 1.0 < matmul_roofline(repeats=2, trials=1) < 100_000.0


def test_fine_tuning_records_what_its_throughput_is_computed_from():
    train = random_encoded(40, seed=0)
    config = fine_tuning(epochs=2, batch_size=8, learning_rate=1e-3, warmup_ratio=0.0, weight_decay=0.0,
                         bucket_lengths=[16, 40], seed=1)
    model = tiny_model("bert")
    _, epochs = fine_tune(model, train, random_encoded(8, seed=1), config, label="test")
    padded = sum(int(np.prod(f["input_ids"].shape)) for f, _ in bucketed_dataset(train, [16, 40], 8, shuffle_seed=1))
    assert [row["sentences"] for row in epochs] == [40, 40]
    assert [row["padded_tokens"] for row in epochs] == [padded, padded]
    assert all(0 < row["steps_seconds"] <= row["seconds"] for row in epochs)
    result = fine_tuning_throughput(epochs, model.config)
    assert result["mean_padded_length"] == pytest.approx(padded / 40, abs=0.01)
    assert result["fraction_of_roofline"] > 0


def test_make_bench_says_in_one_line_what_it_lacks(tmp_path):
    with pytest.raises(SystemExit, match=r"^error: .*nope \(from `make repro` or `make pull`\) and .*prepared"):
        main(["--model", str(tmp_path / "nope"), "--prepared", str(tmp_path / "prepared")])
    (tmp_path / "model").mkdir()
    (tmp_path / "prepared").mkdir()
    with pytest.raises(SystemExit, match="^error: --steps must be at least 1"):
        main(["--model", str(tmp_path / "model"), "--prepared", str(tmp_path / "prepared"), "--steps", "0"])
