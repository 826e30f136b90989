"""The comparison sweep: every method at several sparsities (or FLOPs targets), on equal terms.

Each point starts from the same fine-tuned baseline, prunes one-shot and, only
when asked (``sweep.recovery``), fine-tunes. Unstructured points keep the dense
graph, so their latency is the baseline's; structured points are exported and
measured from disk like the main models, since removing units is what changes
their speed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from prunelab.batching import Encoded
from prunelab.evaluation import classification_metrics, measure_saved_model
from prunelab.export import export_saved_model
from prunelab.pruning.methods import PruneSpec, prepare_pruner
from prunelab.structured import build_pruned, select_plan, unit_importance
from prunelab.training import TrainConfig, fine_tune, predict_in_memory


class WeightSnapshot:
    """The model's weights, to start every sweep point from the same baseline."""

    def __init__(self, model):
        self.model = model
        self.values = [v.numpy() for v in model.weights]

    def restore(self) -> None:
        for variable, value in zip(self.model.weights, self.values):
            variable.assign(value)


def _score(model, validation: Encoded, batch_size: int) -> dict:
    predictions = predict_in_memory(model, validation, batch_size).argmax(-1)
    return classification_metrics(validation.labels, predictions)


def sweep_unstructured(model, method: str, scope: str, sparsities, targets, data: dict[str, Encoded],
                       calibration: Encoded, recovery: TrainConfig | None, teacher=None) -> list[dict]:
    snapshot = WeightSnapshot(model)
    points = []
    for sparsity in sparsities:
        started = time.perf_counter()
        spec = PruneSpec(method=method, sparsity=float(sparsity), scope=scope, targets=tuple(targets),
                         calibration_size=len(calibration))
        spec.validate()
        pruner = prepare_pruner(model, spec, calibration, total_steps=0)
        pruner.update(0)
        if recovery is not None:
            fine_tune(model, data["train"], data["validation"], recovery, pruner, teacher=teacher,
                      label=f"sweep {method} {sparsity}")
        points.append({"method": method, "sparsity": float(sparsity), "achieved_sparsity": pruner.sparsity(),
                       **_score(model, data["validation"], 32), "recovery": recovery is not None,
                       "seconds": round(time.perf_counter() - started, 1)})
        print(f"[sweep] {method} at {sparsity:.0%}: accuracy {points[-1]['accuracy']:.4f}", flush=True)
        snapshot.restore()
    return points


def structured_runs(flops_targets, recovery, main_target: float | None, main_recovery) -> list[tuple]:
    """``(target, fine-tuning or None, is the main point)`` for each structured model to build.

    The main point is fine-tuned with ``main_recovery``; when every point is fine-tuned
    anyway and one sits at ``main_target``, that one is the main point, not trained twice.
    """
    runs = [(float(target), recovery, recovery is not None and float(target) == main_target)
            for target in flops_targets]
    if main_target is not None and not any(main for _, _, main in runs):
        runs.append((main_target, main_recovery, True))
    return runs


def sweep_structured(model, flops_targets, importance_data: Encoded, settings: dict, data: dict[str, Encoded],
                     measure_settings: dict, recovery: TrainConfig | None, teacher=None,
                     main_recovery: TrainConfig | None = None) -> list[dict]:
    """Structured points at every FLOPs target (fine-tuned only with ``recovery``), plus, with
    ``main_recovery``, the configured target (``settings["flops_target"]``) fine-tuned like the main run."""
    importance = unit_importance(model, importance_data, score=settings["score"],
                                 max_sentences=settings["importance_sentences"])
    main_target = float(settings["flops_target"]) if main_recovery is not None else None
    points = []
    for target, fine_tuning, main in structured_runs(flops_targets, recovery, main_target, main_recovery):
        started = time.perf_counter()
        plan, report = select_plan(importance, model.config, target, seq_len=settings["reference_length"],
                                   allow_layer_removal=settings["allow_layer_removal"],
                                   min_fraction=settings["min_fraction"])
        smaller = build_pruned(model, plan)
        epochs = []
        if fine_tuning is not None:
            _, epochs = fine_tune(smaller, data["train"], data["validation"], fine_tuning, teacher=teacher,
                                  label=f"sweep structured {target}")
        with tempfile.TemporaryDirectory() as folder:
            export_saved_model(smaller, Path(folder) / "model")
            measured = measure_saved_model(Path(folder) / "model", data["validation"], [], measure_settings)
        batched = f"latency_batch{measure_settings['batch_size']}"
        points.append({
            "method": "structured", "flops_target": target, "flops_fraction": report["flops_fraction"],
            "heads_per_layer": report["heads_per_layer"], "ffn_widths": report["ffn_widths"],
            "dense_heads": model.config.num_attention_heads, "dense_ffn_width": model.config.intermediate_size,
            "accuracy": measured["accuracy"], "f1": measured["f1"],
            "parameters": measured["sparsity"]["parameters"],
            "latency_batch1_ms": measured["latency_batch1"]["median_ms"],
            f"{batched}_ms": measured[batched]["median_ms"],
            "throughput_sentences_per_s": measured["throughput_sentences_per_s"],
            "encoder_gflops": measured["encoder_gflops"], "size_bytes": measured["size"]["bytes"],
            "other_processes_cpu_cores": measured["other_processes_cpu_cores"],
            "recovery": fine_tuning is not None, "main": main, "epochs": epochs,
            "seconds": round(time.perf_counter() - started, 1),
        })
        print(f"[sweep] structured at {target:.0%} FLOPs{' (main, fine-tuned)' if main else ''}: "
              f"accuracy {points[-1]['accuracy']:.4f}, batch-1 {points[-1]['latency_batch1_ms']:.2f} ms", flush=True)
    return points
