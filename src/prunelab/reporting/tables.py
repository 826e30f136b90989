"""The report's tables and the wording of its figures: every value names its split and carries its interval.

Accuracies are SST-2 dev (the test set; nothing is chosen on it) with a Wilson 95%
interval, changes against the baseline carry a paired interval, speed ratios the
benchmark's paired bootstrap interval; a choice the report makes (which artifact to
ship) is made on the selection set.
"""

from __future__ import annotations

from prunelab.measurement.accuracy import accuracy_interval
from prunelab.measurement.benchmark.stats import verdict

SAVED_MODELS = ("baseline", "pruned", "structured")


def interval(low: float, high: float, digits: int = 2, unit: str = "") -> str:
    return f"95% CI {low:.{digits}f}{unit}–{high:.{digits}f}{unit}"


def accuracy_text(accuracy: float, sentences: int) -> str:
    low, high = accuracy_interval(accuracy, sentences)
    return f"{accuracy:.4f} ({interval(low, high, 3)})"


def change_text(change: dict) -> str:
    low, high = change["ci95_points"]
    if low <= 0 <= high:
        return f"{change['points']:+.2f} points: no measurable change ({interval(low, high)} points)"
    return f"{change['points']:+.2f} points ({interval(low, high)} points)"


def latency_text(latency: dict, digits: int = 2) -> str:
    low, high = latency["ci95"]
    return f"{latency['median_ms']:.{digits}f} ms ({low:.{digits}f}–{high:.{digits}f})"


def speed_text(ratio: dict | None) -> str:
    return "reference" if ratio is None else verdict(ratio["ratio"], tuple(ratio["ci95"]))


def describe_pruned(record: dict) -> str:
    """The main pruned model's recipe, from its run record."""
    recovery = record["recovery"]
    schedule = "pruned once, then" if record["schedule"] == "oneshot" else "pruned gradually during"
    tuning = (f"{schedule} {record['epochs_run']} epoch(s) of fine-tuning (learning rate "
              f"{recovery['learning_rate']:g}, distillation alpha {recovery['distill_alpha']:g})"
              ) if recovery else "pruned once, not fine-tuned"
    pattern = f" in the {record['n_m']} pattern" if record["n_m"] else ""
    return (f"{record['method'].capitalize()} pruning ({record['scope']} ranking{pattern}; {tuning}) of the "
            f"{', '.join(record['targets'])} kernels to {record['achieved_sparsity']:.1%} sparsity")


def describe_structured(record: dict) -> str:
    recovery = record["recovery"]
    tuning = (f"{record['epochs_run']} epoch(s) of recovery fine-tuning (learning rate "
              f"{recovery['learning_rate']:g}, distillation alpha {recovery['distill_alpha']:g}, hidden-state weight "
              f"{recovery['distill_hidden_weight']:g})") if recovery else "no fine-tuning"
    layers = len(record["heads_per_layer"])
    return (f"Structured pruning to {record['flops_fraction']:.1%} of the encoder's FLOPs (target "
            f"{record['flops_target']:.0%}; {record['heads_kept']} of {record['dense_heads'] * layers} heads and "
            f"{record['neurons_kept']:,} of {record['dense_ffn_width'] * layers:,} FFN neurons kept, ranked by "
            f"{record['score']} importance on {record['importance_sentences']} training sentences, "
            f"every layer keeping at least {record['min_fraction']:.0%} of each; {tuning})")


def model_rows(evaluation: dict, benchmark: dict, selection: dict, batch: int) -> list[dict]:
    """The baseline, pruned and structured SavedModels side by side, one row a measure."""
    models = [evaluation[name] for name in SAVED_MODELS]
    changes = [None, *(evaluation["comparison"][name] for name in SAVED_MODELS[1:])]
    speed = [benchmark["artifacts"][name] for name in SAVED_MODELS]
    ratios = [None, *(benchmark["against_baseline"].get(name) for name in SAVED_MODELS[1:])]

    def row(measure, values):
        return {"measure": measure, "values": values}

    return [
        row("Dev accuracy (test set)", [accuracy_text(m["accuracy"], m["sentences"]) for m in models]),
        row("Change against the baseline (paired)", ["", *(change_text(c["accuracy_change"]) for c in changes[1:])]),
        row("Dev F1", [f"{m['f1']:.4f}" for m in models]),
        row("Selection-set accuracy (in memory, after training)", [f"{selection[n]:.4f}" for n in SAVED_MODELS]),
        row("Sparsity of the targeted kernels", [f"{m['sparsity']['targeted_sparsity']:.2%}" for m in models]),
        row(f"Encoder GFLOPs a sentence ({models[0]['flops_length']:.0f} tokens)",
            [f"{m['encoder_gflops']:.3f}" for m in models]),
        row("Parameters (nonzero / all)",
            [f"{m['sparsity']['nonzero_parameters']:,} / {m['sparsity']['parameters']:,}" for m in models]),
        row("Latency a call, batch 1 (median, 95% CI)", [latency_text(s["batch1"]) for s in speed]),
        row(f"Latency a call, batch {batch} (median, 95% CI)", [latency_text(s[f"batch{batch}"], 1) for s in speed]),
        row("Speed-up, batch 1", [speed_text(r and r["batch1"]) for r in ratios]),
        row(f"Speed-up, batch {batch}", [speed_text(r and r[f"batch{batch}"]) for r in ratios]),
        row("SavedModel on disk (raw / tar+gzip)",
            [f"{m['size']['bytes'] / 1e6:.1f} / {m['size']['gzip_bytes'] / 1e6:.1f} MB" for m in models]),
        row("Peak memory (RSS of the evaluating process)", [f"{m['memory']['peak_rss_mb']:.0f} MB" for m in models]),
    ]


