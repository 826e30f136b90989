"""Render reports/report.html and reports/report.md from the metrics files alone."""

from pathlib import Path

import yaml

from prunelab import stage
from prunelab.files import load_params, read_csv, read_json, with_overrides
from prunelab.reporting import (
    cost_figure,
    pareto_figure,
    render,
    sparsity_figure,
    speed_statement,
    structured_rows,
    summary_rows,
    sweep_figure,
    sweep_rows,
    training_figure,
    units_figure,
)

OUT = Path("reports")


def main():
    params = load_params()
    evaluation = read_json("metrics/evaluation.json")
    data = read_json("metrics/data.json")
    model = read_json("metrics/base_model.json")
    prune_run = read_json("metrics/prune.json")
    batch_size = params["evaluate"]["batch_size"]
    base, pruned = evaluation["baseline"], evaluation["pruned"]
    prune = params["prune"]
    settings = params["evaluate"]

    unstructured = {method: read_json(f"metrics/sweep/{method}.json") for method in params["sweep"]["methods"]}
    structured = read_json("metrics/sweep/structured.json")
    structured_main = next((p for p in structured if p["main"]), None)
    recovery_params = with_overrides(prune, prune["structured"].get("recovery"), "prune.structured.recovery")
    structured_run = prune["method"] == "structured"
    main_run = None
    if not structured_run:
        main_run = {"sparsity": pruned["sparsity"]["targeted_sparsity"], "accuracy": pruned["accuracy"],
                    "label": f"main run: {prune['method']}, {prune['schedule']}, {prune['epochs']} epoch(s) recovery"}

    figures_dir = OUT / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    figures = {
        "training": training_figure(read_csv("metrics/train_steps.csv"), read_csv("metrics/train_epochs.csv"),
                                    read_csv("metrics/prune_steps.csv"), figures_dir),
        "sparsity": (units_figure(prune_run["structured"], figures_dir) if structured_run else
                     sparsity_figure(read_json("metrics/sparsity_per_kernel.json")["pruned"], prune["sparsity"],
                                     figures_dir)),
        "cost": cost_figure(base, pruned, batch_size, figures_dir),
        "sweep": sweep_figure(unstructured, base["accuracy"], main_run, figures_dir),
        "pareto": pareto_figure(evaluation, unstructured, structured, batch_size, figures_dir),
    }
    if structured_main:
        figures["structured_units"] = units_figure(structured_main, figures_dir, "structured_units_per_layer")
    recovery = f"{prune['epochs']} epoch(s) of fine-tuning" if prune["epochs"] else "no fine-tuning"
    headline = (
        f"{prune['method'].capitalize()} pruning ({prune['scope']} ranking, {prune['schedule']} schedule, "
        f"{recovery}) of the {', '.join(prune['targets'])} kernels to "
        f"{pruned['sparsity']['targeted_sparsity']:.1%} sparsity moved validation accuracy from "
        f"{base['accuracy']:.4f} to {pruned['accuracy']:.4f} "
        f"({-evaluation['comparison']['accuracy_drop_points']:+.2f} points) on the "
        f"{data['validation']['rows']} SST-2 validation sentences, after fine-tuning on "
        f"{data['train']['rows']} training sentences."
    )
    machine = evaluation["machine"]
    method = (
        f"How it was measured: each model was loaded from its SavedModel on disk in a fresh process on "
        f"{machine['cpu']} ({machine['cores']} cores, TensorFlow {machine['tensorflow']}). Batch 1: the first "
        f"{settings['latency_sentences']} validation sentences one at a time, each at its own length. Batch "
        f"{batch_size}: the whole validation set in fixed batches in file order, each padded to its longest "
        f"sentence; throughput is sentences per second over those passes. Both: {settings['warmup_passes']} "
        f"untimed pass(es) first (a first call at a new length is slower), then {settings['repeats']} timed "
        "passes, median and 90th percentile over every call. "
        "Peak memory is the largest resident set of the measuring process, of "
        f"which TensorFlow itself held {base['memory']['rss_before_model_mb']:.0f} MB before the model loaded. "
        f"Other processes on the machine kept {base['other_processes_cpu_cores']:.2f} of its {machine['cores']} "
        f"cores busy on average while the baseline was measured, and {pruned['other_processes_cpu_cores']:.2f} "
        "while the pruned model was; anything well above zero inflates the latencies."
    )
    source = data["source"]
    identity = [
        ("SST-2 source", f"{source['kind']}: {source['location']}"),
        *[(f"source {name}", value) for name, value in source["fingerprints"].items()],
        ("checkpoint", f"{model['checkpoint']} ({model['architecture']}, {model['parameters']:,} parameters)"),
        (f"checkpoint {model['weights_file']} sha256", model["weights_sha256"]),
        ("baseline SavedModel sha256", base["sha256"]),
        ("pruned SavedModel sha256", pruned["sha256"]),
    ]
    render({
        "model": model,
        "batch_size": batch_size,
        "headline": headline,
        "summary": summary_rows(evaluation, batch_size),
        "speed_statement": speed_statement(evaluation["comparison"], batch_size,
                                           pruned["sparsity"]["targeted_sparsity"],
                                           flops_ratio=pruned["encoder_gflops"] / base["encoder_gflops"],
                                           structured=structured_run),
        "measurement_method": method,
        "epochs": {"baseline": read_csv("metrics/train_epochs.csv"), "pruning": prune_run["epochs"]},
        "figures": figures,
        "per_encoder_layer": {} if structured_run else pruned["sparsity"]["per_encoder_layer"],
        "sparsity_title": "Units kept" if structured_run else "Sparsity",
        "sweep": sweep_rows(unstructured, structured, base, batch_size),
        "sweep_note": (
            f"Every point starts from the fine-tuned baseline and is pruned one-shot "
            f"({'then fine-tuned as the main run' if params['sweep']['recovery'] else 'no fine-tuning'}). "
            "Unstructured sparsity keeps the dense graph, so those points share the baseline's latency. "
            "Structured points are exported and measured from disk like the main models, each in a fresh process."
        ),
        "structured": structured_main and {
            "rows": structured_rows(base, structured_main, batch_size),
            "note": (
                f"Whole attention heads and FFN neurons removed to {structured_main['flops_fraction']:.1%} of the "
                f"dense encoder's FLOPs (target {structured_main['flops_target']:.0%}, ranked by "
                f"{prune['structured']['score']} importance on {prune['structured']['importance_sentences']} "
                f"training sentences, every layer keeping at least {prune['structured']['min_fraction']:.0%} of its "
                f"heads and neurons), then {recovery_params['epochs']} epoch(s) of fine-tuning (learning rate "
                f"{recovery_params['learning_rate']}, distillation alpha {recovery_params['distill']['alpha']}, "
                f"hidden-state weight {recovery_params['distill'].get('hidden_weight', 0.0)}). "
                "Exported as a SavedModel with smaller kernels and "
                "measured from disk in a fresh process like the main models, but in the sweep_structured stage, "
                "not beside the baseline: the last row says how busy the machine was during each measurement."
                + twin_note(structured, structured_main, batch_size)
            ),
            "epochs": structured_main["epochs"],
        },
        "identity": identity,
        "params_yaml": yaml.safe_dump(params, sort_keys=False).strip(),
    }, OUT)
    print(f"wrote {OUT / 'report.html'} and {OUT / 'report.md'}")


def twin_note(structured: list[dict], main: dict, batch_size: int) -> str:
    """How far apart two measurements of the same shapes came out, when the sweep has such a pair."""
    same = [p for p in structured if not p["main"] and p["heads_per_layer"] == main["heads_per_layer"]
            and p["ffn_widths"] == main["ffn_widths"]]
    if not same:
        return ""
    key = f"latency_batch{batch_size}_ms"
    return (f" The one-shot point at the same target has exactly the same kernel shapes and measured "
            f"{same[0]['latency_batch1_ms']:.2f} ms at batch 1 and {same[0][key]:.1f} ms at batch {batch_size}, "
            f"against {main['latency_batch1_ms']:.2f} and {main[key]:.1f} ms here: that gap is run-to-run noise "
            "on this machine, and the speed-ups above are uncertain by as much.")


if __name__ == "__main__":
    stage.run(main)
