"""What the report says, as a pure function of the metrics files and the validated params.

``build_context`` reads nothing and runs nothing, so it is tested on small hand-made
metrics. The facts of each run (recipe, epochs run, recovery settings, units kept)
come from the run records the stages wrote, never from params.yaml.
"""

from __future__ import annotations

import yaml
from pydantic import ValidationError

from prunelab.measurement.accuracy import accuracy_interval
from prunelab.measurement.benchmark.machine import describe_others
from prunelab.params import Params
from prunelab.reporting.tables import (
    accuracy_text,
    change_text,
    deployment_rows,
    describe_pruned,
    describe_structured,
    litert_name,
    model_rows,
    recommendation,
    speed_text,
    summary_rows,
)
from prunelab.seeds import spread


def build_context(m: dict, params: Params, figures: dict) -> dict:
    """``m``: every metrics file by name (see ``stages/report.py``); ``figures``: figure name → path."""
    batch = params.benchmark.batch_size
    evaluation, benchmark = m["evaluation"], m["benchmark"]
    selection = {"baseline": m["train_epochs"][-1]["selection_accuracy"],
                 "pruned": m["prune"]["selection_accuracy"], "structured": m["structured"]["selection_accuracy"]}
    chosen = recommendation(_candidates(m, selection), benchmark, batch, params.deploy.recommend_within_points)
    return {
        "checkpoint": m["base_model"]["checkpoint"],
        "banner": banner(m["provenance"], benchmark, params.report.quick_look),
        "quick_look": quick_look_text(params) if params.report.quick_look else None,
        "summary": summary_rows(m, batch),
        "recommendation": chosen,
        "recommend_within_points": params.deploy.recommend_within_points,
        "seeds": seed_summary(m["seeds"], m["this_run"], params),
        "splits": split_rows(m["data"]),
        "columns": ["Baseline", "Pruned", "Structured"],
        "models": model_rows(evaluation, benchmark, selection, batch),
        "aa": aa_text(benchmark["aa"], batch, benchmark["machine"]),
        "deployment": deployment_rows(m["deploy"], benchmark, evaluation, batch),
        "deploy_gate": (f"Each LiteRT variant was kept only if its selection-set accuracy was within "
                        f"{m['deploy']['max_accuracy_drop']:g} accuracy points of the SavedModel it was converted "
                        "from."),
        "batch_size": batch,
        "contributions": contributions(benchmark["against_baseline"], batch),
        "speed_note": speed_note(evaluation),
        "measurement": measurement_text(benchmark, evaluation["machine"], batch),
        "throughput": throughput_text(m["train"]["throughput"]),
        "epochs": {"baseline": m["train_epochs"], "pruned": m["prune"]["epochs"],
                   "structured": m["structured"]["epochs"]},
        "pruned_recipe": describe_pruned(m["prune"]),
        "structured_recipe": describe_structured(m["structured"]),
        "per_encoder_layer": evaluation["pruned"]["sparsity"]["per_encoder_layer"],
        "sweep": sweep_rows(m["sweep"]),
        "sweep_note": (
            "Every point starts from the fine-tuned baseline and is pruned once "
            f"({'then fine-tuned like the main run' if params.sweep.recovery else 'no fine-tuning'}), measured in "
            "memory on SST-2 dev; each change is paired against the baseline's predictions on the same sentences."),
        "figures": figures,
        "identity": identity_rows(m),
        "params_yaml": yaml.safe_dump(params.model_dump(), sort_keys=False).strip(),
    }


def quick_look_text(params: Params) -> str:
    data, sweep = params.data, params.sweep
    return (f"A quick look (`make quick`), not the default run: {data.train_size} training sentences, "
            f"{params.train.epochs} training epoch(s), {data.selection_size} selection sentences, sweeps at "
            f"{', '.join(f'{s:g}' for s in sweep.sparsities)} sparsity, {params.benchmark.rounds} benchmark rounds. "
            "Read it for whether a change runs and which way it points; every figure below is from this small slice "
            "(dev is the whole of SST-2 dev), and its stages ran two at a time (the benchmarks alone), so their "
            "seconds and training throughput are not the default run's. `make repro` gives the default run's figures.")


