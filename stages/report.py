"""Render reports/report.html and reports/report.md from the metrics files alone."""

from pathlib import Path

from prunelab import stage
from prunelab.files import read_csv, read_json, write_csv
from prunelab.frontier import read_record as read_frontier
from prunelab.measurement.accuracy import accuracy_interval
from prunelab.measurement.benchmark.results import combine
from prunelab.reporting import figures as draw
from prunelab.reporting.context import build_context, frontier_curves, latency_points, sweep_curves
from prunelab.reporting.provenance import provenance
from prunelab.reporting.render import render
from prunelab.seeds import measure_files, measures, read_record

OUT = Path("reports")
JSON = ("data", "base_model", "train", "prune", "structured")
MODELS = ("baseline", "pruned", "structured")
CSV = ("train_steps", "train_epochs", "prune_steps")


def main(params):
    m = {name: read_json(f"metrics/{name}.json") for name in JSON} | {name: read_csv(f"metrics/{name}.csv")
                                                                      for name in CSV}
    m["sweep"] = {method: read_json(f"metrics/sweep/{method}.json") for method in [*params.sweep.methods, "structured"]}
    m["deploy"] = {"max_accuracy_drop": params.deploy.max_accuracy_drop,
                   "models": {name: read_json(f"metrics/deploy/{name}.json")["variants"] for name in MODELS}}
    m["evaluation"] = evaluation({name: read_json(f"metrics/evaluation/{name}.json") for name in MODELS})
    m["sparsity_per_kernel"] = {"pruned": read_json("metrics/sparsity_per_kernel/pruned.json")}
    m["benchmark"] = combine({name: read_json(f"metrics/benchmark/{name}.json") for name in MODELS})
    m["seeds"], m["this_run"] = read_record(), measures({path: read_json(path) for path in measure_files()})
    m["frontier"] = read_frontier()
    m["predictions"] = read_json("metrics/predictions/baseline.json")
    m["provenance"] = provenance()
    folder = OUT / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    baseline = m["evaluation"]["baseline"]
    curves = sweep_curves(m["sweep"])
    figures = {
        "training": draw.training_figure(m["train_steps"], m["train_epochs"], m["prune_steps"], folder),
        "sparsity": draw.sparsity_figure(m["sparsity_per_kernel"]["pruned"], params.prune.sparsity, folder),
        "units": draw.units_figure(m["structured"], folder),
        "sweep": draw.sweep_figure(curves, {"accuracy": baseline["accuracy"],
                                            "ci": accuracy_interval(baseline["accuracy"], baseline["sentences"])},
                                   folder),
        "latency": draw.latency_figure(latency_points(m, params.benchmark.batch_size),
                                       [1, params.benchmark.batch_size], folder),
        "length": draw.length_figure(m["benchmark"]["by_length"], folder),
        "frontier": draw.frontier_figure(frontier_curves(m["frontier"]), curves, baseline["accuracy"], folder),
    }
    figures = {name: path for name, path in figures.items() if path is not None}  # the frontier's, without one
    write_csv(OUT / "plots" / "sweep.csv", [{"method": method, "sparsity": p["x"], "accuracy": p["accuracy"]}
                                            for method, points in curves.items() for p in points])
    render(build_context(m, params, figures), OUT)
    print(f"wrote {OUT / 'report.html'} and {OUT / 'report.md'}")


def evaluation(records: dict[str, dict]) -> dict:
    """Each model's record, their comparisons with the baseline together, and the baseline stage's machine."""
    return {**records, "comparison": {name: record["comparison"] for name, record in records.items()
                                      if name != "baseline"}, "machine": records["baseline"]["machine"]}


if __name__ == "__main__":
    stage.run(main)
