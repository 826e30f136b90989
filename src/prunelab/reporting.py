"""The report: figures from the metrics files, then Jinja2 renders HTML and Markdown.

Nothing here loads a model; every number comes from a file a stage wrote.
"""

from __future__ import annotations

import base64
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from jinja2 import Environment, PackageLoader, StrictUndefined  # noqa: E402

# Within this band a latency ratio is run-to-run noise, not a change: repeated measurements of the
# same SavedModel on the 2-core development machine moved its median latency by 10% and more.
NOISE_BAND = 0.10


def speed_statement(comparison: dict, batch_size: int, targeted_sparsity: float, flops_ratio: float = 1.0,
                    structured: bool = False) -> str:
    """What the measured speed figures mean, worded from the figures themselves."""
    speedups = {1: comparison["speedup_batch1"], batch_size: comparison[f"speedup_batch{batch_size}"]}

    def verdict(ratio):
        if abs(ratio - 1) <= NOISE_BAND:
            return f"{ratio:.2f}× (no change beyond run-to-run noise)"
        return f"{ratio:.2f}× ({'faster' if ratio > 1 else 'slower'})"

    measured = (f"Measured speed-up of the median latency: batch 1 {verdict(speedups[1])}, batch {batch_size} "
                f"{verdict(speedups[batch_size])}.")
    if structured:
        return (
            "The pruned model has whole attention heads and FFN neurons removed: its kernels are smaller, so the "
            f"encoder does {flops_ratio:.2f}× the baseline's FLOPs a sentence (counted from the exported kernel "
            f"shapes). {measured} Latency falls less than FLOPs where the remaining cost is not in those matrix "
            "multiplies (embeddings, LayerNorms, softmax, framework overhead), which weighs most at batch 1."
        )
    return (
        f"The pruned model sets {targeted_sparsity:.1%} of the targeted kernel weights to zero, but the zeros sit "
        "inside dense float32 kernels: TensorFlow's CPU matrix multiply does the same work for a zero as for any "
        "other number, and the exported SavedModel has the same shapes and the same operations as the baseline. "
        f"{measured} What unstructured zeros do buy is compressibility: the gzip-compressed "
        f"SavedModel is {comparison['gzip_size_ratio']:.2f}× the baseline's, while the raw size on disk is "
        f"{comparison['size_ratio']:.2f}×. Faster inference needs the zeros removed from the computation: "
        "structured pruning (whole heads or FFN neurons, smaller matrices) or a runtime with sparse kernels."
    )


def _comparison_row(measure: str, baseline: str, pruned: str, change: str) -> dict:
    """One row of a baseline-against-pruned table, each value already formatted."""
    return {"measure": measure, "baseline": baseline, "pruned": pruned, "change": change}


def summary_rows(evaluation: dict, batch_size: int) -> list[dict]:
    """Baseline against pruned, one row a measure, each value already formatted."""
    base, pruned, comp = evaluation["baseline"], evaluation["pruned"], evaluation["comparison"]
    b32 = f"latency_batch{batch_size}"
    row = _comparison_row

    def mb(n):
        return f"{n / 1e6:.1f} MB"

    return [
        row("Validation accuracy", f"{base['accuracy']:.4f}", f"{pruned['accuracy']:.4f}",
            f"{-comp['accuracy_drop_points']:+.2f} points"),
        row("Validation F1", f"{base['f1']:.4f}", f"{pruned['f1']:.4f}", f"{-comp['f1_drop_points']:+.2f} points"),
        row("Sparsity of targeted kernels", f"{base['sparsity']['targeted_sparsity']:.2%}",
            f"{pruned['sparsity']['targeted_sparsity']:.2%}", ""),
        row("Sparsity of the whole model", f"{base['sparsity']['model_sparsity']:.2%}",
            f"{pruned['sparsity']['model_sparsity']:.2%}", ""),
        row(f"Encoder GFLOPs a sentence ({base['flops_length']:.0f} tokens)", f"{base['encoder_gflops']:.3f}",
            f"{pruned['encoder_gflops']:.3f}", f"{pruned['encoder_gflops'] / base['encoder_gflops']:.2f}×"),
        row("Parameters (nonzero / all)",
            f"{base['sparsity']['nonzero_parameters']:,} / {base['sparsity']['parameters']:,}",
            f"{pruned['sparsity']['nonzero_parameters']:,} / {pruned['sparsity']['parameters']:,}", ""),
        row("Latency, batch 1 (median / p90)",
            f"{base['latency_batch1']['median_ms']:.2f} / {base['latency_batch1']['p90_ms']:.2f} ms",
            f"{pruned['latency_batch1']['median_ms']:.2f} / {pruned['latency_batch1']['p90_ms']:.2f} ms",
            f"{comp['speedup_batch1']:.2f}× speed-up"),
        row(f"Latency, batch {batch_size} (median / p90)",
            f"{base[b32]['median_ms']:.1f} / {base[b32]['p90_ms']:.1f} ms",
            f"{pruned[b32]['median_ms']:.1f} / {pruned[b32]['p90_ms']:.1f} ms",
            f"{comp[f'speedup_batch{batch_size}']:.2f}× speed-up"),
        row("Throughput (validation set)", f"{base['throughput_sentences_per_s']:.0f} sentences/s",
            f"{pruned['throughput_sentences_per_s']:.0f} sentences/s", f"{comp['throughput_ratio']:.2f}×"),
        row("SavedModel size on disk", mb(base["size"]["bytes"]), mb(pruned["size"]["bytes"]),
            f"{comp['size_ratio']:.2f}×"),
        row("SavedModel size, tar + gzip", mb(base["size"]["gzip_bytes"]), mb(pruned["size"]["gzip_bytes"]),
            f"{comp['gzip_size_ratio']:.2f}×"),
        row("Peak memory (RSS of the measuring process)", f"{base['memory']['peak_rss_mb']:.0f} MB",
            f"{pruned['memory']['peak_rss_mb']:.0f} MB", f"{comp['peak_rss_ratio']:.2f}×"),
    ]