def deployment_rows(deploy: dict, benchmark: dict, evaluation: dict, batch: int) -> list[dict]:
    """Every LiteRT variant beside the SavedModel it came from, timed against the dense TF SavedModel."""
    rows = []
    for name in SAVED_MODELS:
        rows.append(_artifact_row(name, "TF SavedModel", evaluation[name]["accuracy"], evaluation[name]["sentences"],
                                  None, benchmark, name, batch, evaluation[name]["size"]["bytes"]))
        for variant, record in deploy["models"].get(name, {}).items():
            rows.append(_artifact_row(name, f"LiteRT {variant}", record["dev"]["accuracy"],
                                      evaluation[name]["sentences"], record["dev"]["agreement"], benchmark,
                                      litert_name(name, variant), batch, record["bytes"]))
    return rows


def litert_name(model: str, variant: str) -> str:
    """The benchmark's name for a LiteRT file ``models/deploy/<model>/<variant>.tflite``."""
    return f"{model}_{variant}_litert"


def _artifact_row(model, runtime, accuracy, sentences, agreement, benchmark, artifact, batch, size) -> dict:
    timed = benchmark["artifacts"][artifact]
    ratio = benchmark["against_baseline"].get(artifact)
    return {"model": model, "runtime": runtime, "artifact": artifact, "size": f"{size / 1e6:.1f} MB",
            "accuracy": accuracy_text(accuracy, sentences),
            "agreement": "" if agreement is None else f"{agreement:.2%}",
            "latency1": latency_text(timed["batch1"]), "latency_batched": latency_text(timed[f"batch{batch}"], 1),
            "speed1": speed_text(ratio and ratio["batch1"]),
            "speed_batched": speed_text(ratio and ratio[f"batch{batch}"])}


def recommendation(candidates: dict[str, dict], benchmark: dict, batch: int, within_points: float) -> dict:
    """The fastest artifact at batch 1 and at ``batch`` among those whose selection-set accuracy is within
    ``within_points`` of the dense baseline's (chosen on the selection set, never on dev).

    ``candidates``: artifact name → {"label", "selection_accuracy", "dev_accuracy"}.
    """
    reference = candidates["baseline"]["selection_accuracy"]
    eligible = {n: c for n, c in candidates.items() if (reference - c["selection_accuracy"]) * 100 <= within_points}
    chosen = {}
    for setting in ("batch1", f"batch{batch}"):
        best = min(eligible, key=lambda n: benchmark["artifacts"][n][setting]["median_ms"])
        ratio = benchmark["against_baseline"].get(best, {}).get(setting)
        chosen[setting] = {"artifact": best, **candidates[best], "speed": speed_text(ratio),
                           "latency": latency_text(benchmark["artifacts"][best][setting])}
    return chosen


def recommendation_text(chosen: dict, batch: int, within_points: float) -> str:
    parts = []
    for setting, what in (("batch1", "batch-1 serving"), (f"batch{batch}", f"batch-{batch} throughput")):
        c = chosen[setting]
        parts.append(f"For {what}, ship {c['label']} (`{c['artifact']}`): {c['latency']} a call, {c['speed']} against "
                     f"the dense TF SavedModel; dev accuracy {c['dev_accuracy']:.4f}.")
    return (" ".join(parts) + " Chosen as the fastest artifact whose selection-set accuracy is within "
            f"{within_points:g} points of the dense baseline's; dev played no part in the choice.")
