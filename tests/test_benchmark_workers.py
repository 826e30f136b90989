"""Workers, the alternating schedule and the whole run, on fake artifacts whose speed is known.

A fake artifact sleeps a fixed time a call (its path says how long), so a known
ratio must come out of the real worker processes, pipes and rounds.
"""

import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from prunelab.errors import ArtifactError, UserError
from prunelab.measurement.benchmark.inputs import build_inputs
from prunelab.measurement.benchmark.rounds import run_rounds
from prunelab.measurement.benchmark.run import find_artifacts, run_benchmark
from prunelab.params import BenchmarkSpec


@dataclass
class SleepingArtifact:
    seconds_per_call: float
    kind: str = "fake"
    size_bytes: int = 123

    def logits(self, input_ids, attention_mask):
        import time

        time.sleep(self.seconds_per_call)
        return np.zeros((len(input_ids), 2), np.float32)


def fake_loader(path, threads=None):
    """``.../20ms`` sleeps 20 ms a call; ``.../10ms_200mb`` also holds 200 MB; ``.../missing`` fails."""
    name = Path(path).name
    if name == "missing":
        raise ArtifactError(f"{path} does not exist")
    speed, *extra = name.split("_")
    artifact = SleepingArtifact(float(speed.removesuffix("ms")) / 1000)
    if extra == ["200mb"]:
        artifact.ballast = np.ones(200 * 2**20, np.uint8)
    return artifact


def dev_like(n=64):
    rng = np.random.default_rng(0)
    return [rng.integers(1000, 2000, rng.integers(5, 40)).astype(np.int32) for _ in range(n)]


SPEC = BenchmarkSpec(rounds=12, batch1_sentences=3, batch_size=4, lengths=[8, 16], length_rounds=6, threads=1)


def test_a_known_two_fold_speedup_comes_out_of_the_workers(tmp_path):
    inputs = build_inputs(dev_like(), 0, SPEC.batch1_sentences, SPEC.batch_size, SPEC.lengths, 2, seed=0)
    artifacts = {"baseline": tmp_path / "20ms", "baseline_copy": tmp_path / "20ms", "fast": tmp_path / "10ms_200mb"}
    report = run_benchmark(artifacts, inputs, SPEC, seed=0, loader=fake_loader)

    fast = report["against_baseline"]["fast"]
    assert set(report["against_baseline"]) == {"fast"}
    for setting in ("batch1", "batch4"):
        assert fast[setting]["ratio"] == pytest.approx(2.0, rel=0.15)
        assert fast[setting]["direction"] == "faster"
        assert fast[setting]["verdict"].startswith("faster: ")
        assert report["aa"][setting]["ratio"] == pytest.approx(1.0, abs=0.1)  # (its limits: test_benchmark_results)
    assert report["artifacts"]["baseline"]["batch1"]["median_ms"] == pytest.approx(20.0, rel=0.25)  # per call
    assert report["artifacts"]["baseline"]["batch1"]["rounds"] == 12
    assert report["settings"]["passes"] == SPEC.passes == 3 and report["settings"]["length_passes"] == 1

    # Each artifact in its own process: only the worker holding 200 MB has the memory to show for it.
    rss = {name: a["peak_rss_mb"] for name, a in report["artifacts"].items()}
    assert rss["fast"] > 200 and rss["baseline"] < rss["fast"] - 150
    assert report["artifacts"]["fast"]["threads"] == {"intra_op": 1, "inter_op": 1}
    assert report["artifacts"]["fast"]["kind"] == "fake" and report["artifacts"]["fast"]["size_bytes"] == 123

    rows = report["by_length"]
    assert len(rows) == 3 * 2 * 2 and {r["length"] for r in rows} == {8, 16}
    assert all(r["rounds"] == 6 for r in rows)
    assert all(r["ratio"] == pytest.approx(2.0, rel=0.15) for r in rows if r["artifact"] == "fast")
    assert "ratio" not in next(r for r in rows if r["artifact"] == "baseline")
    assert report["machine"]["cores"] == os.cpu_count() and report["machine"]["elapsed_s"] > 0
    assert multiprocessing.active_children() == []


def test_a_failing_artifact_is_named_and_no_worker_is_left_behind(tmp_path):
    inputs = build_inputs(dev_like(), 0, 2, 4, [8], 1, seed=0)
    artifacts = {"baseline": tmp_path / "1ms", "baseline_copy": tmp_path / "1ms", "broken": tmp_path / "missing"}
    with pytest.raises(ArtifactError, match="broken: .*missing does not exist"):
        run_benchmark(artifacts, inputs, SPEC, seed=0, loader=fake_loader)
    assert multiprocessing.active_children() == []


class RecordingWorker:
    def __init__(self, name, log):
        self.name, self.log = name, log

    def time(self, set_name, passes=1):
        self.log.append((self.name, set_name))
        return [float(len(self.log))] * passes


