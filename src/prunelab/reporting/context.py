"""The values the report gives, as a pure function of the metrics files and the validated params.

``build_context`` reads nothing and runs nothing, so it is tested on small hand-made
metrics. The facts of each run (recipe, epochs run, recovery settings, units kept)
come from the run records the stages wrote, never from params.yaml. The paragraphs'
wording is in ``templates/report.md.j2``: this module gives them numbers already
formatted (and the number rules' verdicts, such as "no measurable change", from
``tables``), lists of names, and lists of dicts for repeated parts.
"""

from __future__ import annotations

import yaml
from pydantic import ValidationError

from prunelab.errors import UserError
from prunelab.measurement.accuracy import accuracy_change, accuracy_interval
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
    number,
    plural,
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
        "quick_look": quick_look_facts(params) if params.report.quick_look else None,
        "summary": summary_rows(m, batch),
        "recommendation": chosen,
        "recommend_within_points": params.deploy.recommend_within_points,
        "seeds": seed_summary(m["seeds"], m["this_run"], params),
        "frontier": frontier_facts(m["frontier"], params, m["predictions"]["labels"]),
        "splits": split_rows(m["data"]),
        "columns": ["Baseline", "Pruned", "Structured"],
        "models": model_rows(evaluation, benchmark, selection, batch),
        "aa": aa_facts(benchmark["aa"], batch, benchmark["machine"]),
        "deployment": deployment_rows(m["deploy"], benchmark, evaluation, batch),
        "deploy_max_drop": f"{m['deploy']['max_accuracy_drop']:g}",
        "batch_size": batch,
        "contributions": contributions(benchmark["against_baseline"], batch),
        "ratios": ratio_facts(evaluation),
        "measurement": measurement_facts(benchmark, evaluation["machine"], batch),
        "throughput": throughput_facts(m["train"]["throughput"]),
        "epochs": {"baseline": m["train_epochs"], "pruned": m["prune"]["epochs"],
                   "structured": m["structured"]["epochs"]},
        "pruned_recipe": describe_pruned(m["prune"]),
        "structured_recipe": describe_structured(m["structured"]),
        "per_encoder_layer": evaluation["pruned"]["sparsity"]["per_encoder_layer"],
        "sweep": sweep_rows(m["sweep"]),
        "sweep_recovery": params.sweep.recovery,
        "figures": figures,
        "identity": identity_rows(m),
        "params_yaml": yaml.safe_dump(params.model_dump(), sort_keys=False).strip(),
    }


def quick_look_facts(params: Params) -> dict:
    """The settings a quick look shrinks, for the warning the template puts before the summary table."""
    data = params.data
    return {"train_size": data.train_size, "epochs": params.train.epochs, "selection_size": data.selection_size,
            "sparsities": [f"{s:g}" for s in params.sweep.sparsities], "rounds": params.benchmark.rounds}


def banner(provenance: dict, benchmark: dict, quick_look: bool) -> dict:
    """What a reader must know before any figure: which code, when, on what CPU, which kind of run, and
    whether the benchmark's own noise check passed."""
    host, aa = benchmark["machine"], benchmark["aa"]
    return {"run": "Quick look" if quick_look else "Full run", "commit": provenance["commit"],
            "uncommitted": provenance["uncommitted"], "rendered": provenance["rendered"], "cpu": host["cpu"],
            "cores": host["cores"], "aa_passed": aa["passed"], "aa_halfwidth": f"{aa['max_halfwidth']:.0%}"}


def contributions(against: dict, batch: int) -> dict[str, dict]:
    """The speed-ups of the artifacts whose steps the template words (the runtime, then int8, then structure),
    every one against the dense TF SavedModel; an artifact that was not built is absent."""
    steps = ("baseline_fp32_litert", "baseline_int8_litert", "structured_int8_litert", "pruned_int8_litert")
    return {name: {"batch1": speed_text(against[name]["batch1"]), "batched": speed_text(against[name][f"batch{batch}"])}
            for name in steps if name in against}


