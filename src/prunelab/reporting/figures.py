"""The report's figures, drawn from the metrics files alone; every measured value carries its interval."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402


def _plain_log_axis(axis) -> None:
    """Ticks at 1, 2 and 5 of each decade, labelled as plain numbers (a range under a decade stays readable)."""
    axis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def _save(fig, folder: Path, name: str, legend_space: float = 0.0) -> Path:
    """``legend_space``: the fraction of the figure's height kept free below the axes for a figure legend."""
    path = Path(folder) / f"{name}.png"
    fig.tight_layout(rect=(0, legend_space, 1, 1))
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
    selection = [r["selection_accuracy"] for r in train_epochs]
    if selection:
        inset = loss_ax.inset_axes([0.55, 0.45, 0.4, 0.3])
        inset.plot(range(1, len(selection) + 1), selection, marker="o")
        inset.set_title("baseline selection-set accuracy / epoch", fontsize=7)
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


def units_figure(record: dict, folder: Path) -> Path:
    """Heads and FFN neurons each encoder layer of the structured model kept."""
    layers = range(len(record["heads_per_layer"]))
    fig, (heads_ax, ffn_ax) = plt.subplots(1, 2, figsize=(11, 3.6))
    heads_ax.bar(layers, record["heads_per_layer"], color="C4")
    heads_ax.axhline(record["dense_heads"], color="k", linestyle="--", linewidth=1, label="dense")
    heads_ax.set(xlabel="encoder layer", ylabel="attention heads kept", title="Heads per layer")
    ffn_ax.bar(layers, record["ffn_widths"], color="C4")
    ffn_ax.axhline(record["dense_ffn_width"], color="k", linestyle="--", linewidth=1, label="dense")
    ffn_ax.set(xlabel="encoder layer", ylabel="FFN neurons kept", title="FFN width per layer")
    heads_ax.legend()
    return _save(fig, folder, "structured_units_per_layer")


def _short_kernel(name: str) -> str:
    parts = [p for p in name.replace("layer_._", "L").split("/") if p not in ("bert", "distilbert", "encoder",
                                                                              "transformer", "kernel", "dense")]
    return "/".join(parts)