def test_rounds_alternate_in_a_fresh_seeded_order():
    def orders(seed):
        log = []
        workers = {n: RecordingWorker(n, log) for n in "abcde"}
        seconds = run_rounds(workers, ["s1", "s2"], 8, np.random.default_rng(seed))
        return log, seconds

    log, seconds = orders(0)
    chunks = [tuple(name for name, _ in log[i : i + 5]) for i in range(0, len(log), 5)]
    assert len(chunks) == 16 and all(sorted(c) == list("abcde") for c in chunks)  # everyone once per round and set
    assert len(set(chunks)) > 8  # the order changes
    assert [s for _, s in log[:10]] == ["s1"] * 5 + ["s2"] * 5
    assert seconds["a"]["s1"].shape == (8,)
    assert orders(0)[0] == log and orders(1)[0] != log


class PassesWorker:
    def time(self, set_name, passes=1):
        return [12.0, 10.0, 11.0][:passes]


def test_a_round_keeps_the_fastest_of_its_passes():
    seconds = run_rounds({"a": PassesWorker()}, ["s"], 2, np.random.default_rng(0), passes=3)
    assert seconds["a"]["s"].tolist() == [10.0, 10.0]
    assert run_rounds({"a": PassesWorker()}, ["s"], 1, np.random.default_rng(0))["a"]["s"].tolist() == [12.0]


def test_find_artifacts_lists_the_baseline_the_model_and_its_litert_files(tmp_path):
    for variant in ("baseline/fp32", "baseline/int8", "structured/int8"):
        (tmp_path / "deploy" / variant).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "deploy" / f"{variant}.tflite").write_bytes(b"")
    found = find_artifacts(tmp_path, "baseline")
    assert list(found) == ["baseline", "baseline_copy", "baseline_fp32_litert", "baseline_int8_litert"]
    assert found["baseline"] == found["baseline_copy"] == tmp_path / "baseline" / "saved_model"
    found = find_artifacts(tmp_path, "structured")  # with the baseline's file of its own variant, int8
    assert list(found) == ["baseline", "structured", "structured_int8_litert", "baseline_int8_litert"]
    assert found["structured_int8_litert"] == tmp_path / "deploy" / "structured" / "int8.tflite"
    assert found["baseline_int8_litert"] == tmp_path / "deploy" / "baseline" / "int8.tflite"
    assert list(find_artifacts(tmp_path, "pruned")) == ["baseline", "pruned"]
    with pytest.raises(UserError, match="one of baseline, pruned, structured"):
        find_artifacts(tmp_path, "sparse")


def test_without_a_copy_there_is_no_aa_check(tmp_path):
    inputs = build_inputs(dev_like(), 0, 2, 4, [8], 1, seed=0)
    spec = BenchmarkSpec(rounds=4, batch1_sentences=2, batch_size=4, lengths=[8], length_rounds=2, threads=1)
    report = run_benchmark({"baseline": tmp_path / "2ms", "pruned": tmp_path / "1ms"}, inputs, spec, seed=0,
                           loader=fake_loader)
    assert report["aa"] is None and set(report["against_baseline"]) == {"pruned"}


def test_without_lengths_there_is_no_length_sweep(tmp_path):
    inputs = build_inputs(dev_like(), 0, 2, 4, [], 1, seed=0)
    spec = BenchmarkSpec(rounds=3, batch1_sentences=2, batch_size=4, lengths=[8], length_rounds=2, threads=1)
    report = run_benchmark({"baseline": tmp_path / "2ms", "pruned": tmp_path / "1ms"}, inputs, spec, seed=0,
                           loader=fake_loader)
    assert report["by_length"] == [] and set(report["against_baseline"]["pruned"]) == {"batch1", "batch4"}


def test_real_saved_models_run_in_workers_with_their_threads_pinned(tmp_path):
    from conftest import tiny_model
    from prunelab.model.export import export_saved_model

    export_saved_model(tiny_model("bert"), tmp_path / "baseline" / "saved_model")
    export_saved_model(tiny_model("bert", seed=1), tmp_path / "pruned")
    artifacts = {**find_artifacts(tmp_path, "baseline"), **find_artifacts(tmp_path, "pruned")}
    ids = [np.array([1, *rng_ids, 2], np.int32) for rng_ids in np.random.default_rng(0).integers(6, 64, (40, 20))]
    spec = BenchmarkSpec(rounds=6, batch1_sentences=2, batch_size=4, lengths=[8, 32], length_rounds=2, threads=1)
    inputs = build_inputs(ids, 0, spec.batch1_sentences, spec.batch_size, spec.lengths, 2, seed=0)
    report = run_benchmark(artifacts, inputs, spec, seed=0)

    for name in artifacts:
        described = report["artifacts"][name]
        assert described["kind"] == "saved_model"
        assert described["threads"] == {"intra_op": 1, "inter_op": 1}  # read back from TensorFlow in the worker
        assert described["batch1"]["median_ms"] > 0 and described["peak_rss_mb"] > 100
    assert report["settings"]["threads"] == {"intra_op": 1, "inter_op": 1}
    assert set(report["against_baseline"]) == {"pruned"}
    assert len(report["by_length"]) == 3 * 2 * 2
