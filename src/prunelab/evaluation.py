"""Measure exported SavedModels: quality, sparsity, size, latency, memory.

Every figure comes from the artifact on disk, read back by TensorFlow, not from
the object that was trained. Each model is measured in a fresh child process,
so its peak memory is its own and not the sum of everything loaded before it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import multiprocessing
import os
import platform
import re
import resource
import tarfile
import time
from pathlib import Path

import numpy as np

from prunelab.batching import Encoded, padded_batches
from prunelab.modeling import canonical_name, encoder_layer_index, weight_group
from prunelab.pruning.masks import check_n_m


def classification_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict:
    """Accuracy and F1 of the positive class (label 1), as GLUE reports SST-2."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    true_pos = int(np.sum((predictions == 1) & (labels == 1)))
    precision_den, recall_den = int(np.sum(predictions == 1)), int(np.sum(labels == 1))
    precision = true_pos / precision_den if precision_den else 0.0
    recall = true_pos / recall_den if recall_den else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float(np.mean(labels == predictions)), "f1": f1}


def sparsity_summary(weights: dict[str, np.ndarray], target_groups) -> dict:
    """Zeros counted in the exported variables: targeted kernels, each kernel, each layer, everything."""
    def zeros(arrays):
        return sum(int(a.size - np.count_nonzero(a)) for a in arrays)

    def size(arrays):
        return sum(int(a.size) for a in arrays)

    targeted = {canonical_name(n): w for n, w in weights.items() if weight_group(n) in target_groups}
    by_layer: dict[int, list[np.ndarray]] = {}
    for name, w in targeted.items():
        layer = encoder_layer_index(name)
        if layer is not None:
            by_layer.setdefault(layer, []).append(w)
    everything = list(weights.values())
    return {
        "targeted_sparsity": zeros(targeted.values()) / size(targeted.values()) if targeted else 0.0,
        "targeted_parameters": size(targeted.values()),
        "model_sparsity": zeros(everything) / size(everything),
        "parameters": size(everything),
        "nonzero_parameters": size(everything) - zeros(everything),
        "per_kernel": {name: zeros([w]) / w.size for name, w in targeted.items()},
        "per_encoder_layer": {str(i): zeros(ws) / size(ws) for i, ws in sorted(by_layer.items())},
    }


def encoder_flops(weights: dict[str, np.ndarray], length: float) -> float:
    """FLOPs of one sentence of ``length`` tokens through the encoder, read off the kernel shapes.

    2 per multiply-add: every attention and FFN kernel costs 2·in·out a token, and the
    attention scores and context 4·length·(query width) a token. Embeddings, norms,
    softmax and the head are left out. A zero inside a kernel still counts: only
    removed units (smaller kernels) lower this figure.
    """
    per_token = 0.0
    for name, w in weights.items():
        if weight_group(name) in ("attention", "ffn"):
            per_token += 2.0 * w.shape[0] * w.shape[1]
            if re.search(r"(query|q_lin)/kernel", name):
                per_token += 4.0 * length * w.shape[1]
    return per_token * length