def structured_rows(baseline: dict, point: dict, batch_size: int) -> list[dict]:
    """The dense baseline against the fine-tuned structured model (a sweep point measured from disk)."""
    b32 = f"latency_batch{batch_size}"
    row = _comparison_row
    return [
        row("Validation accuracy", f"{baseline['accuracy']:.4f}", f"{point['accuracy']:.4f}",
            f"{(point['accuracy'] - baseline['accuracy']) * 100:+.2f} points"),
        row("Validation F1", f"{baseline['f1']:.4f}", f"{point['f1']:.4f}",
            f"{(point['f1'] - baseline['f1']) * 100:+.2f} points"),
        row(f"Encoder GFLOPs a sentence ({baseline['flops_length']:.0f} tokens)", f"{baseline['encoder_gflops']:.3f}",
            f"{point['encoder_gflops']:.3f}", f"{point['encoder_gflops'] / baseline['encoder_gflops']:.2f}×"),
        row("Parameters", f"{baseline['sparsity']['parameters']:,}", f"{point['parameters']:,}",
            f"{point['parameters'] / baseline['sparsity']['parameters']:.2f}×"),
        row("Latency, batch 1 (median)", f"{baseline['latency_batch1']['median_ms']:.2f} ms",
            f"{point['latency_batch1_ms']:.2f} ms",
            f"{baseline['latency_batch1']['median_ms'] / point['latency_batch1_ms']:.2f}× speed-up"),
        row(f"Latency, batch {batch_size} (median)", f"{baseline[b32]['median_ms']:.1f} ms",
            f"{point[f'{b32}_ms']:.1f} ms", f"{baseline[b32]['median_ms'] / point[f'{b32}_ms']:.2f}× speed-up"),
        row("Throughput (validation set)", f"{baseline['throughput_sentences_per_s']:.0f} sentences/s",
            f"{point['throughput_sentences_per_s']:.0f} sentences/s",
            f"{point['throughput_sentences_per_s'] / baseline['throughput_sentences_per_s']:.2f}×"),
        row("SavedModel size on disk", f"{baseline['size']['bytes'] / 1e6:.1f} MB",
            f"{point['size_bytes'] / 1e6:.1f} MB", f"{point['size_bytes'] / baseline['size']['bytes']:.2f}×"),
        row("Other processes' CPU use while measured", f"{baseline['other_processes_cpu_cores']:.2f} cores",
            f"{point['other_processes_cpu_cores']:.2f} cores", ""),
    ]