def sweep_figure(curves: dict[str, list[dict]], baseline: dict, folder: Path) -> Path:
    """Dev accuracy against sparsity, a line a method, each point with its 95% interval."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for method, points in curves.items():
        x = [p["x"] for p in points]
        y = [p["accuracy"] for p in points]
        errors = [[p["accuracy"] - p["ci"][0] for p in points], [p["ci"][1] - p["accuracy"] for p in points]]
        ax.errorbar(x, y, yerr=errors, marker="o", capsize=3, label=method)
    ax.axhspan(*baseline["ci"], color="k", alpha=0.08, label="dense baseline (95% CI)")
    ax.axhline(baseline["accuracy"], color="k", linestyle="--", linewidth=1)
    ax.set(xlabel="sparsity of the targeted kernels (structured: 1 − fraction of encoder FLOPs kept)",
           ylabel="SST-2 dev accuracy", title="Pruned once from the baseline, no fine-tuning")
    ax.legend(fontsize=8)
    return _save(fig, folder, "accuracy_vs_sparsity")


def frontier_figure(recovered: dict[str, list[dict]], one_shot: dict[str, list[dict]], baseline_accuracy: float,
                    folder: Path) -> Path | None:
    """Change in dev accuracy against sparsity: each method recovered (solid, with paired 95% intervals) beside
    the same method pruned once without fine-tuning (dashed, from the sweep), in the same colour."""
    if not recovered:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.6))
    colours = {method: f"C{i}" for i, method in enumerate(dict.fromkeys([*recovered, *one_shot]))}
    for i, (method, points) in enumerate(recovered.items()):
        # methods at one sparsity stand a hair apart, so that their intervals do not hide each other
        dodge = (i - (len(recovered) - 1) / 2) * 0.005
        x, y = [p["x"] + dodge for p in points], [p["change"] for p in points]
        errors = [[p["change"] - p["ci"][0] for p in points], [p["ci"][1] - p["change"] for p in points]]
        ax.errorbar(x, y, yerr=errors, marker="o", capsize=3, color=colours[method], label=f"{method}, recovered")
    for method, points in one_shot.items():
        name = "width" if method == "structured" else method
        ax.plot([p["x"] for p in points], [100 * (p["accuracy"] - baseline_accuracy) for p in points],
                linestyle="--", marker=".", alpha=0.6, color=colours.get(name, colours[method]),
                label=f"{name}, one-shot")
    ax.axhline(0, color="k", linewidth=1)
    for limit in (-1.0, -1.5, -3.0):
        ax.axhline(limit, color="0.6", linewidth=0.8, linestyle=":")
    low = min([p["ci"][0] for points in recovered.values() for p in points] + [-5.0])
    ax.set(ylim=(max(low - 1, -20), 2), xlabel="sparsity of the targeted kernels (structured: 1 − fraction of "
           "encoder FLOPs kept)", ylabel="change in SST-2 dev accuracy (points)",
           title="How far each method prunes: recovered, and pruned once")
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8, frameon=False)
    return _save(fig, folder, "frontier", legend_space=0.14)


MODEL_COLOURS = {"baseline": "C0", "pruned": "C1", "structured": "C2"}
RUNTIME_MARKERS = {"TF SavedModel": "s", "LiteRT fp32": "o", "LiteRT fp16": "D", "LiteRT int8": "^"}


def latency_figure(points: list[dict], batch_sizes: list[int], folder: Path) -> Path:
    """Dev accuracy against median latency for every artifact, both with their 95% intervals: a colour a model,
    a marker a runtime, and one legend below the panels, clear of the data."""
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, len(batch_sizes), figsize=(6 * len(batch_sizes), 4.6))
    for ax, batch in zip(axes, batch_sizes):
        for p in points:
            latency = p["latency"][batch]
            ax.errorbar([latency["median_ms"]], [p["accuracy"]], fmt=RUNTIME_MARKERS[p["runtime"]], capsize=3,
                        markersize=7, color=MODEL_COLOURS[p["model"]],
                        xerr=[[latency["median_ms"] - latency["ci95"][0]], [latency["ci95"][1] - latency["median_ms"]]],
                        yerr=[[p["accuracy"] - p["ci"][0]], [p["ci"][1] - p["accuracy"]]])
        ax.set(xscale="log", xlabel=f"median latency a call, batch {batch} (ms, log scale)",
               ylabel="SST-2 dev accuracy", title=f"Accuracy against latency, batch {batch}")
        _plain_log_axis(ax.xaxis)
    models = dict.fromkeys(p["model"] for p in points)
    runtimes = [r for r in RUNTIME_MARKERS if any(p["runtime"] == r for p in points)]
    handles = ([Line2D([], [], color=MODEL_COLOURS[m], marker="o", linestyle="", label=m) for m in models]
               + [Line2D([], [], color="0.35", marker=RUNTIME_MARKERS[r], linestyle="", label=r) for r in runtimes])
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    return _save(fig, folder, "accuracy_vs_latency", legend_space=0.1)


def length_figure(rows: list[dict], folder: Path) -> Path:
    """Median latency against sequence length, one line an artifact, a panel a batch size."""
    batches = sorted({r["batch"] for r in rows})
    if not batches:
        fig, ax = plt.subplots(figsize=(6, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no length sweep: benchmark.length_sweep names no model", ha="center", va="center")
        return _save(fig, folder, "latency_vs_length")
    fig, axes = plt.subplots(1, len(batches), figsize=(6 * len(batches), 4.2), squeeze=False)
    for ax, batch in zip(axes[0], batches):
        chosen = [r for r in rows if r["batch"] == batch]
        for index, name in enumerate(dict.fromkeys(r["artifact"] for r in chosen)):
            line = sorted((r for r in chosen if r["artifact"] == name), key=lambda r: r["length"])
            ax.errorbar([r["length"] for r in line], [r["median_ms"] for r in line], capsize=3, marker="o",
                        yerr=[[r["median_ms"] - r["ci95"][0] for r in line],
                              [r["ci95"][1] - r["median_ms"] for r in line]],
                        color=f"C{index % 10}", label=name)
        ax.set(xscale="log", yscale="log", xlabel="tokens a sentence", ylabel="median latency a call (ms)",
               title=f"Latency against length, batch {batch}")
        _plain_log_axis(ax.yaxis)
        ax.set_xticks([r["length"] for r in chosen], [str(r["length"]) for r in chosen])
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    axes[0][-1].legend(fontsize=7)
    return _save(fig, folder, "latency_vs_length")