def banner(provenance: dict, benchmark: dict, quick_look: bool) -> dict:
    """What a reader must know before any figure: which code, when, on what CPU, which kind of run, and
    whether the benchmark's own noise check passed."""
    host, aa = benchmark["machine"], benchmark["aa"]
    return {"run": "Quick look" if quick_look else "Full run", "commit": provenance["commit"],
            "uncommitted": provenance["uncommitted"], "rendered": provenance["rendered"], "cpu": host["cpu"],
            "cores": host["cores"], "aa_passed": aa["passed"], "aa_halfwidth": f"{aa['max_halfwidth']:.0%}"}


def contributions(against: dict, batch: int) -> list[str]:
    """What each step adds, every one against the dense TF SavedModel: the runtime, then int8, then structure."""
    steps = [("the LiteRT runtime alone (baseline, fp32)", "baseline_fp32_litert"),
             ("+ int8 weights (baseline, int8)", "baseline_int8_litert"),
             ("+ structured pruning (structured, int8)", "structured_int8_litert"),
             ("+ unstructured zeros instead (pruned, int8)", "pruned_int8_litert")]
    return [f"{label}: batch 1 {speed_text(against[name]['batch1'])}; batch {batch} "
            f"{speed_text(against[name][f'batch{batch}'])}" for label, name in steps if name in against]


def split_rows(data: dict) -> list[dict]:
    roles = {"train": "fine-tuning and recovery", "selection": "every choice: epochs, recipes, gates, what to ship",
             "dev": "the reported test set; nothing is chosen on it"}

    def share(value):
        return "–" if value is None else f"{value:.1%}"

    return [{"split": split, "rows": data[split]["rows"], "role": role,
             "tokens": f"{data[split]['tokens_mean']:.1f}", "whole": share(data[split]["whole_sentence_fraction"]),
             "shares2": share(data[split]["shares_training_phrase_2_words"]),
             "shares3": share(data[split]["shares_training_phrase_3_words"])} for split, role in roles.items()]


def seed_summary(record: dict, this_run: dict[str, float | None], params: Params) -> dict | None:
    """The headline figures of this run beside their mean ± sd over it and the seed experiments of the same
    recipe (``make seeds``, ``metrics/seeds.json``); None when there are none. An experiment whose params
    differ from this run's in more than the seed is left out, and counted."""
    runs = [r for r in record["runs"] if r["seed"] != params.seed]
    same = [r for r in runs if _same_recipe(r["params"], params)]
    if not same:
        return None
    by_seed = {params.seed: this_run} | {r["seed"]: r["measures"] for r in same}
    rows = [{"measure": row["measure"], "this_run": _figure(row["measure"], this_run.get(row["measure"])),
             "spread": "–" if row["sd"] is None else
             f"{_figure(row['measure'], row['mean'])} ± {_figure(row['measure'], row['sd'], signed=False)}"}
            for row in spread(by_seed)]
    return {"seeds": ", ".join(str(seed) for seed in sorted(by_seed)), "n": len(by_seed), "seed": params.seed,
            "commit": record["commit"][:10], "left_out": len(runs) - len(same), "rows": rows}


def _same_recipe(raw: dict, params: Params) -> bool:
    try:
        other = Params.model_validate(raw)
    except ValidationError:  # written by an older schema: not the same recipe
        return False
    return other.model_dump(exclude={"seed"}) == params.model_dump(exclude={"seed"})


def _figure(measure: str, value: float | None, signed: bool = True) -> str:
    if value is None:
        return "–"
    if "points" in measure:
        return f"{value:+.2f}" if signed else f"{value:.2f}"
    if "speed-up" in measure:
        return f"{value:.2f}×" if signed else f"{value:.2f}"
    return f"{value:.4f}"


def aa_text(aa: dict, batch: int, machine: dict) -> str:
    """The A/A sentence; when the check failed, what else used the CPU (not the stage's warning,
    which repeats the intervals)."""
    parts = [f"batch 1 {speed_text(aa['batch1'])}", f"batch {batch} {speed_text(aa[f'batch{batch}'])}"]
    status = f"within the ±{aa['max_halfwidth']:.0%} the stage accepts"
    if not aa["passed"]:
        status = (f"outside the ±{aa['max_halfwidth']:.0%} the stage accepts, so every speed verdict of this run is "
                  f"less certain than its own interval says ({describe_others(machine, machine['cores'])} meanwhile)")
    return (f"The baseline timed against a second, separately loaded copy of itself (the A/A check, this run's "
            f"noise floor): {'; '.join(parts)}; {status}.")