def split_rows(data: dict) -> list[dict]:
    roles = {"train": "fine-tuning and recovery", "selection": "every choice: epochs, recipes, gates, what to ship",
             "pool": "the rest of the training file: recovery's transfer rows, learnt from the baseline's "
                     "predictions alone",
             "dev": "the reported test set; nothing is chosen on it"}

    def share(value):
        return "–" if value is None else f"{value:.1%}"

    return [{"split": split, "rows": data[split]["rows"], "role": role,
             "tokens": f"{data[split]['tokens_mean']:.1f}", "whole": share(data[split]["whole_sentence_fraction"]),
             "shares2": share(data[split]["shares_training_phrase_2_words"]),
             "shares3": share(data[split]["shares_training_phrase_3_words"])}
            for split, role in roles.items() if split in data]


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
        return number(value, signed=signed)
    if "speed-up" in measure:
        return f"{value:.2f}×" if signed else f"{value:.2f}"
    return f"{value:.4f}"


def aa_facts(aa: dict, batch: int, machine: dict) -> dict:
    """The A/A check's verdicts; when it failed, what else used the CPU (not the stage's warning,
    which repeats the intervals)."""
    return {"batch1": speed_text(aa["batch1"]), "batched": speed_text(aa[f"batch{batch}"]),
            "halfwidth": f"{aa['max_halfwidth']:.0%}", "passed": aa["passed"],
            "others": None if aa["passed"] else describe_others(machine, machine["cores"])}


def ratio_facts(evaluation: dict) -> dict:
    """The pruned and structured models against the baseline: FLOPs, parameters and compressed size."""
    pruned, structured = (evaluation["comparison"][n] for n in ("pruned", "structured"))
    return {"pruned_flops": number(pruned["flops_ratio"]), "pruned_gzip": number(pruned["gzip_size_ratio"]),
            "structured_flops": number(structured["flops_ratio"]),
            "structured_parameters": number(structured["parameter_ratio"])}


def measurement_facts(benchmark: dict, machine: dict, batch: int) -> dict:
    """How the benchmark ran: its stages, host, threads, rounds and inputs, the load of each stage, and the
    length sweep (None when it timed no model)."""
    settings, host, runs = benchmark["settings"], benchmark["machine"], benchmark["runs"]
    busy = [{"model": model, "cores": number(run["machine"]["other_processes_cpu_cores"]),
             "seconds": f"{run['machine']['elapsed_s']:.0f}",
             "load_before": number(run["machine"]["load_average_before"][0]),
             "load_after": number(run["machine"]["load_average_after"][0])} for model, run in runs.items()]
    return {"stages": list(runs), "cpu": host["cpu"], "cores": host["cores"], "tensorflow": machine["tensorflow"],
            "intra_op": settings["threads"]["intra_op"], "inter_op": settings["threads"]["inter_op"],
            "rounds": settings["rounds"], "passes": settings["passes"],
            "calls_per_round": settings["inputs"]["batch1"]["calls_per_round"], "busy": busy,
            "length_sweep": length_sweep_facts(benchmark["by_length"], settings["length_rounds"])}


def length_sweep_facts(rows: list[dict], rounds: int) -> dict | None:
    timed = list(dict.fromkeys(r["artifact"] for r in rows))
    if not timed:
        return None
    return {"models": timed, "lengths": [str(n) for n in sorted({r["length"] for r in rows})], "rounds": rounds}


def throughput_facts(t: dict) -> dict:
    """The baseline's fine-tuning throughput and the matrix-product roofline it is read against."""
    return {"sentences": f"{t['sentences_per_second']:.0f}", "tokens": f"{t['padded_tokens_per_second']:.0f}",
            "padded_length": f"{t['mean_padded_length']:.1f}", "gflops": f"{t['gflops_per_second']:.0f}",
            "fraction": f"{t['fraction_of_roofline']:.0%}",
            "roofline": f"{t['matmul_roofline_gflops_per_second']:.0f}"}


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


