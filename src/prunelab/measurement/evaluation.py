"""Measure models: quality, sparsity, FLOPs, size, memory; one schema for every measured model.

The exported SavedModels are measured from disk, read back by TensorFlow, not from the
object that was trained; sweep points, never exported, are measured in memory with the
same function of their weights. Latency is the benchmark's (``prunelab.measurement.benchmark``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import multiprocessing
import os
import platform
import tarfile
from pathlib import Path

import numpy as np

from prunelab.data.batching import Encoded, logits_in_data_order
from prunelab.measurement.accuracy import accuracy_change, classification_metrics
from prunelab.measurement.memory import peak_rss_mb, rss_mb
from prunelab.model.checkpoint import canonical_name, encoder_layer_index, weight_group
from prunelab.model.flops import encoder_flops
from prunelab.pruning.unstructured.masks import check_n_m


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


def describe_weights(weights: dict[str, np.ndarray], target_groups, flops_length: float) -> dict:
    """What the weights alone say: zeros, parameters, and encoder FLOPs at ``flops_length`` tokens."""
    return {"sparsity": sparsity_summary(weights, target_groups),
            "encoder_gflops": encoder_flops(weights, flops_length) / 1e9, "flops_length": flops_length}


def measure_saved_model(folder: Path, data: Encoded, target_groups, batch_size: int, split: str,
                        n_m: tuple[int, int] | None = None) -> dict:
    """Quality, sparsity, FLOPs, size and peak memory of one SavedModel, read in a child process of its own.

    A child process per model keeps each peak memory its own, not the sum of everything loaded
    before it. With ``n_m``, every targeted kernel must hold the N:M pattern, or this raises.
    Speed is not measured here: ``prunelab.measurement.benchmark`` times every artifact side by side.
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        child = pool.apply_async(_measure_in_this_process, (str(folder), data, list(target_groups), batch_size, n_m))
        on_disk = {"size": saved_model_size(folder), "sha256": folder_sha256(folder)}  # while the child works
        result = child.get()
    return {"split": split, "sentences": len(data), **result, **on_disk}


def _measure_in_this_process(folder: str, data: Encoded, target_groups: list, batch_size: int,
                             n_m: tuple[int, int] | None) -> dict:
    import tensorflow as tf

    import prunelab  # noqa: F401  (TensorFlow settings)
    from prunelab.model.export import load_saved_model

    rss_before_model = rss_mb()
    _, serve, weights = load_saved_model(Path(folder))
    if n_m:
        for name, kernel in weights.items():
            if weight_group(name) in target_groups:
                check_n_m(kernel, *n_m, name=canonical_name(name))
    logits = logits_in_data_order(
        lambda ids, mask: serve(input_ids=tf.constant(ids), attention_mask=tf.constant(mask))["logits"].numpy(),
        data, batch_size)
    predictions = logits.argmax(-1)
    return {
        **({"n_m_verified": f"{n_m[0]}:{n_m[1]}"} if n_m else {}),
        **classification_metrics(data.labels, predictions),
        "predictions": predictions.tolist(),
        **describe_weights(weights, target_groups, float(data.lengths.mean())),
        "memory": {"rss_before_model_mb": rss_before_model,
                   "peak_rss_mb": peak_rss_mb()},
    }


def compare(baseline: dict, other: dict, labels) -> dict:
    """Another model against the baseline, both measured alike on the same sentences."""
    return {
        "accuracy_change": accuracy_change(labels, baseline["predictions"], other["predictions"]),
        "f1_change_points": (other["f1"] - baseline["f1"]) * 100,
        "parameter_ratio": other["sparsity"]["parameters"] / baseline["sparsity"]["parameters"],
        "nonzero_ratio": other["sparsity"]["nonzero_parameters"] / baseline["sparsity"]["nonzero_parameters"],
        "flops_ratio": other["encoder_gflops"] / baseline["encoder_gflops"],
        "size_ratio": other["size"]["bytes"] / baseline["size"]["bytes"],
        "gzip_size_ratio": other["size"]["gzip_bytes"] / baseline["size"]["gzip_bytes"],
        "peak_rss_ratio": other["memory"]["peak_rss_mb"] / baseline["memory"]["peak_rss_mb"],
    }