def saved_model_size(folder: Path) -> dict:
    """Bytes on disk, and bytes once the folder is tarred and gzip-compressed (gzip's default level 6)."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w") as tar:
            for path in files:
                tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return {"bytes": sum(p.stat().st_size for p in files), "gzip_bytes": len(buffer.getvalue())}


def folder_sha256(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def percentiles_ms(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000.0
    return {"median_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90)), "runs": len(ms)}


def time_calls(call, inputs: list, warmup_passes: int, repeats: int = 1) -> list[float]:
    """Wall time of ``call(*x)`` for each input, ``repeats`` times, after ``warmup_passes`` untimed passes.

    A whole pass, not a few calls: TensorFlow and oneDNN prepare their kernels anew for
    every input shape they meet, and a first call at a new sentence length measured up to
    a third slower, enough to move the median of 100 sentences by 20%.
    """
    for _ in range(warmup_passes):
        for x in inputs:
            call(*x)
    timings = []
    for _ in range(repeats):
        for x in inputs:
            started = time.perf_counter()
            call(*x)
            timings.append(time.perf_counter() - started)
    return timings


def machine() -> dict:
    import tensorflow as tf

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "tensorflow": tf.__version__, "python": platform.python_version()}


def measure_saved_model(folder: Path, validation: Encoded, target_groups, settings: dict,
                        n_m: tuple[int, int] | None = None) -> dict:
    """All measurements of one SavedModel, taken in a child process of its own.

    With ``n_m``, every targeted kernel must hold the N:M pattern, or this raises.
    """
    context = multiprocessing.get_context("spawn")
    busy_before, ours_before, started = _machine_busy_seconds(), _own_cpu_seconds(), time.perf_counter()
    with context.Pool(1) as pool:
        result = pool.apply(_measure_in_this_process,
                            (str(folder), validation, list(target_groups), settings, n_m))
    elapsed = time.perf_counter() - started
    others = (_machine_busy_seconds() - busy_before) - (_own_cpu_seconds() - ours_before)
    # Other processes slow every latency figure; the report shows how busy they kept the CPU.
    result["other_processes_cpu_cores"] = max(0.0, others / elapsed)
    result["size"] = saved_model_size(folder)
    result["sha256"] = folder_sha256(folder)
    return result


def _machine_busy_seconds() -> float:
    """CPU time all processes spent on the machine so far (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _measure_in_this_process(folder: str, validation: Encoded, target_groups: list, settings: dict,
                             n_m: tuple[int, int] | None) -> dict:
    import tensorflow as tf

    import prunelab  # noqa: F401  (TensorFlow settings)
    from prunelab.export import load_saved_model

    rss_before_model = _rss_mb()
    _, serve, weights = load_saved_model(Path(folder))
    if n_m:
        for name, kernel in weights.items():
            if weight_group(name) in target_groups:
                check_n_m(kernel, *n_m, name=canonical_name(name))

    def logits(ids, mask):
        return serve(input_ids=tf.constant(ids), attention_mask=tf.constant(mask))["logits"]

    batch_size = settings["batch_size"]
    batches = padded_batches(validation, batch_size)
    # The accuracy pass is also the batched latency's first warm-up pass.
    predictions = np.concatenate([logits(ids, mask).numpy().argmax(-1) for ids, mask in batches])

    singles = padded_batches(Encoded(validation.token_ids[: settings["latency_sentences"]],
                                     validation.labels[: settings["latency_sentences"]], validation.pad_id), 1)
    batch1 = time_calls(logits, singles, settings["warmup_passes"], repeats=settings["repeats"])
    batched = time_calls(logits, batches, max(settings["warmup_passes"] - 1, 0), repeats=settings["repeats"])

    return {
        **({"n_m_verified": f"{n_m[0]}:{n_m[1]}"} if n_m else {}),
        **classification_metrics(validation.labels, predictions),
        "sparsity": sparsity_summary(weights, target_groups),
        "encoder_gflops": encoder_flops(weights, float(validation.lengths.mean())) / 1e9,
        "flops_length": float(validation.lengths.mean()),
        "latency_batch1": percentiles_ms(batch1),
        f"latency_batch{batch_size}": percentiles_ms(batched),
        "throughput_sentences_per_s": len(validation) * settings["repeats"] / sum(batched),
        "memory": {
            "rss_before_model_mb": rss_before_model,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
    }


def compare(baseline: dict, pruned: dict, batch_size: int) -> dict:
    """Pruned against baseline: negative drops and ratios below 1 mean the pruned model is worse."""
    key = f"latency_batch{batch_size}"
    return {
        "accuracy_drop_points": (baseline["accuracy"] - pruned["accuracy"]) * 100,
        "f1_drop_points": (baseline["f1"] - pruned["f1"]) * 100,
        "speedup_batch1": baseline["latency_batch1"]["median_ms"] / pruned["latency_batch1"]["median_ms"],
        f"speedup_batch{batch_size}": baseline[key]["median_ms"] / pruned[key]["median_ms"],
        "throughput_ratio": pruned["throughput_sentences_per_s"] / baseline["throughput_sentences_per_s"],
        "size_ratio": pruned["size"]["bytes"] / baseline["size"]["bytes"],
        "gzip_size_ratio": pruned["size"]["gzip_bytes"] / baseline["size"]["gzip_bytes"],
        "peak_rss_ratio": pruned["memory"]["peak_rss_mb"] / baseline["memory"]["peak_rss_mb"],
    }
