"""The report's tables and the wording of its figures: every value names its split and carries its interval.

Accuracies are SST-2 dev (the test set; nothing is chosen on it) with a Wilson 95%
interval, changes against the baseline carry a paired interval, speed ratios the
benchmark's paired bootstrap interval; a choice the report makes (which artifact to
ship) is made on the selection set.
"""

from __future__ import annotations

from prunelab.measurement.accuracy import accuracy_change, accuracy_interval
from prunelab.measurement.benchmark.stats import verdict

SAVED_MODELS = ("baseline", "pruned", "structured")


# Parameter values as the report's sentences name them.
TARGET_WORDS = {"attention": "attention", "ffn": "feed-forward", "embeddings": "embedding", "pooler": "pooler",
                "classifier": "classifier"}
SCOPE_WORDS = {"global": "one ranking over all of them", "per_layer": "a ranking per kernel",
               "per_output": "a ranking per output of each kernel"}
SCORE_WORDS = {"fisher": "Fisher importance (squared gradients of unit masks)",
               "taylor": "first-order importance (gradients of unit masks)"}


def number(value: float, digits: int = 2, signed: bool = False) -> str:
    """A number as a person reads it: a real minus sign, and a plus only where a change is meant."""
    return (f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}").replace("-", "\u2212")


def interval(low: float, high: float, digits: int = 2, unit: str = "") -> str:
    return f"95% CI {number(low, digits)}{unit} to {number(high, digits)}{unit}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def listing(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def accuracy_text(accuracy: float, sentences: int) -> str:
    low, high = accuracy_interval(accuracy, sentences)
    return f"{accuracy:.4f} ({interval(low, high, 3)})"


def change_text(change: dict) -> str:
    low, high = change["ci95_points"]
    if low <= 0 <= high:
        return f"{number(change['points'], signed=True)} points: no measurable change ({interval(low, high)} points)"
    return f"{number(change['points'], signed=True)} points ({interval(low, high)} points)"


def latency_text(latency: dict, digits: int = 2) -> str:
    low, high = latency["ci95"]
    return f"{latency['median_ms']:.{digits}f} ms ({low:.{digits}f}–{high:.{digits}f})"


def speed_text(ratio: dict | None) -> str:
    return "reference" if ratio is None else verdict(ratio["ratio"], tuple(ratio["ci95"]))


def describe_pruned(record: dict) -> str:
    """The main pruned model's recipe, from its run record."""
    recovery = record["recovery"]
    schedule = "pruned once, then" if record["schedule"] == "oneshot" else "pruned gradually during"
    if record.get("starts_from") == "pretrained":
        schedule = "the pre-trained model pruned gradually during"
    tuning = (f"{schedule} {plural(record['epochs_run'], 'epoch')} of fine-tuning at learning rate "
              f"{recovery['learning_rate']:g}, distilled from the baseline with weight {recovery['distill_alpha']:g}"
              ) if recovery else "pruned once, not fine-tuned"
    pattern = f", in the {record['n_m']} pattern" if record["n_m"] else ""
    targets = listing([TARGET_WORDS[t] for t in record["targets"]])
    return (f"{record['method'].capitalize()} pruning of the {targets} kernels to {record['achieved_sparsity']:.1%} "
            f"sparsity ({SCOPE_WORDS[record['scope']]}{pattern}; {tuning})")


def describe_structured(record: dict) -> str:
    recovery = record["recovery"]
    tuning = (f"{plural(record['epochs_run'], 'epoch')} of recovery fine-tuning at learning rate "
              f"{recovery['learning_rate']:g}, distilled from the baseline with weight {recovery['distill_alpha']:g} "
              f"and hidden-state weight {recovery['distill_hidden_weight']:g}") if recovery else "no fine-tuning"
    layers = len(record["heads_per_layer"])
    return (f"Structured pruning to {record['flops_fraction']:.1%} of the encoder's FLOPs (target "
            f"{record['flops_target']:.0%}): {record['heads_kept']} of {record['dense_heads'] * layers} attention "
            f"heads and {record['neurons_kept']:,} of {record['dense_ffn_width'] * layers:,} feed-forward neurons "
            f"kept, ranked by {SCORE_WORDS[record['score']]} on {record['importance_sentences']} training sentences, "
            f"every layer keeping at least {record['min_fraction']:.0%} of each; {tuning}")


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
        chosen[setting] = {"artifact": best, **candidates[best], "speed": speed_cell(ratio),
                           "latency": latency_text(benchmark["artifacts"][best][setting])}
    return chosen


def summary_rows(m: dict, batch: int) -> list[dict]:
    """Every shippable artifact in one row: its dev accuracy, its change against the baseline's (paired, over the
    same sentences), what pruning kept, its size, and its speed-up against the dense TF SavedModel."""
    evaluation, benchmark, deploy = m["evaluation"], m["benchmark"], m["deploy"]["models"]
    labels, reference = m["predictions"]["labels"], m["predictions"]["predictions"]
    rows = []
    for name in SAVED_MODELS:
        record = evaluation[name]
        comparison = evaluation["comparison"].get(name)
        kept = ("dense" if comparison is None else f"{comparison['flops_ratio']:.0%} of the FLOPs"
                if comparison["flops_ratio"] < 0.999 else f"{record['sparsity']['targeted_sparsity']:.0%} sparse")
        size = record["size"]
        rows.append(_summary_row(f"{name}, TF SavedModel", name, record["accuracy"],
                                 comparison and comparison["accuracy_change"], kept,
                                 f"{size['bytes'] / 1e6:.1f} MB ({size['gzip_bytes'] / 1e6:.1f} gzipped)",
                                 benchmark, batch))
        for variant, converted in deploy.get(name, {}).items():
            change = accuracy_change(labels, reference, converted["dev"]["predictions"])
            rows.append(_summary_row(f"{name}, LiteRT {variant}", litert_name(name, variant),
                                     converted["dev"]["accuracy"], change, f"{kept}, {variant} weights",
                                     f"{converted['bytes'] / 1e6:.1f} MB", benchmark, batch))
    return rows


def _summary_row(label, artifact, accuracy, change, kept, size, benchmark, batch) -> dict:
    ratio = benchmark["against_baseline"].get(artifact)
    return {"artifact": label, "name": artifact, "accuracy": f"{accuracy:.4f}",
            "change": "reference" if change is None else change_cell(change), "kept": kept, "size": size,
            "speed1": speed_cell(ratio and ratio["batch1"]),
            "speed_batched": speed_cell(ratio and ratio[f"batch{batch}"])}


def change_cell(change: dict) -> str:
    """A change in points with its paired interval, short enough for a table cell."""
    if change["sentences_changed"] == 0:
        return "+0.00 (the same predictions)"
    low, high = change["ci95_points"]
    verdict = ", no measurable change" if low <= 0 <= high else ""
    return f"{number(change['points'], signed=True)} ({number(low)} to {number(high)}){verdict}"


def speed_cell(ratio: dict | None) -> str:
    """A speed-up with its interval for a table cell: the verdict without its "faster: " prefix."""
    return "reference" if ratio is None else speed_text(ratio).removeprefix("faster: ")