def speed_note(evaluation: dict) -> str:
    pruned, structured = (evaluation["comparison"][n] for n in ("pruned", "structured"))
    return (
        "Unstructured pruning leaves zeros inside dense float32 kernels; TensorFlow's and LiteRT's CPU kernels do the "
        f"same work for a zero as for any other number, so the pruned model ({pruned['flops_ratio']:.2f}× the "
        "baseline's encoder FLOPs, counted from the exported kernel shapes) is not expected to be faster. What the "
        f"zeros buy is compressibility: its tar+gzip SavedModel is {pruned['gzip_size_ratio']:.2f}× the baseline's. "
        f"The structured model's kernels are smaller ({structured['flops_ratio']:.2f}× the FLOPs, "
        f"{structured['parameter_ratio']:.2f}× the parameters); its latency falls less than its FLOPs where the "
        "remaining cost is not in those matrix multiplies (embeddings, LayerNorms, softmax, per-call overhead), "
        "which weighs most at batch 1 and at short lengths (see latency against length).")


def measurement_text(benchmark: dict, machine: dict, batch: int) -> str:
    settings, host, runs = benchmark["settings"], benchmark["machine"], benchmark["runs"]
    inputs = settings["inputs"]
    busy = ", ".join(f"{run['machine']['other_processes_cpu_cores']:.2f} during the {model} stage's "
                     f"{run['machine']['elapsed_s']:.0f} s (1-minute load average "
                     f"{run['machine']['load_average_before'][0]:.2f} before, "
                     f"{run['machine']['load_average_after'][0]:.2f} after)" for model, run in runs.items())
    return (
        f"The benchmark is a stage a model ({', '.join(runs)}): each loaded the baseline and that model's artifacts "
        f"from disk into long-lived worker processes, one an artifact, on {host['cpu']} ({host['cores']} cores, "
        f"TensorFlow {machine['tensorflow']}), {settings['threads']['intra_op']} intra-op thread(s) and "
        f"{settings['threads']['inter_op']} inter-op thread each, so every speed-up is timed side by side with the "
        f"baseline in the same rounds; the baseline's latency and the A/A check come from the baseline's stage. "
        f"After one untimed call at every input, {settings['rounds']} rounds timed every artifact in a shuffled "
        f"order, each round keeping the fastest of {settings['passes']} back-to-back passes (interference only adds "
        f"time): batch 1 is {inputs['batch1']['calls_per_round']} SST-2 dev sentences one at a time, each at its own "
        f"length; batch {batch} one batch of {batch} dev sentences padded to its longest. Latency is the median over "
        "rounds of the time a call, with a distribution-free 95% interval; a speed-up is the baseline's median over "
        "the artifact's, with a 95% paired bootstrap interval over rounds, worded faster or slower only when the "
        f"interval leaves out 1. Other processes used on average, of the {host['cores']} cores, {busy}."
        f"{length_sweep_text(benchmark['by_length'], settings['length_rounds'])}")


def length_sweep_text(rows: list[dict], rounds: int) -> str:
    timed = list(dict.fromkeys(r["artifact"] for r in rows))
    if not timed:
        return " No length sweep ran (benchmark.length_sweep names no model)."
    lengths = ", ".join(str(n) for n in sorted({r["length"] for r in rows}))
    return (f" The length sweep timed {', '.join(timed)} at {lengths} tokens, {rounds} rounds of one pass "
            "(benchmark.length_sweep: the pruned model runs the baseline's graphs, so it is left out by default).")