def frontier_facts(frontier: dict | None, params: Params, labels: list[int]) -> dict | None:
    """The recovered frontier for the report: a row a point, and per method the furthest point whose
    selection-set accuracy stays within ``deploy.recommend_within_points`` of the baseline's (chosen on the
    selection set; its dev change is reported beside it). ``labels``: dev's, in the order of each point's
    predictions. None without ``make frontier``'s record."""
    if not frontier or not frontier["points"]:
        return None
    within = params.deploy.recommend_within_points
    rows, furthest = [], {}
    against = against_leaders(frontier["points"], labels)
    for p in sorted(frontier["points"], key=side_by_side):
        structured = p["kind"] == "structured"
        speed = p.get("speedups", {}).get("int8_litert_vs_dense_int8_litert", {})
        rows.append({"method": p["method"], "setting": (f"{p['flops_fraction']:.1%} of the encoder FLOPs" if structured
                                                        else f"{p['sparsity']:.0%} sparse"),
                     "change": change_text({"points": p["change_points"], "ci95_points": p["change_ci95_points"]}),
                     "accuracy": f"{p['dev_accuracy']:.4f}", "selection": f"{p['selection_accuracy']:.4f}",
                     "recovery": f"{plural(p['recovery_epochs'], 'epoch')}, {p['recovery_rows_seen']:,} rows",
                     "speed1": speed_text(speed["batch1"]) if "batch1" in speed else "–",
                     "speed_batched": (speed_text(speed[f"batch{params.benchmark.batch_size}"])
                                       if f"batch{params.benchmark.batch_size}" in speed else "–"),
                     # a grid split across machines times its points on different CPUs: each row names its own
                     "timed_on": p.get("timed_on", "–"), "against_leader": against[p["name"]]})
        gap = 100 * (p["baseline_selection_accuracy"] - p["selection_accuracy"])
        if gap <= within and p["sparsity"] >= furthest.get(p["method"], {"sparsity": -1})["sparsity"]:
            furthest[p["method"]] = p
    return {"rows": rows, "commits": [commit[:10] for commit in frontier["commits"]], "within": f"{within:g}",
            "timed": any("timed_on" in p for p in frontier["points"]),
            "furthest": [{"method": method, "setting": (f"{p['flops_fraction']:.1%} of the FLOPs"
                                                        if p["kind"] == "structured" else f"{p['sparsity']:.0%}"),
                          "change": number(p["change_points"], signed=True)} for method, p in furthest.items()],
            # every point of these lost more than the bound: said, not left out
            "beyond": [m for m in dict.fromkeys(p["method"] for p in frontier["points"]) if m not in furthest]}


def against_leaders(points: list[dict], labels: list[int]) -> dict[str, str]:
    """Each point's dev change against the leader of the points run to the same target on the same recovery
    budget, paired over the same sentences: which method wins there, and by more than its uncertainty or not.

    The leader is the point with the highest selection-set accuracy, so nothing is chosen on dev. A pair is
    "–" where either point was gathered without its predictions (records of before they were kept)."""
    groups: dict[tuple, list[dict]] = {}
    for p in points:  # a point's name ends in its target, the same for width and depth at one FLOPs target
        groups.setdefault((p["kind"], p["name"].rsplit("-", 1)[-1], p["recovery_epochs"], p["recovery_rows_seen"]),
                          []).append(p)
    for p in points:
        if len(p.get("dev_predictions", labels)) != len(labels):
            raise UserError(f"metrics/frontier.json: {p['name']} holds {len(p['dev_predictions'])} dev predictions, "
                             f"this run's dev set {len(labels)} sentences: gather the frontier again from this data")
    texts = {}
    for group in groups.values():
        leader = max(group, key=lambda p: p["selection_accuracy"])
        led = [int(c) for c in leader.get("dev_predictions", "")]
        for p in group:
            if p is leader:
                texts[p["name"]] = "leader (highest selection accuracy)" if len(group) > 1 else "–"
            elif led and "dev_predictions" in p:
                texts[p["name"]] = change_text(accuracy_change(labels, led, [int(c) for c in p["dev_predictions"]]))
            else:
                texts[p["name"]] = "–"
    return texts


def side_by_side(point: dict) -> tuple:
    """The frontier table's order: the methods at one sparsity (one fraction of the FLOPs) in adjacent rows,
    unstructured points before structured ones, so a reader compares them at an equal recovery budget."""
    return point["kind"] == "structured", round(point["sparsity"], 2), point["method"]


def frontier_curves(frontier: dict | None) -> dict[str, list[dict]]:
    """Each method's recovered points for the frontier figure: sparsity (structured: 1 − FLOPs kept) and change."""
    curves: dict[str, list[dict]] = {}
    for p in (frontier or {}).get("points", []):
        curves.setdefault(p["method"], []).append({"x": p["sparsity"], "change": p["change_points"],
                                                   "ci": p["change_ci95_points"]})
    return {method: sorted(points, key=lambda q: q["x"]) for method, points in curves.items()}


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