def sweep_rows(unstructured: dict[str, list[dict]], structured: list[dict], baseline: dict, batch_size: int):
    """Every sweep point, formatted; unstructured latencies are the baseline's (same graph)."""

    def row(method, setting, point, latency1, latency32, parameters):
        return {"method": method, "setting": setting, "accuracy": f"{point['accuracy']:.4f}",
                "change": f"{(point['accuracy'] - baseline['accuracy']) * 100:+.2f}", "latency1": latency1,
                "latency32": latency32, "parameters": parameters, "recovery": "yes" if point["recovery"] else "no"}

    rows = [row(method, f"{p['sparsity']:.0%} sparsity", p, "= baseline", "= baseline", "= baseline")
            for method, points in unstructured.items() for p in points]
    rows += [row("structured", f"{p['flops_fraction']:.1%} of encoder FLOPs{' (main)' if p['main'] else ''}", p,
                 f"{p['latency_batch1_ms']:.2f} ms", f"{p[f'latency_batch{batch_size}_ms']:.1f} ms",
                 f"{p['parameters']:,}") for p in structured]
    return rows


def _save(fig, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def training_figure(train_steps, train_epochs, prune_steps, folder: Path) -> Path:
    fig, (loss_ax, sparsity_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    loss_ax.plot([r["step"] for r in train_steps], [r["loss"] for r in train_steps], label="baseline fine-tuning")
    if prune_steps and "loss" in prune_steps[0]:
        loss_ax.plot([r["step"] for r in prune_steps], [r["loss"] for r in prune_steps], label="pruning fine-tuning")
    loss_ax.set(xlabel="step", ylabel="training loss (running mean)", title="Training loss")
    loss_ax.legend()
    if prune_steps and "sparsity" in prune_steps[0]:
        sparsity_ax.plot([r["step"] for r in prune_steps], [r["sparsity"] for r in prune_steps], color="C3",
                         marker="." if len(prune_steps) < 3 else None)
    sparsity_ax.set(xlabel="pruning step", ylabel="sparsity of targeted kernels", title="Sparsity schedule",
                    ylim=(0, 1))
    val = [r["val_accuracy"] for r in train_epochs]
    if val:
        inset = loss_ax.inset_axes([0.55, 0.45, 0.4, 0.3])
        inset.plot(range(1, len(val) + 1), val, marker="o")
        inset.set_title("baseline val. accuracy / epoch", fontsize=7)
        inset.tick_params(labelsize=6)
    return _save(fig, folder, "training")


def sparsity_figure(per_kernel: dict, target: float, folder: Path) -> Path:
    names = list(per_kernel)
    fig, ax = plt.subplots(figsize=(11, 3.8))
    ax.bar(range(len(names)), [per_kernel[n] for n in names], color="C2")
    ax.axhline(target, color="k", linestyle="--", linewidth=1, label=f"target {target:.0%}")
    ax.set_xticks(range(len(names)), [_short_kernel(n) for n in names], rotation=90, fontsize=6)
    ax.set(ylabel="fraction of zeros", title="Sparsity per kernel in the exported pruned model", ylim=(0, 1))
    ax.legend()
    return _save(fig, folder, "sparsity_per_kernel")


def units_figure(structured: dict, folder: Path, name: str = "units_per_layer") -> Path:
    """Heads and FFN neurons each encoder layer kept (structured pruning)."""
    layers = range(len(structured["heads_per_layer"]))
    fig, (heads_ax, ffn_ax) = plt.subplots(1, 2, figsize=(11, 3.6))
    heads_ax.bar(layers, structured["heads_per_layer"], color="C4")
    heads_ax.axhline(structured["dense_heads"], color="k", linestyle="--", linewidth=1, label="dense")
    heads_ax.set(xlabel="encoder layer", ylabel="attention heads kept", title="Heads per layer")
    ffn_ax.bar(layers, structured["ffn_widths"], color="C4")
    ffn_ax.axhline(structured["dense_ffn_width"], color="k", linestyle="--", linewidth=1, label="dense")
    ffn_ax.set(xlabel="encoder layer", ylabel="FFN neurons kept", title="FFN width per layer")
    heads_ax.legend()
    return _save(fig, folder, name)


def _short_kernel(name: str) -> str:
    parts = [p for p in name.replace("layer_._", "L").split("/") if p not in ("bert", "distilbert", "encoder",
                                                                              "transformer", "kernel", "dense")]
    return "/".join(parts)


def cost_figure(baseline: dict, pruned: dict, batch_size: int, folder: Path) -> Path:
    panels = [
        ("batch-1 latency (ms, median)", lambda m: m["latency_batch1"]["median_ms"]),
        (f"batch-{batch_size} latency (ms, median)", lambda m: m[f"latency_batch{batch_size}"]["median_ms"]),
        ("SavedModel size (MB)", lambda m: m["size"]["bytes"] / 1e6),
        ("gzip-compressed size (MB)", lambda m: m["size"]["gzip_bytes"] / 1e6),
        ("peak memory (MB RSS)", lambda m: m["memory"]["peak_rss_mb"]),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 3.2))
    for ax, (title, value) in zip(axes, panels):
        values = [value(baseline), value(pruned)]
        ax.bar(["baseline", "pruned"], values, color=["C0", "C1"])
        ax.set_title(title, fontsize=9)
        for x, v in enumerate(values):
            ax.annotate(f"{v:.1f}", (x, v), ha="center", va="bottom", fontsize=8)
    return _save(fig, folder, "cost")


def sweep_figure(unstructured: dict[str, list[dict]], baseline_accuracy: float, main_run: dict | None,
                 folder: Path) -> Path:
    """Accuracy against sparsity, a line a method, the dense baseline as a reference."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for method, points in unstructured.items():
        ax.plot([p["sparsity"] for p in points], [p["accuracy"] for p in points], marker="o", label=method)
    ax.axhline(baseline_accuracy, color="k", linestyle="--", linewidth=1, label="dense baseline")
    if main_run:
        ax.scatter([main_run["sparsity"]], [main_run["accuracy"]], marker="*", s=180, color="C3", zorder=5,
                   label=main_run["label"])
    ax.set(xlabel="sparsity of the targeted kernels", ylabel="validation accuracy",
           title="One-shot pruning, no fine-tuning (star: the main run, with recovery)")
    ax.legend(fontsize=8)
    return _save(fig, folder, "accuracy_vs_sparsity")


def pareto_figure(evaluation: dict, unstructured: dict[str, list[dict]], structured: list[dict], batch_size: int,
                  folder: Path) -> Path:
    """Accuracy against measured latency at batch 1 and batch ``batch_size``."""
    base, pruned = evaluation["baseline"], evaluation["pruned"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, key in zip(axes, ("latency_batch1", f"latency_batch{batch_size}")):
        ax.scatter([base[key]["median_ms"]], [base["accuracy"]], marker="s", s=70, color="k", label="dense baseline")
        ax.scatter([pruned[key]["median_ms"]], [pruned["accuracy"]], marker="*", s=180, color="C3",
                   label="main pruned run")
        for index, (method, points) in enumerate(unstructured.items()):
            # Same graph as the baseline, so the baseline's measured latency.
            ax.scatter([base[key]["median_ms"]] * len(points), [p["accuracy"] for p in points], marker="o",
                       facecolors="none", edgecolors=f"C{index}", label=f"{method} (one-shot; dense latency)")
        curve = [p for p in structured if not p["main"]]
        if curve:
            ax.plot([p[f"{key}_ms"] for p in curve], [p["accuracy"] for p in curve], marker="D", color="C4",
                    label=f"structured{'' if curve[0]['recovery'] else ', no fine-tuning'} (measured)")
        for p in structured:
            if p["main"]:
                ax.scatter([p[f"{key}_ms"]], [p["accuracy"]], marker="*", s=180, color="C4", zorder=5,
                           label="structured, fine-tuned (measured)")
            ax.annotate(f"{p['flops_fraction']:.0%} FLOPs", (p[f"{key}_ms"], p["accuracy"]), fontsize=7,
                        textcoords="offset points", xytext=(4, 4))
        ax.set(xlabel=f"median latency, batch {key.removeprefix('latency_batch')} (ms)",
               ylabel="validation accuracy")
    axes[0].set_title("Accuracy against latency, batch 1")
    axes[1].set_title(f"Accuracy against latency, batch {batch_size}")
    axes[1].legend(fontsize=7, loc="lower right")
    return _save(fig, folder, "accuracy_vs_latency")


def render(context: dict, out_dir: Path) -> None:
    """Write report.html (figures inlined) and report.md (figures linked) into ``out_dir``."""
    env = Environment(loader=PackageLoader("prunelab", "templates"), undefined=StrictUndefined,
                      autoescape=lambda name: name.endswith(".html.j2"), trim_blocks=True, lstrip_blocks=True)
    inline = {name: base64.b64encode(Path(path).read_bytes()).decode() for name, path in context["figures"].items()}
    links = {name: Path(path).relative_to(out_dir).as_posix() for name, path in context["figures"].items()}
    html = env.get_template("report.html.j2").render(**context, images=inline)
    markdown = env.get_template("report.md.j2").render(**context, images=links)
    for name, text in (("report.html", html), ("report.md", markdown)):
        staging = out_dir / f"{name}.partial"
        staging.write_text(text)
        staging.replace(out_dir / name)