def throughput_text(t: dict) -> str:
    return (f"The baseline's fine-tuning ran at {t['sentences_per_second']:.0f} training sentences/s "
            f"({t['padded_tokens_per_second']:.0f} tokens/s, padded to {t['mean_padded_length']:.1f} tokens a sentence "
            f"on average): {t['gflops_per_second']:.0f} GFLOP/s counting a step as three forward passes, "
            f"{t['fraction_of_roofline']:.0%} of the {t['matmul_roofline_gflops_per_second']:.0f} GFLOP/s a large "
            "float32 matrix product reached in the same process right after (the roofline, `make bench`).")


def sweep_rows(sweep: dict[str, list[dict]]) -> list[dict]:
    rows = []
    for method, points in sweep.items():
        for p in points:
            run = p["run"]
            setting = (f"{run['flops_fraction']:.1%} of encoder FLOPs" if run["kind"] == "structured"
                       else f"{run['achieved_sparsity']:.0%} sparsity")
            rows.append({"method": method, "setting": setting, "accuracy": accuracy_text(p["accuracy"], p["sentences"]),
                         "change": change_text(p["accuracy_change"]),
                         "parameters": f"{p['sparsity']['nonzero_parameters']:,}",
                         "recovery": "yes" if run["recovery"] else "no"})
    return rows


def sweep_curves(sweep: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Each method's points for the accuracy-against-sparsity figure (structured: 1 − FLOPs fraction)."""
    return {method: [{"x": (1 - p["run"]["flops_fraction"]) if p["run"]["kind"] == "structured"
                      else p["run"]["achieved_sparsity"], "accuracy": p["accuracy"],
                      "ci": accuracy_interval(p["accuracy"], p["sentences"])} for p in points]
            for method, points in sweep.items()}


def latency_points(m: dict, batch: int) -> list[dict]:
    """Every timed artifact with its dev accuracy, for the accuracy-against-latency figure."""
    evaluation, artifacts = m["evaluation"], m["benchmark"]["artifacts"]
    points = []
    for name in ("baseline", "pruned", "structured"):
        accuracy = evaluation[name]["accuracy"]
        points.append({"label": f"{name} (TF SavedModel)", "model": name, "runtime": "TF SavedModel",
                       "accuracy": accuracy, **_timed(artifacts[name], accuracy, evaluation[name]["sentences"], batch)})
        for variant, record in m["deploy"]["models"].get(name, {}).items():
            accuracy = record["dev"]["accuracy"]
            points.append({"label": f"{name} (LiteRT {variant})", "model": name, "runtime": f"LiteRT {variant}",
                           "accuracy": accuracy, **_timed(artifacts[litert_name(name, variant)], accuracy,
                                                          evaluation[name]["sentences"], batch)})
    return points


def _timed(artifact: dict, accuracy: float, sentences: int, batch: int) -> dict:
    return {"ci": accuracy_interval(accuracy, sentences),
            "latency": {1: artifact["batch1"], batch: artifact[f"batch{batch}"]}}


def _candidates(m: dict, selection: dict) -> dict:
    """Every shippable artifact with its selection-set accuracy (the choice) and dev accuracy (the report)."""
    evaluation = m["evaluation"]
    candidates = {}
    for name in ("baseline", "pruned", "structured"):
        candidates[name] = {"label": f"the {name} TF SavedModel", "selection_accuracy": selection[name],
                            "dev_accuracy": evaluation[name]["accuracy"]}
        for variant, record in m["deploy"]["models"].get(name, {}).items():
            candidates[litert_name(name, variant)] = {
                "label": f"the {name} model as LiteRT {variant}", "selection_accuracy": record["selection"]["accuracy"],
                "dev_accuracy": record["dev"]["accuracy"]}
    return candidates


def identity_rows(m: dict) -> list[tuple[str, str]]:
    source, model, evaluation = m["data"]["source"], m["base_model"], m["evaluation"]
    return [
        ("SST-2 source", "a local GLUE folder" if source["kind"] == "local" else "the Hugging Face hub, nyu-mll/glue"),
        *[(f"source {name}", value) for name, value in source["fingerprints"].items()],
        ("checkpoint", f"{model['checkpoint']} ({model['architecture']}, {model['parameters']:,} parameters)"),
        (f"checkpoint {model['weights_file']} sha256", model["weights_sha256"]),
        *[(f"{name} SavedModel sha256", evaluation[name]["sha256"]) for name in ("baseline", "pruned", "structured")],
    ]
